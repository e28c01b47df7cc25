package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The strace proofs of the fork and prefork lessons, on the server's own TCP
// sockets (strace -f -yy names them): real forks (clone or clone3 with
// SIGCHLD, no CLONE_THREAD), the child's close of the listening socket, the
// parent's whole history on its main thread (the process id), reaping with
// wait4(PID) once the child's pidfd is readable, and no epoll anywhere near
// a TCP socket (the Go runtime's own epoll, for timers, is expected and
// ignored).

// stopTraced stops the traced netprog with SIGINT and waits for strace to
// finish writing its log. (strace itself ignores SIGINT while it runs a
// command, so the signal goes to its tracee.)
func stopTraced(t *testing.T, s *straced) {
	t.Helper()
	kids := childStates(s.Cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("strace has children %s, want one netprog", kidsString(kids))
	}
	for pid := range kids {
		syscall.Kill(pid, syscall.SIGINT)
	}
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("traced server did not stop within 20s")
	}
}

// forkClones returns the pids that clone calls with SIGCHLD and without
// CLONE_THREAD created: real forks.
func forkClones(calls []straceCall) map[string]bool {
	pids := map[string]bool{}
	for _, c := range calls {
		if isForkClone(c) {
			pids[c.Ret] = true
		}
	}
	return pids
}

func isForkClone(c straceCall) bool {
	return (c.Name == "clone" || c.Name == "clone3") && strings.Contains(c.Args, "SIGCHLD") &&
		!strings.Contains(c.Args, "CLONE_THREAD") && c.Ret != "" && c.Ret[0] >= '1' && c.Ret[0] <= '9'
}

// pidOf renders a call's pid as clone's result does.
func pidOf(c straceCall) string { return strconv.Itoa(c.Pid) }

// isListening reports whether a -yy annotation names a listening TCP
// socket (no peer: [127.0.0.1:50007], not [...->...]).
func isListening(arg string) bool { return touchesTCP(arg) && !strings.Contains(arg, "->") }

// noEpollOnTCP fails the test if any epoll_ctl added a TCP socket.
func noEpollOnTCP(t *testing.T, calls []straceCall) {
	t.Helper()
	for _, c := range calls {
		if c.Name == "epoll_ctl" && strings.Contains(c.Args, "EPOLL_CTL_ADD") && touchesTCP(c.Args) {
			t.Errorf("epoll_ctl added a TCP socket: %s", c.Line)
		}
	}
}

// TestStraceFork: per client, accept4 then a clone with SIGCHLD and no
// CLONE_THREAD that returns the child's pidfd (clone3's CLONE_PIDFD; or
// pidfd_open of the child after a clone), the parent's close of the client
// socket, all on the parent's main thread; in each child the close of the
// listening socket, the conversation on the client socket and exit_group;
// wait4 of each child's pid, by the main thread, collecting it.
func TestStraceFork(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q")
	const clients = 3
	for i := range clients {
		if err := converse(s.Addr, "you send:", i); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.Out.String(), "Reaped child process:") < clients && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stopTraced(t, s)
	calls := s.Calls(t)

	children := forkClones(calls)
	if len(children) != clients {
		t.Fatalf("%d forks (clone with SIGCHLD, no CLONE_THREAD), want %d", len(children), clients)
	}
	accepted := func(c straceCall) bool { return c.Name == "accept4" && touchesTCP(c.Ret) }
	parentClose := func(c straceCall) bool {
		return c.Name == "close" && !children[pidOf(c)] && touchesTCP(c.Args) && strings.Contains(c.Args, "->")
	}
	var order []func(straceCall) bool
	for range clients {
		order = append(order, accepted, isForkClone, parentClose)
	}
	if i := inOrder(calls, order...); i >= 0 {
		t.Errorf("parent's accept4 -> clone(SIGCHLD) -> close(client) sequence breaks at step %d", i)
	}
	for child := range children {
		var mine []straceCall
		for _, c := range calls {
			if pidOf(c) == child {
				mine = append(mine, c)
			}
		}
		closeListener := func(c straceCall) bool { return c.Name == "close" && isListening(c.Args) }
		if i := inOrder(mine, closeListener, onTCP("read"), onTCP("sendto"), onTCP("close")); i >= 0 {
			t.Errorf("child %s: close(listening) -> read -> sendto -> close(client) breaks at step %d", child, i)
		}
		exited := false
		for _, c := range mine {
			if c.Name == "exit_group" {
				exited = true
			}
			if c.Name == "clone" || c.Name == "clone3" || c.Name == "accept4" {
				t.Errorf("child %s made a %s: %s", child, c.Name, c.Line)
			}
		}
		if !exited {
			t.Errorf("child %s never called exit_group", child)
		}
	}
	parent := calls[0].Pid
	reaped, watched := 0, 0
	for _, c := range calls {
		switch {
		case c.Name == "wait4" && children[c.Ret] && strings.HasPrefix(c.Args, c.Ret+","):
			reaped++
		case c.Name == "pidfd_open" && children[strings.Split(c.Args, ",")[0]],
			isForkClone(c) && children[c.Ret] && strings.Contains(c.Args, "pidfd=["):
			watched++
		default:
			continue
		}
		if c.Pid != parent {
			t.Errorf("%s by thread %d, not the parent's main thread %d: %s", c.Name, c.Pid, parent, c.Line)
		}
	}
	for _, c := range calls {
		if (c.Name == "accept4" && touchesTCP(c.Ret) || isForkClone(c)) && c.Pid != parent {
			t.Errorf("%s by thread %d, not the parent's main thread %d: %s", c.Name, c.Pid, parent, c.Line)
		}
	}
	if reaped != clients || watched != clients {
		t.Errorf("wait4(PID) reaped %d children, %d got a pidfd (clone3 or pidfd_open); want %d each", reaped, watched, clients)
	}
	noEpollOnTCP(t, calls)
}

// TestStracePrefork: the workers are real forks made before any client;
// each closes what it inherited (close_range) and accepts on the shared
// listening socket itself: every accept4 that returns a connection is a
// worker's, none is the parent's.
func TestStracePrefork(t *testing.T) {
	t.Parallel()
	const workers = 2
	s := startStraced(t, "echo-server", "-model", "prefork", "-workers", "2", "-host", "127.0.0.1", "-port", "0", "-q")
	// Let both workers start (under strace that takes a while) before the
	// clients come and the stop ends them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready := map[int]bool{}
		for _, c := range s.Calls(t) {
			if c.Name == "close_range" && strings.Contains(c.Args, "4294967295") {
				ready[c.Pid] = true
			}
		}
		if len(ready) == workers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d workers started within 10s", len(ready), workers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 3 {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	stopTraced(t, s)
	calls := s.Calls(t)
	children := forkClones(calls)
	if len(children) != workers {
		t.Fatalf("%d forks, want %d workers", len(children), workers)
	}
	accepts := 0
	for _, c := range calls {
		if c.Name == "accept4" && touchesTCP(c.Ret) {
			accepts++
			if !children[pidOf(c)] {
				t.Errorf("accept4 by %d, not a worker: %s", c.Pid, c.Line)
			}
			if !isListening(firstArg(c)) {
				t.Errorf("accept4 not on the listening socket: %s", c.Line)
			}
		}
	}
	if accepts != 3 {
		t.Errorf("%d connections accepted, want 3", accepts)
	}
	for child := range children {
		closed := false
		for _, c := range calls {
			if pidOf(c) == child && c.Name == "close_range" {
				closed = true
			}
		}
		if !closed {
			t.Errorf("worker %s never called close_range", child)
		}
	}
	noEpollOnTCP(t, calls)
}
