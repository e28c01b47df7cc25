package main

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/forkcheck"
)

// The passfd server as a real process: its workers' code checked from the
// machine code, and what becomes of them when the parent dies.

// TestPassfdChildCodeStaysOutOfTheRuntime: the code a passfd worker runs
// (its loop, the raw recvmsg that takes the descriptor, the fork model's
// conversation) reaches no stack check, allocation, write barrier or race
// hook, in the binary the tests run and in a -race build of it; see
// internal/forkcheck.
func TestPassfdChildCodeStaysOutOfTheRuntime(t *testing.T) {
	t.Parallel()
	bins := []string{netprogBin}
	if testing.Short() {
		t.Log("-short: not building the -race variant")
	} else {
		race := raceBinary(t)
		bins = append(bins, race)
	}
	roots, err := forkcheck.Roots(".") // the functions marked //netprog:forkchild
	if err != nil {
		t.Fatal(err)
	}
	roots = slices.DeleteFunc(roots, func(r string) bool { return !strings.Contains(r, "passfd") })
	for _, bin := range bins {
		res, err := forkcheck.Check(bin, forkcheck.Pattern(roots), nil)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(bin), err)
		}
		for _, want := range []string{"netprog/sys.ChildRecvFD", "netprog/sys.ChildCloseAllBut",
			"netprog/servers.serveChild", "netprog/sys.ChildSend", "syscall.RawSyscall"} {
			if !slices.Contains(res.Functions, want) {
				t.Errorf("%s: the walk did not reach %s; it saw %v", filepath.Base(bin), want, res.Functions)
			}
		}
	}
}

// TestPassfdWorkersEndWithTheParent: a passfd server killed with SIGKILL
// (no chance to end its workers) leaves no worker running: each reads end
// of file on its channel, which only the parent held open, and exits. The
// test process makes itself a subreaper, so the orphans come to it and it
// can reap them.
func TestPassfdWorkersEndWithTheParent(t *testing.T) {
	t.Parallel()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	s := startServer(t, "echo-server", "-model", "passfd", "-workers", "3", "-host", "127.0.0.1", "-port", "0", "-q")
	if err := converse(s.Addr, "You Send:", 1); err != nil {
		t.Fatal(err)
	}
	workers := waitChildren(t, s.Cmd.Process.Pid, 3)
	s.Cmd.Process.Signal(syscall.SIGKILL)
	<-s.Done()
	for pid := range workers {
		deadline := time.Now().Add(10 * time.Second)
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			if got == pid {
				// Exit 0: end of file (or ECONNRESET) in recvmsg; EPIPE:
				// the parent died while this worker wrote its free byte.
				if !ws.Exited() || (ws.ExitStatus() != 0 && ws.ExitStatus() != int(unix.EPIPE)) {
					t.Errorf("worker %d ended with status %#x, want exit 0 (end of file on its channel) or EPIPE", pid, ws)
				}
				break
			}
			if err != nil || time.Now().After(deadline) {
				_, state, serr := procStatus(pid)
				t.Errorf("worker %d not ended 10s after its parent died (wait4: %v; state %c %v)", pid, err, state, serr)
				unix.Kill(pid, unix.SIGKILL)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if strings.Contains(s.Out.String(), "Stopping:") {
		t.Errorf("the killed server printed a stop:\n%s", s.Out)
	}
}
