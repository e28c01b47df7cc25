package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPoolStopIsQuiet: SIGINT or SIGTERM to a prefork or passfd parent
// ends its workers, as asked: one line, "Stopped 2 workers", not each
// worker's SIGTERM as if it had failed; a worker killed by someone else
// before is still reported, and counted as crashed or killed.
func TestPoolStopIsQuiet(t *testing.T) {
	t.Parallel()
	for _, model := range []string{"prefork", "passfd"} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(model+"/"+unix.SignalName(sig), func(t *testing.T) {
				s := startServer(t, "echo-server", "-model", model, "-workers", "2", "-host", "127.0.0.1", "-port", "0", "-q")
				pid := s.Cmd.Process.Pid
				var victim int
				for p := range waitChildren(t, pid, 2) {
					victim = p
					break
				}
				unix.Kill(victim, unix.SIGKILL)
				s.WaitOutput(t, fmt.Sprintf("Reaped child process: %d: killed by signal 9 (SIGKILL)", victim))
				waitUntilReplaced(t, pid, victim, 2)
				echoOnce(t, s.Addr, "You Send:", 0)
				s.Cmd.Process.Signal(sig)
				if code := s.WaitStopped(t); code != 0 {
					t.Fatalf("exit status %d; stderr: %s", code, s.Err)
				}
				out := s.Out.String()
				for _, want := range []string{"\nStopped 2 workers\n", "\n1 child process crashed or killed", "reaped 3 children"} {
					if !strings.Contains(out, want) {
						t.Errorf("output lacks %q:\n%s", want, out)
					}
				}
				if n := strings.Count(out, "Reaped child process:"); n != 1 || strings.Contains(out, "SIGTERM") {
					t.Errorf("the stop reports workers one by one (%d reaped lines):\n%s", n, out)
				}
			})
		}
	}
}

// waitUntilReplaced waits (up to 10 s) until pid has n children again,
// none of them gone, the one that died.
func waitUntilReplaced(t *testing.T, pid, gone, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, still := waitChildren(t, pid, n)[gone]; !still {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d not replaced in 10s", gone)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
