package main

// The process demos: fork-demo and zombie-demo, the course's fork.py and
// zombie.py with a real fork(2) (sys.Fork).
//
// fork-demo: fork returns twice. Look at the two pids (the child's parent
// is the parent: ps -o pid,ppid,cmd), at the order of the two "Hello"
// lines (the scheduler decides), and at the counter: the child increments
// a global variable and prints 1, the parent prints it afterwards and it is
// still 0, because fork gave the child a copy of the parent's memory (copy
// on write), not a share of it. One more thing to notice: "Before the fork"
// is printed once. In C, printf's buffer is in memory too; with output to a
// pipe the unflushed line is copied by fork and printed twice. Go's
// os.Stdout has no buffer.
//
// zombie-demo: a child that has ended keeps its process-table entry (its
// pid, exit status and CPU times) until its parent waits for it: it is a
// zombie, state Z, <defunct> in ps. The demo's child exits at once; the
// parent does not wait, reads the child's state from /proc/PID/stat, and
// sleeps so that you can look at it with ps. With -reap it then calls
// wait4(2) and the entry is gone. Without -reap the parent exits with its
// zombie unreaped: the kernel re-parents the orphan to the nearest ancestor
// that declared itself a subreaper (prctl(PR_SET_CHILD_SUBREAPER): systemd
// user managers, container inits, tini) or else to init, pid 1, and that
// process reaps it. A server that never reaps fills the process table until
// fork fails with EAGAIN.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() {
	register(&command{
		name:    "fork-demo",
		teaches: "fork(2) returns twice: parent and child run on, each with its own pid and its own copy of memory",
		watch:   "strace -f -e trace=clone3,getpid,write,clock_nanosleep,wait4,exit_group ./netprog fork-demo -sleep 1",
		setup:   setupForkDemo,
	})
	register(&command{
		name:    "zombie-demo",
		teaches: "a child that has ended is a zombie (state Z) until its parent reaps it with wait4(2)",
		watch: "./netprog zombie-demo &   then: ps -o pid,ppid,stat,cmd --ppid $(pgrep -o -x netprog)\n" +
			"strace -f -e trace=clone3,exit_group,waitid,wait4,clock_nanosleep ./netprog zombie-demo -sleep 2 -reap",
		setup: setupZombieDemo,
	})
}

// The child's side of fork-demo: what it prints is assembled in a global
// array without fmt or allocation (see sys/fork.go); the parent sets
// demoSleep before the fork.
var (
	demoCounter int
	demoSleep   unix.Timespec
	demoLine    [128]byte
)

// forkDemoChild is the child of fork-demo.
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

func setupForkDemo(fs *flag.FlagSet) func([]string) error {
	sleep := secondsVar(fs, "sleep", 5*time.Second, "how long both processes sleep before saying hello together")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Before the fork my pid is: %d\n", sys.Getpid())
		demoSleep = unix.NsecToTimespec(sleep.Nanoseconds())
		child, err := sys.Fork(forkDemoChild)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Hello from the parent my pid is: %d\n", sys.Getpid())
		if err := sys.Sleep(*sleep); err != nil { // clock_nanosleep, as the child's
			return err
		}
		fmt.Fprintln(stdout, "Hello from both of us:")
		_, ws, err := sys.Wait4(child, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Parent: counter is still %d: the child changed its own copy of memory, not mine\n", demoCounter)
		fmt.Fprintf(stdout, "Parent: reaped child %d with wait4 (%s)\n", child, sys.ExitDescription(ws))
		return nil
	}
}

// zombieChild is the child of zombie-demo: it ends at once.
//
//go:nosplit
//go:norace
//netprog:forkchild
func zombieChild() int { return 0 }

func setupZombieDemo(fs *flag.FlagSet) func([]string) error {
	sleep := secondsVar(fs, "sleep", 50*time.Second, "how long the parent sleeps without reaping (Ctrl-C ends the sleep)")
	reap := fs.Bool("reap", false, "after the sleep, reap the child with wait4(2) and show that /proc/PID is gone.\n"+
		"Without it the parent exits with the zombie unreaped: the kernel re-parents it to the nearest\n"+
		"subreaper (prctl PR_SET_CHILD_SUBREAPER) or to init (pid 1), which reaps it")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()

		parent := sys.Getpid()
		fmt.Fprintf(stdout, "Before the fork my PID is: %d\n", parent)
		child, err := sys.Fork(zombieChild)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Hello from the parent: child pid will be %d\n", child)
		fmt.Fprintf(stdout, "See it with: ps -o pid,ppid,stat,cmd --ppid %d\n", parent)
		// Wait for the child's end without collecting it (WNOWAIT), so that
		// /proc shows it as it is now: a zombie.
		if err := sys.WaitEnded(child); err != nil {
			return err
		}
		state, err := procState(child)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Child %d state in /proc/%d/stat: %s\n", child, child, describeState(state))
		fmt.Fprintf(stdout, "sleeping %v...\n", *sleep)
		if !sleepUnlessDone(ctx, parent, *sleep) {
			fmt.Fprintln(stdout, "interrupted")
		}
		if !*reap {
			fmt.Fprintf(stdout, "Exiting without reaping: zombie %d is re-parented to the nearest subreaper or to init (pid 1), which reaps it\n", child)
			return nil
		}
		pid, ws, err := sys.Wait4(child, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Reaped child process: %d (%s)\n", pid, sys.ExitDescription(ws))
		if _, err := os.Stat("/proc/" + strconv.Itoa(child)); err == nil {
			return fmt.Errorf("/proc/%d still exists after wait4", child)
		}
		fmt.Fprintf(stdout, "/proc/%d is gone: wait4 collected the exit status and the kernel freed the entry\n", child)
		return nil
	}
}

// sleepUnlessDone sleeps for d with clock_nanosleep(2) on the main thread
// (tid, the process id), unless ctx ends first: it reports whether the
// whole sleep passed. A Ctrl-C may be taken by any thread of the process,
// and the context ends a moment later on yet another, so the main thread's
// sleep is not reliably interrupted by the signal itself: when ctx ends, a
// goroutine sends the main thread SIGURG (tgkill), which the Go runtime
// takes for a preemption request and otherwise ignores, and whose handler
// ends the sleep with EINTR. It repeats it until the sleeper has seen the
// end, in case the first one came just before the sleep began.
func sleepUnlessDone(ctx context.Context, tid int, d time.Duration) bool {
	woke := make(chan struct{})
	defer close(woke)
	go func() {
		select {
		case <-ctx.Done():
		case <-woke:
			return
		}
		for {
			unix.Tgkill(tid, tid, unix.SIGURG)
			select {
			case <-woke:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	for d > 0 && ctx.Err() == nil {
		var err error
		if d, err = sys.Nanosleep(d); err != nil {
			return false
		}
	}
	return d <= 0
}

// procState reads a process's state letter from /proc/PID/stat: the field
// after the command name, which is in parentheses and may itself contain
// spaces and parentheses, hence the search from the last ')'.
func procState(pid int) (byte, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return s[i+2], nil
}

// describeState names a state letter as proc(5) does.
func describeState(c byte) string {
	names := map[byte]string{'R': "running", 'S': "sleeping", 'D': "disk sleep", 'Z': "zombie",
		'T': "stopped", 't': "tracing stop", 'X': "dead", 'I': "idle"}
	if n, ok := names[c]; ok {
		return string(c) + " (" + n + ")"
	}
	return string(c)
}
