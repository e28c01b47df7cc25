package demo

// zombie-demo: the course's zombie.py with a real fork(2) (sys.Fork).
//
// A child that has ended keeps its process-table entry (its pid, exit
// status and CPU times) until its parent waits for it: it is a zombie,
// state Z, <defunct> in ps. The demo's child exits at once; the parent does
// not wait, reads the child's state from /proc/PID/stat, and sleeps so that
// you can look at it with ps. With Reap it then calls wait4(2) and the
// entry is gone. Without it the parent exits with its zombie unreaped: the
// kernel re-parents the orphan to the nearest ancestor that declared itself
// a subreaper (prctl(PR_SET_CHILD_SUBREAPER): systemd user managers,
// container inits, tini) or else to init, pid 1, and that process reaps it.
// A server that never reaps fills the process table until fork fails with
// EAGAIN.

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"netprog/sys"
)

// ZombieOptions are zombie-demo's settings.
type ZombieOptions struct {
	Sleep time.Duration // how long the parent sleeps without reaping
	Reap  bool          // after the sleep, reap the child and show /proc/PID is gone
}

// zombieChild is the child of zombie-demo: it ends at once.
//
//go:nosplit
//go:norace
//netprog:forkchild
func zombieChild() int { return 0 }

// Zombie runs zombie-demo, writing to w. The end of ctx (Ctrl-C) ends the
// sleep early. The sleep is on the process's first thread, whose id is the
// process id: the caller must be the main goroutine, locked to it (as
// cmd/netprog's is), which is why the demo is a process of its own.
func Zombie(ctx context.Context, w io.Writer, o ZombieOptions) error {
	parent := sys.Getpid()
	fmt.Fprintf(w, "Before the fork my PID is: %d\n", parent)
	child, err := sys.Fork(zombieChild)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Hello from the parent: child pid will be %d\n", child)
	fmt.Fprintf(w, "See it with: ps -o pid,ppid,stat,cmd --ppid %d\n", parent)
	// Wait for the child's end without collecting it (WNOWAIT), so that
	// /proc shows it as it is now: a zombie.
	if err := sys.WaitEnded(child); err != nil {
		return err
	}
	state, err := procState(child)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Child %d state in /proc/%d/stat: %s\n", child, child, describeState(state))
	fmt.Fprintf(w, "sleeping %v...\n", o.Sleep)
	if !sleepUnlessDone(ctx, parent, o.Sleep) {
		fmt.Fprintln(w, "interrupted")
	}
	if !o.Reap {
		fmt.Fprintf(w, "Exiting without reaping: zombie %d is re-parented to the nearest subreaper or to init (pid 1), which reaps it\n", child)
		return nil
	}
	pid, ws, err := sys.Wait4(child, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Reaped child process: %d (%s)\n", pid, sys.ExitDescription(ws))
	if _, err := os.Stat("/proc/" + strconv.Itoa(child)); err == nil {
		return fmt.Errorf("/proc/%d still exists after wait4", child)
	}
	fmt.Fprintf(w, "/proc/%d is gone: wait4 collected the exit status and the kernel freed the entry\n", child)
	return nil
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
