package servers

import (
	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// The forked child's side of the fork and prefork models.
//
// Everything here runs after sys.Fork in a child that has only one thread
// and must not allocate, lock, grow its stack or store pointers (sys/fork.go
// says why): functions are //go:nosplit and //go:norace, data lives in
// global arrays, and what the child needs to know (which socket, what
// prefix, which counters) the parent writes into childArgs just before the
// fork, under the forking lock. The child reads its own copy: fork copies memory,
// so the parent can change childArgs for the next child at once.
//
// The child speaks the same protocol as converse (conn.go), through
// protocol.ChildEcho, Echo's allocation-free twin: the message rule, the
// prefix, q/Q to quit, raw echo. It ends with the errno that ended the
// conversation as its exit status (0: the client closed or quit;
// ECONNRESET, EPIPE; EAGAIN: idle for longer than SO_RCVTIMEO, or not
// reading for longer than SO_SNDTIMEO), which the parent reports when it
// reaps it.

// childCount is one child's slot in memory shared with the parent
// (sys.MapShared): the child adds, the parent reads after reaping it. Each
// child has its own slot, so plain stores suffice.
type childCount struct {
	conns uint64 // connections accepted (prefork: the child accepts)
	bytes uint64 // bytes echoed
}

// childArgs is the parent's message to the next child.
var childArgs struct {
	lfd    int                // the listening socket
	cfd    int                // fork: the client's socket (prefork: -1)
	proto  protocol.ChildEcho // what to say back
	idle   unix.Timeval       // prefork: SO_RCVTIMEO and SO_SNDTIMEO for each client (zero: none)
	counts []childCount       // shared with the parent
	slot   int                // this child's index in counts
}

var (
	childIn  [bufSize]byte
	childOut [bufSize + protocol.MaxChildPrefix]byte
)

// forkChild is the child of the fork model: close the listening socket
// (the parent still has it; only the last close frees a socket), close
// everything else it inherited but its client, serve the client, exit.
//
//go:nosplit
//go:norace
//netprog:forkchild
func forkChild() int {
	sys.ChildClose(childArgs.lfd)
	sys.ChildCloseAllBut(childArgs.cfd)
	code := serveChild(childArgs.cfd)
	sys.ChildClose(childArgs.cfd)
	return int(code)
}

// preforkChild is a worker of the prefork model (UNP's serv02): keep only
// the listening socket, then accept and serve clients one after another,
// forever. The kernel hands each connection to one of the workers blocked
// in accept on the shared socket (an exclusive wait: no thundering herd).
// Workers end by a signal from the parent; an error from accept other
// than one about a single connection ends the worker with that errno, and
// the parent forks a replacement.
//
//go:nosplit
//go:norace
//netprog:forkchild
func preforkChild() int {
	lfd := childArgs.lfd
	sys.ChildCloseAllBut(lfd)
	for {
		fd, e := sys.ChildAccept(lfd)
		if e != 0 {
			switch sys.AcceptErrnoClass(e) {
			case sys.AcceptRetry:
				continue // that connection died in the queue (accept(2)): take the next
			case sys.AcceptNoDescriptors, sys.AcceptNoMemory:
				sys.ChildSleep(&backoffSleep) // out of resources: do not spin
				continue
			default:
				return int(e) // EINVAL: the listening socket was shut down
			}
		}
		childArgs.counts[childArgs.slot].conns++
		if childArgs.idle.Sec != 0 || childArgs.idle.Usec != 0 {
			sys.ChildSetRecvTimeout(fd, &childArgs.idle)
			sys.ChildSetSendTimeout(fd, &childArgs.idle)
		}
		serveChild(fd)
		sys.ChildClose(fd)
	}
}

// backoffSleep is acceptBackoff for a child. (nanosleep writes into it only
// when a stop and continue interrupts it, leaving a shorter pause next time:
// harmless.)
var backoffSleep = unix.Timespec{Nsec: int64(acceptBackoff)}

// serveChild talks to one client until it closes, quits, goes idle or the
// connection breaks; it returns the errno that ended it (0: closed or
// quit).
//
//go:nosplit
//go:norace
func serveChild(fd int) unix.Errno {
	for {
		n, e := sys.ChildRead(fd, childIn[:])
		if e != 0 {
			return e // EAGAIN: idle past SO_RCVTIMEO; ECONNRESET
		}
		if n == 0 {
			return 0 // end of file: the client closed its side
		}
		if childArgs.proto.Raw {
			if e := sendCounted(fd, childIn[:n]); e != 0 {
				return e
			}
			continue
		}
		quit, e := respondChild(fd, n)
		if e != 0 {
			return e
		}
		if quit {
			return 0
		}
	}
}

// respondChild answers the n bytes in childIn by the message rule
// (protocol.ChildEcho.Respond): one reply per line, a read ending without a
// newline ends a message too, and q/Q quits after the replies before it are
// sent. Respond stops where childOut is full, to be sent before it goes on;
// childOut holds a prefix and all of childIn, so no reply is ever cut.
//
//go:nosplit
//go:norace
func respondChild(fd, n int) (quit bool, e unix.Errno) {
	for start := 0; ; {
		var out int
		out, start, quit = childArgs.proto.Respond(childOut[:], childIn[:n], start)
		if e = flushChild(fd, out); e != 0 || quit || start == n {
			return quit, e
		}
	}
}

// flushChild sends childOut[:n].
//
//go:nosplit
//go:norace
func flushChild(fd, n int) unix.Errno {
	if n == 0 {
		return 0
	}
	return sendCounted(fd, childOut[:n])
}

// sendCounted sends p and counts it in the shared slot. The count comes
// first and is corrected if the send fails: a child may be killed (the stop
// sends SIGTERM) right after its last send returns, when its client already
// has the bytes; counting afterwards would lose them.
//
//go:nosplit
//go:norace
func sendCounted(fd int, p []byte) unix.Errno {
	c := &childArgs.counts[childArgs.slot]
	c.bytes += uint64(len(p))
	m, e := sys.ChildSend(fd, p)
	if e != 0 {
		c.bytes -= uint64(len(p) - m)
	}
	return e
}
