package servers

import (
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// A uring connection is a small state machine driven by completions. What
// makes it different from an event loop's is that requests are in flight:
// the kernel may be writing into a recv buffer or reading from a send
// buffer at any moment until the request's completion arrives. So a buffer
// handed to a request is never touched, moved or freed before then, and a
// socket is never closed under a pending request (the request holds its
// own reference to the socket, so close would not even end it): the
// connection cancels its requests, waits for their completions, and only
// then submits the close.

type connState uint8

const (
	connOpen     connState = iota
	connDraining           // end of file or quit: send what is left, then close
	connDead               // reset, idle, or stopping: cancel everything, close
)

type uringConn struct {
	fd    int
	slot  uint32
	gen   uint32
	peer  sys.Addr // from getpeername, for the log
	state connState
	last  time.Duration // when bytes last moved either way (-idle-timeout)
	outq  int           // the socket's send queue at the last sweep, while a send waits (SIOCOUTQ; -1: not looked)

	recvArmed     bool // a recv request is pending
	recvMulti     bool // ... and it is multishot
	recvCancelled bool // ... and we asked to cancel it
	sendBusy      bool // a send request is pending on sending[sent:]
	sendCancelled bool
	closing       bool // the close request is submitted

	out     []byte // replies not yet handed to a send
	sending []byte // the pending send's buffer: the kernel reads it
	sent    int    // how much of sending is sent
	buf     []byte // recv buffer without a provided-buffer ring: the kernel writes it
}

// userData names c's request of kind k.
func (c *uringConn) userData(k uringKind) uint64 { return userData(k, c.gen, c.slot) }

func (c *uringConn) pending() int { return len(c.out) + len(c.sending) - c.sent }

func (c *uringConn) name() string {
	if c.peer.Family != 0 {
		return c.peer.String()
	}
	return "fd " + strconv.Itoa(c.fd)
}

// open takes in a new connection and arms its first recv.
func (s *uringServer) open(fd int) {
	s.st.Conns.Add(1)
	s.gen++
	c := &uringConn{fd: fd, gen: s.gen & genMask, last: s.now, outq: -1}
	if n := len(s.free); n > 0 {
		c.slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.conns[c.slot] = c
	} else {
		c.slot = uint32(len(s.conns))
		s.conns = append(s.conns, c)
	}
	s.live++
	if s.stopping {
		s.kill(c)
		return
	}
	// A multishot accept cannot hand over the peer's address: the kernel
	// would write every connection's into the same place, perhaps several
	// before we look. So the log line costs one getpeername(2) per
	// connection, the only system call that names a client socket.
	if peer, err := sys.Getpeername(fd); err == nil {
		c.peer = peer
	}
	s.cfg.logf("Got the connection from: %s", c.name())
	s.progress(c)
}

// kill ends c as soon as its pending requests are done, sending nothing
// more.
func (s *uringServer) kill(c *uringConn) {
	c.state = connDead
	s.progress(c)
}

// progress decides c's next requests from its state: send what waits,
// receive while there is room for the replies, cancel what is no longer
// wanted, and close once nothing is pending. Every completion ends here.
func (s *uringServer) progress(c *uringConn) {
	if c.closing {
		return
	}
	if !c.sendBusy && c.state != connDead && len(c.out) > 0 {
		c.sending, c.out = c.out, c.sending[:0]
		c.sent = 0
		s.send(c)
	}
	wantRecv := c.state == connOpen && c.pending() < outLimit
	switch {
	case wantRecv && !c.recvArmed:
		s.armRecv(c)
	case !wantRecv && c.recvArmed && !c.recvCancelled && (c.recvMulti || c.state != connOpen):
		// A multishot recv would go on filling buffers: cancel it. A
		// single-shot one under backpressure brings at most one more
		// buffer and is simply not armed again; but a connection that is
		// over must not wait for data that may never come.
		s.cancel(c.userData(kindRecv))
		c.recvCancelled = true
	}
	if c.state == connDead && c.sendBusy && !c.sendCancelled {
		s.cancel(c.userData(kindSend))
		c.sendCancelled = true
	}
	if c.state != connOpen && !c.recvArmed && !c.sendBusy && (c.state == connDead || c.pending() == 0) {
		s.sqe().PrepClose(c.fd, c.userData(kindClose))
		c.closing = true
	}
}

func (s *uringServer) armRecv(c *uringConn) {
	e := s.sqe()
	ud := c.userData(kindRecv)
	if s.bufs != nil {
		e.PrepRecvSelect(c.fd, s.bufs.Bgid, uringBufSize, s.feat.multishotRecv, ud)
		c.recvMulti = s.feat.multishotRecv
	} else {
		if c.buf == nil {
			c.buf = make([]byte, bufSize)
		}
		e.PrepRecv(c.fd, c.buf, 0, ud)
		c.recvMulti = false
	}
	c.recvArmed, c.recvCancelled = true, false
}

func (s *uringServer) send(c *uringConn) {
	s.sqe().PrepSend(c.fd, c.sending[c.sent:], 0, c.userData(kindSend))
	c.sendBusy, c.sendCancelled = true, false
}

// received handles a recv's completion.
func (s *uringServer) received(c *uringConn, cqe sys.CQE) {
	var data []byte
	if s.bufs != nil {
		data = s.bufs.Take(cqe) // back in the ring at the next Publish: use it now
	} else if cqe.Res > 0 {
		data = c.buf[:cqe.Res]
	}
	if !cqe.More() {
		c.recvArmed = false
	}
	err := cqe.Err()
	switch {
	case cqe.Res > 0:
		if c.recvMulti {
			s.recvProven = true
		}
		c.last = s.now
		if c.state == connOpen {
			s.input(c, data)
		}
	case cqe.Res == 0: // end of file: the peer closed its side
		if c.state == connOpen {
			s.cfg.logf("Client %s closed the connection", c.name())
			c.state = connDraining
		}
	case err == unix.ENOBUFS:
		// Every shared buffer was in use: the multishot recv ended. Buffers
		// go back to the ring before the next submission, so arming it again
		// (progress does) is enough.
	case err == unix.ECANCELED:
	case err == unix.EINVAL && c.recvMulti && !s.recvProven:
		s.cfg.logf("io_uring: this kernel refuses multishot recv (%v): one recv request per arrival", err)
		s.feat.multishotRecv = false
	default:
		if c.state != connDead {
			s.cfg.logf("Client %s: recv: %v", c.name(), err)
		}
		c.state = connDead
	}
	s.progress(c)
}

// input answers one arrival by the protocol.
func (s *uringServer) input(c *uringConn, data []byte) {
	if s.cfg.Verbose {
		s.cfg.logf("Data received: %s", protocol.Printable(data))
	}
	var quit bool
	c.out, quit = s.cfg.Proto.Respond(c.out, data)
	if quit {
		c.state = connDraining
		s.cfg.logf("Client quits: %s", c.name())
	}
}

// sent handles a send's completion: like send(2), it may have sent less
// than asked, and the rest goes in another request.
func (s *uringServer) sent(c *uringConn, cqe sys.CQE) {
	c.sendBusy = false
	switch err := cqe.Err(); {
	case cqe.Res > 0:
		s.st.Bytes.Add(int64(cqe.Res))
		c.sent += int(cqe.Res)
		c.last = s.now
	case err == unix.ECANCELED:
	case err != nil:
		// EPIPE, ECONNRESET: the peer is gone (MSG_NOSIGNAL kept SIGPIPE
		// away); the connection is over, the server is fine.
		if c.state != connDead {
			s.cfg.logf("Client %s: send: %v", c.name(), err)
		}
		c.state = connDead
	default: // 0 bytes of a non-empty buffer: cannot happen on a stream socket
		c.state = connDead
	}
	if c.sent < len(c.sending) && c.state != connDead {
		s.send(c)
	} else if !c.sendBusy {
		c.sending, c.sent = c.sending[:0], 0
		if cap(c.sending) > 2*outLimit {
			c.sending = nil // a burst is over: give its memory back
		}
	}
	s.progress(c)
}

// closed handles the close's completion: the slot is free for the next
// connection.
func (s *uringServer) closed(c *uringConn, cqe sys.CQE) {
	if err := cqe.Err(); err != nil {
		s.cfg.logf("Client %s: close: %v", c.name(), err)
	}
	s.conns[c.slot] = nil
	s.free = append(s.free, c.slot)
	s.live--
}
