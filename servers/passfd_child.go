package servers

import (
	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The forked child of the passfd model. It follows the rules of
// forkchild.go (sys/fork.go says why): nosplit, norace, raw system calls,
// global buffers only. It serves clients with the fork model's own loop
// (serveChild), on descriptors that arrive over its channel.

// passfdArgs is the parent's message to the next passfd worker, written
// under the forking lock just before the fork, like childArgs.
var passfdArgs struct {
	channel int // the child's end of its socketpair with the parent
}

// freeByte is what a worker writes on its channel when it has finished
// with a client: "send me the next one".
var freeByte = [1]byte{'.'}

// passfdChild is a worker of UNP's serv05: keep only the channel to the
// parent, then forever: wait in recvmsg(2) for a connection (one byte with
// an SCM_RIGHTS control message), serve it to the end, close it, and
// write one byte back to say it is free. End of file on the channel (or
// ECONNRESET) means the parent closed it (a stop, or the parent died): the
// worker exits, so a pool never outlives its parent for long.
//
//go:nosplit
//go:norace
//netprog:forkchild
func passfdChild() int {
	ch := passfdArgs.channel
	sys.ChildCloseAllBut(ch)
	for {
		fd, e := sys.ChildRecvFD(ch)
		switch {
		case e == 0 && fd < 0, e == unix.ECONNRESET:
			// The parent closed its end (ECONNRESET: with our last free
			// byte unread in it): the pool is over.
			return 0
		case e == unix.EMFILE || e == unix.EBADMSG:
			// The connection was lost on the way (no descriptor left
			// here to receive it in): nothing to serve, free again.
		case e != 0:
			return int(e)
		default:
			serveChild(fd) // its errno concerns that client only
			sys.ChildClose(fd)
		}
		if _, e := sys.ChildSend(ch, freeByte[:]); e != 0 {
			return int(e) // EPIPE: the parent is gone
		}
	}
}
