package probe

import (
	"errors"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Conn is a probe's connection to a stream server: a nonblocking socket
// whose every wait (connect, send, receive) is a poll(2) bounded by the
// connection's deadline, so that no peer, however it behaves, can keep a
// probe waiting past it.
type Conn struct {
	fd         int
	deadline   time.Time
	connecting bool     // DialStart's handshake not yet seen through
	Local      sys.Addr // getsockname after the connect
	Peer       sys.Addr
	// owed is a message sent whose reply has not (all) come, and got what
	// has: End waits for the rest before it sends q, because a server
	// that takes one recv for one message would read the q glued to the
	// message and miss it.
	owed, got []byte
	proto     Protocol
}

// TimeoutError is what a wait that reached its deadline returns; a
// *TimeoutError, which os.IsTimeout and errors.Is(err,
// os.ErrDeadlineExceeded) recognise.
type TimeoutError struct{ Op string }

func (e *TimeoutError) Error() string   { return e.Op + ": deadline passed" }
func (e *TimeoutError) Timeout() bool   { return true }
func (e *TimeoutError) Is(t error) bool { return t == os.ErrDeadlineExceeded }

// IsTimeout reports whether err is a probe's deadline.
func IsTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// DialOptions shape a connection before it is made.
type DialOptions struct {
	// RcvBuf, if set, is SO_RCVBUF, set before the connect so that the
	// window the client offers stays small: a slow reader that stalls the
	// server's replies early instead of letting the kernel soak up
	// megabytes.
	RcvBuf int
	// NoDelay sets TCP_NODELAY: each send leaves at once.
	NoDelay bool
}

// Dial connects to a within the deadline (its time left bounds the
// handshake too).
func Dial(a sys.Addr, deadline time.Time, opt DialOptions) (*Conn, error) {
	c, err := DialStart(a, deadline, opt)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// DialStart begins a connection without waiting for the handshake: a
// server whose listen queue is full drops the SYN, and the kernel tries
// again a second later, then three; a probe of many clients must not wait
// for each in turn. WaitConnected or Connected see it through.
func DialStart(a sys.Addr, deadline time.Time, opt DialOptions) (*Conn, error) {
	fd, err := sys.Socket(a.Family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if opt.RcvBuf > 0 {
		if err := sys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, opt.RcvBuf); err != nil {
			sys.Close(fd)
			return nil, err
		}
	}
	if opt.NoDelay && a.Family != unix.AF_UNIX {
		sys.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	done, err := sys.ConnectStart(fd, a)
	if err != nil {
		sys.Close(fd)
		return nil, err
	}
	c := &Conn{fd: fd, deadline: deadline, Peer: a, connecting: !done}
	if done {
		c.Local, _ = sys.Getsockname(fd)
	}
	return c, nil
}

// Connected reports, without waiting, whether the handshake is over; an
// error is the connect's failure.
func (c *Conn) Connected() (bool, error) {
	if !c.connecting {
		return true, nil
	}
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLOUT}}
	if n, err := sys.Poll(fds, 0); err != nil || n == 0 {
		return false, err
	}
	if err := sys.SocketError(c.fd, c.Peer); err != nil {
		return false, err
	}
	c.connecting = false
	c.Local, _ = sys.Getsockname(c.fd)
	return true, nil
}

// WaitConnected waits (until the deadline) for the handshake.
func (c *Conn) WaitConnected() error {
	for {
		ok, err := c.Connected()
		if ok || err != nil {
			return err
		}
		if _, err := c.wait(unix.POLLOUT, "connect "+c.Peer.String()); err != nil {
			return err
		}
	}
}

// Fd is the connection's descriptor.
func (c *Conn) Fd() int { return c.fd }

// SetDeadline moves the deadline of every later wait.
func (c *Conn) SetDeadline(t time.Time) { c.deadline = t }

// wait polls for events until the deadline; it reports the revents, or a
// *TimeoutError.
func (c *Conn) wait(events int16, op string) (int16, error) {
	return waitFd(c.fd, events, c.deadline, op)
}

// waitFd polls fd for events until deadline.
func waitFd(fd int, events int16, deadline time.Time, op string) (int16, error) {
	left := time.Until(deadline)
	if left <= 0 {
		return 0, &TimeoutError{op}
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := sys.Poll(fds, left)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, &TimeoutError{op}
	}
	return fds[0].Revents, nil
}

// Write sends all of p, waiting for room in the socket buffer as long as
// the deadline allows; it returns how much went out.
func (c *Conn) Write(p []byte) (int, error) { return c.send(p, 0) }

// WriteMore sends p with MSG_MORE: the kernel holds it until the next
// send without the flag, so the two leave in one segment, back to back.
func (c *Conn) WriteMore(p []byte) (int, error) { return c.send(p, unix.MSG_MORE) }

func (c *Conn) send(p []byte, flags int) (int, error) {
	n := 0
	for n < len(p) {
		m, err := sys.Send(c.fd, p[n:], flags)
		n += m
		if err == nil {
			break
		}
		if !sys.IsTemporary(err) {
			return n, err
		}
		if _, err := c.wait(unix.POLLOUT, "send"); err != nil {
			return n, err
		}
	}
	return n, nil
}

// TryWrite sends what the socket buffer takes now, without waiting.
func (c *Conn) TryWrite(p []byte) (int, error) {
	n, err := sys.Send(c.fd, p, 0)
	if sys.IsTemporary(err) {
		err = nil
	}
	return n, err
}

// Read waits for data (until the deadline) and reads it: n == 0 with
// io.EOF is the peer's end of file.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		n, err := sys.Recv(c.fd, p, 0)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case !sys.IsTemporary(err):
			return 0, err
		}
		if _, err := c.wait(unix.POLLIN, "recv"); err != nil {
			return 0, err
		}
	}
}

// TryRead reads what has arrived, without waiting: 0, nil when nothing
// has.
func (c *Conn) TryRead(p []byte) (int, error) {
	n, err := sys.Recv(c.fd, p, 0)
	switch {
	case err == nil && n == 0:
		return 0, io.EOF
	case sys.IsTemporary(err):
		return 0, nil
	}
	return n, err
}

// ReadUntil reads until done says that what has come is enough, the peer
// closes (io.EOF, with what came), an error, or the deadline.
func (c *Conn) ReadUntil(done func(got []byte) bool) ([]byte, error) {
	var got []byte
	buf := make([]byte, 64<<10)
	for !done(got) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// WaitClose reads until the peer's end of file or the deadline; it
// returns what came meanwhile. A reset counts as closed (err is then the
// reset).
func (c *Conn) WaitClose() ([]byte, error) {
	got, err := c.ReadUntil(func([]byte) bool { return false })
	if err == io.EOF {
		err = nil
	}
	return got, err
}

// firstOrClose waits for what the peer does first: send something (it
// is returned as soon as it comes, with a nil error) or close (io.EOF
// turned into nil, with nothing), or neither by the deadline.
func (c *Conn) firstOrClose() ([]byte, error) {
	got, err := c.ReadUntil(func(got []byte) bool { return len(got) > 0 })
	if err == io.EOF {
		err = nil
	}
	return got, err
}

// CloseWrite sends our end of file (shutdown SHUT_WR).
func (c *Conn) CloseWrite() error { return sys.Shutdown(c.fd, unix.SHUT_WR) }

// Reset closes with SO_LINGER 0: the kernel sends a reset (RST) instead
// of a FIN, as a client that crashes or is killed mid-conversation may.
func (c *Conn) Reset() error {
	if c.fd < 0 {
		return nil
	}
	sys.SetLinger(c.fd, true, 0)
	return c.Close()
}

// Close closes the socket; it may be called more than once.
func (c *Conn) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := sys.Close(c.fd)
	c.fd = -1
	return err
}

// drainNow reads and drops whatever has arrived, without waiting, so that
// a close sends a FIN and not a reset (closing with unread data resets
// the connection, and some servers die of a reset).
func (c *Conn) drainNow() {
	var buf [16 << 10]byte
	for {
		n, err := c.TryRead(buf[:])
		if n == 0 || err != nil {
			return
		}
	}
}

// sysPeerGone: the peer reset or closed the connection.
func sysPeerGone(err error) bool { return sys.IsPeerGone(err) }
