package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"netprog/sys"
)

// server is one echo server process under test.
type server struct {
	model string
	cmd   *exec.Cmd
	addr  sys.Addr
	stdin io.WriteCloser // kept open: the select model stops on end of file
	log   string         // its stdout and stderr (a file: a pipe would need draining, and the reader's CPU would be in the measurement)
	done  chan struct{}
	err   error
}

// extraArgs are flags a model needs to take 1000 persistent connections, or
// to be what the table says it is.
var extraArgs = map[string][]string{
	"thread":  {"-max-threads", "1100"},
	"prefork": {"-workers", fmt.Sprint(preforkWorkers)},
	"passfd":  {"-workers", fmt.Sprint(preforkWorkers)},
	// One event loop per core, as nginx runs it (the flag's default,
	// 4, is prefork's).
	"reuseport": {"-workers", fmt.Sprint(runtime.NumCPU())},
}

// preforkWorkers is the pool of the pre-forked models (prefork, passfd):
// each worker serves one client at a time, so echo cells with more
// persistent connections than this are not run (the rest would starve in
// the listen queue, as with iterative).
const preforkWorkers = 10

// concurrency is how many persistent connections a model can serve at
// once (0: no fixed limit).
func concurrency(model string) int {
	switch model {
	case "iterative":
		return 1
	case "prefork", "passfd":
		return preforkWorkers
	}
	return 0
}

// startServer starts one model (or the Go baseline, or a C reference) on
// an ephemeral loopback port and waits for its "listening on ADDR" line.
// crefArgs is a C reference's command: its binary and arguments.
func startServer(bin, model, dir string, crefArgs []string) (*server, error) {
	var cmd *exec.Cmd
	if crefArgs != nil {
		cmd = exec.Command(crefArgs[0], crefArgs[1:]...)
	} else if model == baselineName {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(self)
		cmd.Env = append(os.Environ(), baselineEnv+"=127.0.0.1:0")
	} else {
		args := []string{"echo-server", "-model", model, "-raw", "-q", "-host", "127.0.0.1", "-port", "0", "-backlog", "4096"}
		cmd = exec.Command(bin, append(args, extraArgs[model]...)...)
	}
	s := &server{model: model, cmd: cmd, log: filepath.Join(dir, model+".log"), done: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// If the harness dies, the server gets SIGTERM and stops (and ends
	// its own children) instead of lingering. In a process group of its
	// own, it does not get the terminal's Ctrl-C: the harness, interrupted,
	// abandons the run in progress and stops the servers itself (stop),
	// rather than seeing them die under a running cell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := os.ReadFile(s.log)
		if i := bytes.Index(out, []byte("listening on ")); i >= 0 {
			if j := bytes.IndexByte(out[i:], '\n'); j >= 0 {
				a := strings.TrimSpace(string(out[i+len("listening on ") : i+j]))
				if s.addr, err = sys.ResolveAddr(a, sys.AnyFamily); err != nil {
					s.stop()
					return nil, fmt.Errorf("%s: bad address %q: %v", model, a, err)
				}
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before listening (%v): %s", model, s.err, lastLines(out, 5))
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not listen within 10s: %s", model, lastLines(out, 5))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGINT (the servers stop, end their children and print a
// summary), then SIGKILL after 10s.
func (s *server) stop() error {
	if !s.alive() {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within 10s of SIGINT", s.model)
	}
	s.stdin.Close()
	return nil
}

// settle waits, after a cell, until the server is back to at most kids
// live child processes (a forking server's children exit and are reaped
// once their connections close) and has stopped using the CPU (the thread
// model's threads, a thousand at the largest load, wake to their end of
// file and exit after the clients are gone), so that the next cell, another
// model's, does not pay for this one's clean-up. It gives up after 3s.
func (s *server) settle(kids int) {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && len(descendants(s.pid())) > kids {
		time.Sleep(5 * time.Millisecond)
	}
	// Quiet: at most one clock tick (10 ms) of CPU in settleQuiet, that is
	// a fifth of a core or less.
	last := treeCPU(s.pid())
	for time.Now().Before(deadline) {
		time.Sleep(settleQuiet)
		now := treeCPU(s.pid())
		if now-last <= 10*time.Millisecond {
			return
		}
		last = now
	}
}

// settleQuiet is how long a server must stay (nearly) idle after a cell.
const settleQuiet = 50 * time.Millisecond

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
