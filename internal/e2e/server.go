package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Wait is how long the harness waits for what must happen promptly (a
// server to listen, to stop, a line to appear) before it fails the test:
// long, for a loaded machine; a test that passes never waits it out.
const Wait = 10 * time.Second

// LockedBuffer collects a process's output while the test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server is a netprog server process started by a test.
type Server struct {
	Cmd    *exec.Cmd
	Addr   string        // from its "listening on ADDR" line
	Out    *LockedBuffer // everything it printed on stdout after that line
	Err    *LockedBuffer
	Stdin  io.WriteCloser
	done   chan struct{}
	status error
	// SignalPid, if set, names the process Stop signals instead of Cmd's
	// own: under strace, the tracee (strace -o blocks fatal signals).
	SignalPid func() int
}

// Start runs `netprog args...`, waits for its "listening on" line and
// stops it (SIGINT) when the test ends. The server's stdin is a pipe kept
// open (the select server stops on end of file).
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return StartCmd(t, exec.Command(Bin(), args...))
}

// StartCmd is Start for a command of the test's making.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Server {
	t.Helper()
	s := &Server{Cmd: cmd, Out: &LockedBuffer{}, Err: &LockedBuffer{}, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.Stdin, err = cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.Err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		found := false
		for {
			line, err := r.ReadString('\n')
			if !found {
				if a, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on "); ok {
					found = true
					addrc <- a
					line = ""
				}
			}
			s.Out.Write([]byte(line))
			if err != nil {
				break
			}
		}
		s.status = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.Stop(t) })
	select {
	case s.Addr = <-addrc:
	case <-s.done:
		t.Fatalf("%v exited before listening: %v\nstdout: %s\nstderr: %s", cmd.Args, s.status, s.Out, s.Err)
	case <-time.After(Wait):
		t.Fatalf("%v did not print 'listening on' in %v; stderr: %s", cmd.Args, Wait, s.Err)
	}
	return s
}

// Pid is the server process's pid.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Done is closed once the process has exited and its output is read.
func (s *Server) Done() <-chan struct{} { return s.done }

// Status is the process's exit error, once Done is closed.
func (s *Server) Status() error { return s.status }

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGINT and waits for the process; it returns its exit error.
func (s *Server) Stop(t testing.TB) error {
	t.Helper()
	if s.Exited() {
		return s.status
	}
	if s.SignalPid != nil {
		if pid := s.SignalPid(); pid > 0 {
			syscall.Kill(pid, syscall.SIGINT)
		}
	} else {
		s.Cmd.Process.Signal(syscall.SIGINT)
	}
	select {
	case <-s.done:
	case <-time.After(Wait):
		s.Cmd.Process.Kill()
		<-s.done
		t.Errorf("%v did not stop within %v of SIGINT", s.Cmd.Args, Wait)
	}
	s.Stdin.Close()
	return s.status
}

// WaitStopped waits (up to 20 s) for the server to exit after a signal
// and returns its exit status.
func (s *Server) WaitStopped(t testing.TB) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(2 * Wait):
		t.Fatalf("%v did not exit within %v", s.Cmd.Args, 2*Wait)
	}
	if ee, ok := s.status.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	if s.status != nil {
		t.Fatalf("waiting for the server: %v", s.status)
	}
	return 0
}

// WaitOutput waits until the server's output contains want.
func (s *Server) WaitOutput(t testing.TB, want string) {
	t.Helper()
	Until(t, Wait, func() bool { return strings.Contains(s.Out.String(), want) },
		func() string { return "server output lacks " + Quote(want) + ":\n" + s.Out.String() })
}

// Run runs a command to completion with stdin, within 30s, and returns
// its stdout, stderr and exit status; it fails the test if the command
// cannot be run or does not finish in time.
func Run(t testing.TB, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*Wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", name, args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish in %v; stdout: %s", name, args, 3*Wait, out.String())
	}
	return out.String(), errb.String(), code
}

// Netprog is Run for the binary under test.
func Netprog(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return Run(t, stdin, Bin(), args...)
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
