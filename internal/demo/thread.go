package demo

// thread-demo: the course's thread.py with kernel threads, and fork-demo's
// counterpart.
//
// Look at the thread ids: gettid(2) gives each thread its own, and the
// first thread's id is the process id. Look at the list of threads, read
// from /proc/PID/task/*/comm, which is what ps -L -p PID and top -H show:
// besides MainThread and Childthread there are the Go runtime's own threads
// (named after the program), since a Go program is always multithreaded.
// The names are set with prctl(PR_SET_NAME), at most 15 bytes; naming the
// first thread renames the process in ps. Join: the main thread waits
// until the new thread has ended and its /proc/PID/task/TID entry is gone.
//
// And the counter: the new thread increments a global variable, and the
// main thread sees 1 after the join. Threads share one address space. In
// fork-demo the child increments the same kind of variable, and the parent
// still sees 0: fork copies memory, clone(CLONE_VM) shares it.
//
// Go has goroutines, not threads; runtime.LockOSThread wires a goroutine to
// the thread it runs on, and a goroutine that ends still locked takes its
// thread with it, so the demo's new thread is created for it (clone with
// CLONE_THREAD under strace -f) and ends with it.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"netprog/sys"
)

// threadDemoCounter is incremented by the new thread and read by the main
// thread after the join (the join orders the two).
var threadDemoCounter int

// ThreadOptions are thread-demo's settings.
type ThreadOptions struct {
	Sleep time.Duration // how long both threads sleep before saying hello together
}

// Thread runs thread-demo, writing to w from both threads (w must take
// concurrent writes, as an *os.File does). It names the thread it runs on
// MainThread, and leaves the name on it.
func Thread(w io.Writer, o ThreadOptions) error {
	sleep := o.Sleep
	runtime.LockOSThread() // the main goroutine keeps its thread throughout
	defer runtime.UnlockOSThread()
	pid := sys.Getpid()
	if err := sys.SetThreadName("MainThread"); err != nil {
		return err
	}
	mainName, _ := sys.ThreadName()
	fmt.Fprintf(w, "Before starting a new thread my name is: %s (process %d, thread %d)\n", mainName, pid, sys.Gettid())

	before := threadDemoCounter
	started := make(chan int)  // the new thread's id, once it said hello
	joined := make(chan error) // closed by the new thread's goroutine as it ends
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		err := sys.SetThreadName("Childthread")
		name, _ := sys.ThreadName()
		tid := sys.Gettid()
		fmt.Fprintf(w, "Hello from new thread: My name is %s: (thread %d)\n", name, tid)
		started <- tid
		sys.Sleep(sleep) // clock_nanosleep, on this thread
		threadDemoCounter++
		fmt.Fprintln(w, "Hello from both of us:")
		joined <- err
	}()
	child := <-started
	fmt.Fprintf(w, "Hello from main thread: My name is %s: (thread %d)\n", mainName, sys.Gettid())
	if err := printThreads(w, pid); err != nil {
		return err
	}
	if err := sys.Sleep(sleep); err != nil {
		return err
	}
	fmt.Fprintln(w, "Hello from both of us:")

	if err := <-joined; err != nil {
		return err
	}
	if child == pid {
		// Go never ends the process's first thread (that would end the
		// process); it parks it instead.
		fmt.Fprintf(w, "Joined Childthread (thread %d): it ran on the process's first thread, which Go keeps\n", child)
	} else if err := awaitThreadEnd(pid, child, 30*time.Second); err != nil {
		return err
	} else {
		fmt.Fprintf(w, "Joined Childthread: thread %d has ended (/proc/%d/task/%d is gone)\n", child, pid, child)
	}
	fmt.Fprintf(w, "Counter: %d before, %d after the new thread incremented it: threads share one address space (in fork-demo the parent still sees 0)\n",
		before, threadDemoCounter)
	return nil
}

// printThreads lists the process's threads, as ps -L does, from
// /proc/PID/task/*/comm.
func printThreads(w io.Writer, pid int) error {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil {
		return err
	}
	type thread struct {
		tid  int
		name string
	}
	var threads []thread
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue // ended meanwhile
		}
		tid, _ := strconv.Atoi(filepath.Base(d))
		threads = append(threads, thread{tid, strings.TrimSpace(string(comm))})
	}
	sort.Slice(threads, func(i, j int) bool { return threads[i].tid < threads[j].tid })
	fmt.Fprintf(w, "Threads of process %d (/proc/%d/task/*/comm, as ps -L -p %d shows them):\n", pid, pid, pid)
	for _, th := range threads {
		note := ""
		if th.name != "MainThread" && th.name != "Childthread" {
			note = "  (a Go runtime thread)"
		}
		fmt.Fprintf(w, "  %7d  %s%s\n", th.tid, th.name, note)
	}
	return nil
}

// awaitThreadEnd waits until /proc/PID/task/TID is gone: the kernel has
// ended the thread (the goroutine's end comes a moment before).
func awaitThreadEnd(pid, tid int, d time.Duration) error {
	path := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thread %d still exists %v after its goroutine ended", tid, d)
		}
		sys.Poll(nil, time.Millisecond) // a wait, not one of the lesson's sleeps
	}
}
