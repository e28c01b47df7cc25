package main

import (
	"os"
	"runtime"

	"netprog/sys"
)

// privateFileTable gives the pinging thread a file descriptor table of its
// own (sys.UnshareFiles: unshare(CLONE_FILES)) for a flood. The Go runtime
// runs ping on about seven threads, and while they share one table each
// sendto and recvmsg takes and drops a reference to the socket's file, where
// iputils, a process of one thread, only borrows it: 1-2% of a flood on
// loopback in interleaved timings. (bench/ping.sh also times its C floor
// alone, with idle threads, and with them and a table of its own; there the
// differences are within the floor's spread from run to run.)
//
// After the copy, a descriptor opened on one side is missing on the other,
// so everything both sides use must be open first:
//   - ping's own: the socket, the eventfd that says SIGINT came, stdout and
//     stderr, all open before the run;
//   - the runtime's poller, an epoll descriptor and an eventfd that every
//     thread uses (epoll_wait to wait for timers and descriptors, a write
//     to the eventfd to wake the thread waiting). The runtime opens them
//     the first time something needs them, on whichever thread: after the
//     copy, that would leave them in one table only, and a thread of the
//     other side fails on them ("netpoll failed"). pollerStarted makes sure
//     they are open before.
//
// The rule from then on: a descriptor opened on this thread exists only in
// its table, so only this goroutine may use it, and it must close it itself
// (no os.File left to a finalizer, no other goroutine reading it: those run
// on threads of the shared table, where the number is missing or names
// another file). A flood opens nothing: it prints no names, and its output
// and signals go through descriptors open before the copy.
//
// The thread keeps its lock: main.go's init holds it already, and a second
// lock keeps it if ping ever runs elsewhere (the runtime then ends the
// thread with its goroutine). New threads still join the shared table: the
// runtime starts them from its template thread, not from a locked one.
// When the poller's descriptors cannot be seen, or unshare fails (a seccomp
// filter forbids it), the table stays shared: that costs only the time.
func privateFileTable() {
	if !pollerStarted() {
		return
	}
	runtime.LockOSThread()
	sys.UnshareFiles()
}

// pollerStarted starts the runtime's poller, if nothing has yet, and
// reports whether its epoll descriptor is open. The first os.File the
// runtime can poll starts it, and a pipe's ends are such files (os.Pipe:
// pipe2, epoll_create1, eventfd2 under strace -f the first time). Then it
// looks for the descriptor itself in /proc/thread-self/fd rather than trust
// that: a runtime that did it otherwise would skip the copy, not crash.
func pollerStarted() bool {
	r, w, err := os.Pipe()
	if err != nil {
		return false
	}
	r.Close()
	w.Close()
	const dir = "/proc/thread-self/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(dir + fd.Name()); err == nil && target == "anon_inode:[eventpoll]" {
			return true
		}
	}
	return false
}
