package demo

// fork-demo: the course's fork.py with a real fork(2) (sys.Fork).
//
// fork returns twice. Look at the two pids (the child's parent is the
// parent: ps -o pid,ppid,cmd), at the order of the two "Hello" lines (the
// scheduler decides), and at the counter: the child increments a global
// variable and prints 1, the parent prints it afterwards and it is still 0,
// because fork gave the child a copy of the parent's memory (copy on
// write), not a share of it. One more thing to notice: "Before the fork" is
// printed once. In C, printf's buffer is in memory too; with output to a
// pipe the unflushed line is copied by fork and printed twice. Go's
// os.Stdout has no buffer.

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// ForkOptions are fork-demo's settings.
type ForkOptions struct {
	Sleep time.Duration // how long both processes sleep before saying hello together
}

// The child's side of fork-demo: what it prints is assembled in a global
// array without fmt or allocation (see sys/fork.go); the parent sets
// demoSleep before the fork.
var (
	demoCounter int
	demoSleep   unix.Timespec
	demoLine    [128]byte
)

// forkDemoChild is the child of fork-demo. It writes to file descriptor 1
// itself: calling an io.Writer's Write would take it into the runtime.
//
//go:nosplit
//go:norace
//netprog:forkchild
func forkDemoChild() int {
	n := sys.ChildCopyString(demoLine[:], "Hello from the child my pid is: ")
	n += sys.ChildFormatInt(demoLine[n:], sys.ChildGetpid())
	demoLine[n] = '\n'
	sys.ChildWrite(1, demoLine[:n+1])

	demoCounter++
	n = sys.ChildCopyString(demoLine[:], "Child: counter incremented to ")
	n += sys.ChildFormatInt(demoLine[n:], demoCounter)
	n += sys.ChildCopyString(demoLine[n:], " (in the child's copy)\n")
	sys.ChildWrite(1, demoLine[:n])

	sys.ChildSleep(&demoSleep)
	n = sys.ChildCopyString(demoLine[:], "Hello from both of us:\n")
	sys.ChildWrite(1, demoLine[:n])
	return 0
}

// Fork runs fork-demo: the parent's lines go to w, the child's to file
// descriptor 1 (standard output), which is why the demo is a process of its
// own (netprog fork-demo) rather than a call a test makes.
func Fork(w io.Writer, o ForkOptions) error {
	fmt.Fprintf(w, "Before the fork my pid is: %d\n", sys.Getpid())
	demoSleep = unix.NsecToTimespec(o.Sleep.Nanoseconds())
	child, err := sys.Fork(forkDemoChild)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Hello from the parent my pid is: %d\n", sys.Getpid())
	if err := sys.Sleep(o.Sleep); err != nil { // clock_nanosleep, as the child's
		return err
	}
	fmt.Fprintln(w, "Hello from both of us:")
	_, ws, err := sys.Wait4(child, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Parent: counter is still %d: the child changed its own copy of memory, not mine\n", demoCounter)
	fmt.Fprintf(w, "Parent: reaped child %d with wait4 (%s)\n", child, sys.ExitDescription(ws))
	return nil
}
