package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// The tests here drive the built binary as a user would: arguments, scripted
// standard input, standard output and exit status.

var netprogBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "netprog-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	netprogBin = filepath.Join(dir, "netprog")
	// Built as the Makefile builds the release: CGO_ENABLED=0, so that a
	// file capability can be dropped on every thread (sys/caps.go).
	build := exec.Command("go", "build", "-o", netprogBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building netprog:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a netprog server process started by a test.
type server struct {
	cmd    *exec.Cmd
	Addr   string        // from its "listening on ADDR" line
	Out    *lockedBuffer // everything it printed on stdout after that line
	Err    *lockedBuffer
	Stdin  io.WriteCloser
	done   chan struct{}
	status error
	// signalPid, if set, names the process Stop signals instead of cmd's
	// own: under strace, the tracee (strace -o blocks fatal signals).
	signalPid func() int
}

// startServer runs `netprog args...`, waits for its "listening on" line and
// stops it (SIGINT) when the test ends. The server's stdin is a pipe kept
// open (the select server stops on end of file).
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return startServerCmd(t, exec.Command(netprogBin, args...))
}

func startServerCmd(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{cmd: cmd, Out: &lockedBuffer{}, Err: &lockedBuffer{}, done: make(chan struct{})}
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
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not print 'listening on' in 10s; stderr: %s", cmd.Args, s.Err)
	}
	return s
}

// Stop sends SIGINT and waits for the process; it returns its exit error.
func (s *server) Stop(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.status
	default:
	}
	if s.signalPid != nil {
		if pid := s.signalPid(); pid > 0 {
			syscall.Kill(pid, syscall.SIGINT)
		}
	} else {
		s.cmd.Process.Signal(syscall.SIGINT)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("%v did not stop within 10s of SIGINT", s.cmd.Args)
	}
	s.Stdin.Close()
	return s.status
}

// waitOutput waits until the server's output contains want.
func (s *server) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("server output lacks %q after 10s:\n%s", want, s.Out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serveOnce is a stand-in server on 127.0.0.1: it accepts one connection
// and hands it to handle, closing it when handle returns; the listener is
// closed when the test ends. It returns the address to give a client.
func serveOnce(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handle(c)
	}()
	return ln.Addr().String()
}

// runNetprog runs `netprog args...` to completion with stdin, within 30s,
// and returns its stdout, stderr and exit status.
func runNetprog(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runCommand(t, stdin, netprogBin, args...)
}

// runCommand runs a command to completion with stdin, within 30s, and
// returns its stdout, stderr and exit status; it fails the test if the
// command cannot be run or does not finish in time.
func runCommand(t *testing.T, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
		t.Fatalf("%s %v did not finish in 30s; stdout: %s", name, args, out.String())
	}
	return out.String(), errb.String(), code
}

// TestHelpListsCommands: `netprog help` fits 80 columns and lists every
// command once, in courseOrder, which holds every command once.
func TestHelpListsCommands(t *testing.T) {
	out, _, code := runNetprog(t, "", "help")
	if code != 0 {
		t.Fatalf("help exit %d", code)
	}
	var listed []string
	inCommands := false
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("help line %d is %d columns: %q", i+1, n, line)
		}
		switch {
		case line == "Commands:":
			inCommands = true
		case line == "":
			inCommands = false
		case inCommands && !strings.HasPrefix(line, "   "):
			listed = append(listed, strings.Fields(line)[0])
		}
	}
	if !slices.Equal(listed, courseOrder) {
		t.Errorf("help lists\n  %q\nwant courseOrder\n  %q", listed, courseOrder)
	}
	seen := map[string]int{}
	for _, n := range courseOrder {
		if seen[n]++; seen[n] > 1 {
			t.Errorf("courseOrder has %s twice", n)
		}
		if commands[n] == nil {
			t.Errorf("courseOrder has %s, which is no command", n)
		}
	}
	for n := range commands {
		if seen[n] == 0 {
			t.Errorf("%s is not in courseOrder", n)
		}
	}
}

// TestWrap: help's hanging indent.
func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text          string
		width, indent int
		want          string
	}{
		{"a b c", 80, 4, "a b c"},
		{"aaa bbb ccc", 7, 2, "aaa bbb\n  ccc"},
		{"aaa bbb ccc", 6, 2, "aaa\n  bbb\n  ccc"},
		{"a verylongword b", 4, 1, "a\n verylongword\n b"},
		{"  spaced   out  ", 80, 0, "spaced out"},
	} {
		if got := wrap(tc.text, tc.width, tc.indent); got != tc.want {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tc.text, tc.width, tc.indent, got, tc.want)
		}
	}
}
