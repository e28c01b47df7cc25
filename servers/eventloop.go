package servers

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// The event loops (select, poll, epoll) share everything but the wait: one
// thread, nonblocking sockets, and per client an eventConn holding the
// replies not yet sent. What differs from file to file is only how the loop
// asks the kernel which descriptors are ready.
//
// Backpressure. A reply goes out at once if the socket takes it (it usually
// does); what the socket does not take waits in the client's output buffer,
// and the loop asks to hear when the socket is writable again (select's
// write set, POLLOUT, EPOLLOUT), and only then, since an idle socket is
// always writable and would wake the loop for nothing. A client whose
// buffer holds outLimit bytes or more is not read from until it drains: a
// peer that sends but never reads fills its own socket buffers and then
// blocks in send, instead of filling our memory. So each client costs at
// most outLimit plus one read's replies, whoever it is.

// outLimit is how much unsent echo a client may have waiting before the loop
// stops reading from it.
const outLimit = 64 << 10

// acceptBatch is how many connections a level-triggered loop accepts per
// wake-up before it serves its clients again (it is woken again at once if
// more are queued), so a flood of connects cannot starve them.
const acceptBatch = 64

// eventConn is one client of an event loop.
type eventConn struct {
	fd     int
	peer   sys.Addr
	out    []byte    // replies: out[off:] not yet sent
	off    int       // how much of out is sent
	last   time.Time // when bytes last moved either way (-idle-timeout)
	done   bool      // reading is over (end of file or quit): close once out is sent
	events uint32    // epoll: the events registered for fd
}

func (c *eventConn) pending() int { return len(c.out) - c.off }

// wantRead reports whether the loop should read from c: not after its end
// of file, and not while its peer is behind in reading its echo.
func (c *eventConn) wantRead() bool { return !c.done && c.pending() < outLimit }

// wantWrite reports whether the loop should wait for c to become writable.
func (c *eventConn) wantWrite() bool { return c.pending() > 0 }

// readiness is what the kernel said about one descriptor.
type readiness struct {
	in  bool // readable: data, end of file, or an error to collect
	out bool // writable
	hup bool // POLLHUP/POLLERR (EPOLLHUP/EPOLLERR): the connection is over
}

// eventLoop is the state all three event-loop models share.
type eventLoop struct {
	cfg     *Config
	st      *Stats
	lfd     int          // the listening socket, nonblocking
	wake    int          // eventfd, readable once the context ends
	clients []*eventConn // indexed by descriptor, nil where there is none
	count   int          // clients open
	in      []byte       // one read buffer for everyone: the loop is one thread

	pausedUntil time.Time              // not accepting: out of descriptors with no spare
	nextSweep   time.Time              // next look for idle clients
	rearm       func(*eventConn) error // epoll: tell the kernel what c waits for now (nil: the loop asks anew each time)

	stopWatch func() // releases the goroutine that signals wake
}

// openLoop opens the wake-up eventfd and the nonblocking listening socket.
// Every event loop blocks in one system call (select, poll, epoll_wait);
// the only way to make another goroutine's cancellation end that wait is a
// descriptor in the set that becomes readable, so a goroutine writes to
// the eventfd when ctx ends.
func openLoop(ctx context.Context, cfg *Config) (*eventLoop, error) {
	wake, err := sys.Eventfd(unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	lfd, err := cfg.listen()
	if err != nil {
		sys.Close(wake)
		return nil, err
	}
	if err := sys.SetNonblock(lfd, true); err != nil {
		sys.Close(lfd)
		sys.Close(wake)
		return nil, err
	}
	l := &eventLoop{cfg: cfg, st: &Stats{}, lfd: lfd, wake: wake, in: make([]byte, bufSize)}
	if cfg.IdleTimeout > 0 {
		l.nextSweep = time.Now().Add(l.sweepEvery())
	}
	// stopWatch must have run before wake is closed (see sys.OnCancel).
	l.stopWatch = sys.OnCancel(ctx, func() { sys.EventfdSignal(wake) })
	return l, nil
}

// close ends the server: every client is closed, then the listening socket
// and the eventfd.
func (l *eventLoop) close() {
	l.stopWatch()
	if l.count > 0 {
		l.cfg.logf("Stopping: closing %s", count(l.count, "client", "clients"))
	}
	for _, c := range l.clients {
		if c != nil {
			l.closeConn(c)
		}
	}
	sys.Close(l.lfd)
	sys.Close(l.wake)
}

// accepting reports whether the loop should watch the listening socket now.
func (l *eventLoop) accepting(now time.Time) bool { return !now.Before(l.pausedUntil) }

// timeout is how long the loop may wait for events: until the next idle
// sweep or the end of an accept pause (-1: no limit).
func (l *eventLoop) timeout(now time.Time) time.Duration {
	d := time.Duration(-1)
	if l.cfg.IdleTimeout > 0 {
		d = max(0, l.nextSweep.Sub(now))
	}
	if now.Before(l.pausedUntil) {
		if p := l.pausedUntil.Sub(now); d < 0 || p < d {
			d = p
		}
	}
	return d
}

// sweepEvery is how often the loop looks for idle clients: a client silent
// for IdleTimeout is closed within 1.25 times it. A timer per client would
// be more exact and cost a heap; scanning every client on every wake-up
// would cost epoll its advantage.
func (l *eventLoop) sweepEvery() time.Duration {
	return max(l.cfg.IdleTimeout/4, time.Millisecond)
}

// sweep closes the clients that moved no byte either way for IdleTimeout:
// silent ones, and those that neither send nor read their echo.
//
// A client with echo waiting is tried once more first. The kernel says a
// TCP socket is writable (POLLOUT, EPOLLOUT) only when a third of its
// send buffer is free (tcp_poll, sk_stream_is_writeable), so a peer that
// reads slowly, or read while this process was not running, may have made
// room that no event reported: a send that moves bytes says it is not idle.
func (l *eventLoop) sweep(now time.Time) {
	if l.cfg.IdleTimeout <= 0 || now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.sweepEvery())
	for _, c := range l.clients {
		if c == nil || now.Sub(c.last) < l.cfg.IdleTimeout {
			continue
		}
		if c.pending() > 0 {
			if !l.flush(c, now) {
				continue // the send failed: dropped
			}
			if c.last == now {
				if l.rearm != nil {
					if err := l.rearm(c); err != nil {
						l.drop(c, err)
					}
				}
				continue
			}
		}
		l.cfg.logf("Client %s idle for %v: closing", c.peer, l.cfg.IdleTimeout)
		l.closeConn(c)
	}
}

// acceptReady accepts the connections waiting on the listening socket:
// until EAGAIN when drain is set (edge-triggered), else at most acceptBatch.
// admit is the model's say on a new client (select refuses descriptors
// beyond FD_SETSIZE, epoll registers it); a client it refuses is closed and
// counted as refused. An error is returned only when the server must stop.
func (l *eventLoop) acceptReady(now time.Time, drain bool, admit func(*eventConn) bool) error {
	for i := 0; drain || i < acceptBatch; i++ {
		fd, peer, again, err := l.acceptNext(now, unix.SOCK_NONBLOCK)
		if fd < 0 {
			if again {
				continue
			}
			return err
		}
		c := &eventConn{fd: fd, peer: peer, last: now}
		if !admit(c) {
			sys.Close(fd)
			l.st.Refused.Add(1)
			continue
		}
		for fd >= len(l.clients) {
			l.clients = append(l.clients, nil)
		}
		l.clients[fd] = c
		l.count++
		l.st.Conns.Add(1)
		l.cfg.logf("Got the connection from: %s", peer)
	}
	return nil
}

// acceptNext makes one accept4 (with flags) on the nonblocking listening
// socket, acting on what sys.ClassifyAccept says of its failure: a
// connection that died in the queue (ECONNABORTED, and the errors Linux
// passes on from it) is skipped; out of
// descriptors, the waiting connection is shed (reserve.go); out of kernel
// memory, accepting pauses for acceptBackoff. It returns fd -1 when no
// connection was taken; then again says whether the caller may accept once
// more at once (one was skipped or shed), and err is set only when the
// server must stop. One call, one connection at most: the caller's
// acceptBatch bounds a round, sheds included, so that a flood of connects
// while out of descriptors does not keep the loop from its clients.
func (l *eventLoop) acceptNext(now time.Time, flags int) (fd int, peer sys.Addr, again bool, err error) {
	fd, peer, err = spare.Accept4(l.lfd, flags)
	if err == nil {
		return fd, peer, false, nil
	}
	if sys.IsTemporary(err) {
		return -1, sys.Addr{}, false, nil
	}
	switch sys.ClassifyAccept(err) {
	case sys.AcceptRetry:
		again = true
	case sys.AcceptNoDescriptors:
		again = l.shed(now, err)
	case sys.AcceptNoMemory:
		l.cfg.logf("accept: %v: not accepting for %v", err, acceptBackoff)
		l.pausedUntil = now.Add(acceptBackoff)
	default:
		return -1, sys.Addr{}, false, err
	}
	return -1, sys.Addr{}, again, nil
}

// shed turns away one connection with the spare descriptor (reserve.go)
// after accept failed for want of a descriptor. With no spare it pauses
// accepting for acceptBackoff: the listening socket stays readable, and
// watching it would wake the loop at once, forever. It reports whether to
// accept again now: not when nobody was waiting (accept would fail with
// EMFILE again rather than EAGAIN), nor during a pause.
func (l *eventLoop) shed(now time.Time, err error) bool {
	switch shed(l.cfg, l.st, l.lfd, unix.SOCK_NONBLOCK, err) {
	case shedNoSpare:
		l.pausedUntil = now.Add(acceptBackoff)
		return false
	case shedEmpty:
		return false
	}
	return true
}

// conn returns the client on fd, or nil.
func (l *eventLoop) conn(fd int) *eventConn {
	if fd < 0 || fd >= len(l.clients) {
		return nil
	}
	return l.clients[fd]
}

// handle serves c after the kernel said r about its socket: send what
// waits if it is writable, read and reply if it is readable (once, or until
// EAGAIN when edge-triggered), close it when it is over. It returns false
// once c is closed.
func (l *eventLoop) handle(c *eventConn, r readiness, edge bool, now time.Time) bool {
	if r.hup {
		l.hangUp(c)
		return false
	}
	if r.out && !l.flush(c, now) {
		return false
	}
	if r.in {
		for c.wantRead() {
			n, err := sys.ReadNonblock(c.fd, l.in)
			if err != nil {
				if sys.IsTemporary(err) {
					break
				}
				l.drop(c, err)
				return false
			}
			if n == 0 { // end of file: send what is left, then close
				c.done = true
				l.cfg.logf("Client %s closed the connection", c.peer)
				break
			}
			if !l.reply(c, l.in[:n], now) {
				return false
			}
			if !edge {
				break // one read per wake-up: every ready client gets its turn
			}
		}
	}
	if c.done && c.pending() == 0 {
		l.closeConn(c)
		return false
	}
	return true
}

// hangUp closes a client whose socket reported POLLHUP or POLLERR: for TCP
// that is a reset (or a connection dead after retransmissions), for a unix
// socket a peer that is gone; either way nothing more can be sent to it.
// Even while the loop does not want to read it (backpressure), poll(2)
// reports these, whatever events were asked for: ignoring them would wake
// the loop at once, forever. The cause is in SO_ERROR (a read would first
// return whatever data is still queued, possibly megabytes).
func (l *eventLoop) hangUp(c *eventConn) {
	if soerr, err := sys.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
		l.cfg.logf("Client %s: %v", c.peer, unix.Errno(soerr))
	} else {
		l.cfg.logf("Client %s hung up", c.peer)
	}
	l.closeConn(c)
}

// reply appends the replies to one read's input to c's output and sends
// what the socket takes now.
func (l *eventLoop) reply(c *eventConn, data []byte, now time.Time) bool {
	c.last = now
	if l.cfg.Verbose {
		l.cfg.logf("Data received: %s", protocol.Printable(data))
	}
	if c.off > 0 { // keep the buffer from creeping forward
		c.out = c.out[:copy(c.out, c.out[c.off:])]
		c.off = 0
	}
	var quit bool
	c.out, quit = l.cfg.Proto.Respond(c.out, data)
	if quit {
		c.done = true
		l.cfg.logf("Client quits: %s", c.peer)
	}
	return l.flush(c, now)
}

// flush sends as much of c's output as its socket takes (Send goes on until
// EAGAIN). A peer that reset or went away (ECONNRESET, EPIPE: MSG_NOSIGNAL
// keeps SIGPIPE away) ends the client, not the server.
func (l *eventLoop) flush(c *eventConn, now time.Time) bool {
	if c.pending() == 0 {
		return true
	}
	n, err := sys.SendNonblock(c.fd, c.out[c.off:], 0)
	l.st.Bytes.Add(int64(n))
	c.off += n
	if n > 0 {
		c.last = now
	}
	if c.pending() == 0 {
		c.off = 0
		c.out = c.out[:0]
		if cap(c.out) > 2*outLimit {
			c.out = nil // a burst is over: give its memory back
		}
	}
	if err != nil && !sys.IsTemporary(err) {
		l.drop(c, err)
		return false
	}
	return true
}

// drop closes a client whose connection failed, saying why.
func (l *eventLoop) drop(c *eventConn, err error) {
	l.cfg.logf("Client %s: %v", c.peer, err)
	l.closeConn(c)
}

// closeConn closes c's socket. close(2) also takes it out of any epoll set
// (the kernel drops an epoll registration when the last descriptor of the
// open file goes), so epoll needs no EPOLL_CTL_DEL.
func (l *eventLoop) closeConn(c *eventConn) {
	l.clients[c.fd] = nil
	l.count--
	sys.Close(c.fd)
}
