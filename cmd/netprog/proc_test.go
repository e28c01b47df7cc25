package main

import (
	"testing"
	"time"

	"netprog/clients/probe"
	"netprog/internal/e2e"
)

// What the tests read of a running server in /proc: the harness's readers
// (internal/e2e, which uses clients/probe's), under the names these tests
// use.

// procStatus reads a process's parent pid and state.
func procStatus(pid int) (ppid int, state byte, err error) { return e2e.Status(pid) }

// treeCPU is the CPU time of pid's tree, the children it reaped included.
func treeCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	if probe.State(pid) == 0 {
		t.Fatalf("process %d is gone", pid)
	}
	return probe.Proc{Pid: pid}.CPU()
}

func childStates(pid int) map[int]byte    { return e2e.ChildStates(pid) }
func children(pid int) []int              { return e2e.Children(pid) }
func kidsString(kids map[int]byte) string { return e2e.KidsString(kids) }
func watchChildren(pid int) func() int    { return e2e.WatchChildren(pid) }
func openFDs(pid int) (int, error)        { return e2e.FDs(pid) }

// fdCount is openFDs of a process that must be there.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	n, err := openFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
