package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const fileTableChildEnv = "NETPROG_TEST_FILETABLE_CHILD"

// TestPrivateFileTablePoller: after privateFileTable, the runtime's poller
// works on both sides of the copy. The child (this test binary again,
// entered from TestMain before anything there started the poller, as in
// netprog ping, where nothing has at that point) takes a private table on
// its main thread, then sleeps and waits for a read deadline on that thread
// and on another at once: each arms a timer and waits in the poller. With
// the poller started after the copy, its descriptors are in one table only
// and a thread of the other side fails on them: the runtime dies with
// "netpoll failed" or "netpollBreak write failed", or the pipe is not
// pollable and has no deadline.
func TestPrivateFileTablePoller(t *testing.T) {
	t.Parallel()
	for run := 0; run < 3; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fileTableChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "private table, poller works on both sides" {
			t.Fatalf("child: %v\n%s", err, out)
		}
	}
}

// fileTableChild is the child's whole run; it returns its exit status.
func fileTableChild() int {
	before := threadFD(0) // a descriptor only this thread will have
	privateFileTable()
	f, err := os.Open("/dev/null")
	if err != nil {
		fmt.Println(err)
		return 2
	}
	defer f.Close()
	other := make(chan error, 1)
	go func() { // never on the main thread, which init locked
		if threadFD(f.Fd()) {
			other <- errors.New("a descriptor opened after privateFileTable is in the other threads' table: no private table")
			return
		}
		other <- waitInPoller()
	}()
	errs := []error{waitInPoller(), <-other}
	if !before {
		errs = append(errs, errors.New("no /proc/thread-self/fd/0"))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("private table, poller works on both sides")
	return 0
}

// waitInPoller sleeps, then waits for a read deadline on a fresh pipe: both
// arm timers, and the read parks in the runtime's poller.
func waitInPoller() error {
	time.Sleep(time.Millisecond)
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	defer w.Close()
	if err := r.SetReadDeadline(time.Now().Add(5 * time.Millisecond)); err != nil {
		return fmt.Errorf("pipe deadline: %w", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("read with a deadline: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	return nil
}

// threadFD reports whether the calling thread's table has descriptor fd.
func threadFD(fd uintptr) bool {
	_, err := os.Readlink(fmt.Sprintf("/proc/thread-self/fd/%d", fd))
	return err == nil
}
