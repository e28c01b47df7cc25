package main

import (
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestForkServerReapsWithoutPidfd: the parent watches each child with a
// pidfd; at its descriptor limit it cannot open one, and the child is
// still reaped, by the poll timeout's wait4(PID, WNOHANG) (servers/
// children.go, reapEvery). The server's limit is lowered while it runs
// (prlimit on its pid) so that the accepted connection takes the last
// descriptor and pidfd_open fails with EMFILE, for both clients; the
// server says so once.
func TestForkServerReapsWithoutPidfd(t *testing.T) {
	t.Parallel()
	s := startServer(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q")
	pid := s.Cmd.Process.Pid
	open := map[int]bool{}
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			open[n] = true
		}
	}
	free := 0 // the lowest free descriptor: the connection's
	for open[free] {
		free++
	}
	// Room for the connection, none for the pidfd after it.
	lim := unix.Rlimit{Cur: uint64(free + 1), Max: uint64(free + 1)}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Skipf("prlimit on the server: %v", err)
	}

	for i := range 2 {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if err := converseOn(c, "you send:", i, true); err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		c.Close()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(s.Out.String(), "Reaped child process:") < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("child %d not reaped:\n%s", i, s.Out)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	out := s.Out.String()
	if !regexp.MustCompile(`Cannot watch child \d+: pidfd_open: too many open files: children without a pidfd are reaped within 100ms`).MatchString(out) {
		t.Errorf("no word of the missing pidfd:\n%s", out)
	}
	if n := strings.Count(out, "Cannot watch child"); n != 1 {
		t.Errorf("said %d times that a pidfd could not be opened, want once", n)
	}
	waitChildren(t, pid, 0) // no zombie left
}
