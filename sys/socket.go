package sys

import (
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Socket wraps socket(2). SOCK_CLOEXEC is always added.
func Socket(family, typ, proto int) (int, error) {
	typ |= unix.SOCK_CLOEXEC
	fd, err := unix.Socket(family, typ, proto)
	traceSocket(family, typ, proto, fd, err)
	return fd, syscallErr("socket", err)
}

// SocketFor opens a socket of type typ in the family of a.
func SocketFor(a Addr, typ int) (int, error) {
	return Socket(a.Family, typ, 0)
}

// Bind wraps bind(2). Its error names the address:
// "bind 127.0.0.1:5090: address already in use".
func Bind(fd int, a Addr) error {
	err := unix.Bind(fd, a.Sockaddr())
	traceBind(fd, a, err)
	if err == nil && a.Family == unix.AF_UNIX && a.Path != "" {
		rememberBound(a.Path) // so that UnlinkBound knows the file is ours
	}
	return syscallErr("bind "+a.String(), err)
}

// Listen wraps listen(2). A backlog above net.core.somaxconn is silently
// capped by the kernel; when the accept queue is full, Linux drops the
// incoming SYN (the client retries it later) rather than refusing it, so a
// small backlog slows clients down instead of turning them away.
func Listen(fd, backlog int) error {
	err := unix.Listen(fd, backlog)
	traceListen(fd, backlog, err)
	return syscallErr("listen", err)
}

// Accept4 wraps accept4(2), always with SOCK_CLOEXEC, and returns the new
// descriptor and the peer's address. EINTR is retried; the error for a
// connection that died in the queue (ECONNABORTED) is returned for the caller
// to skip (ClassifyAccept says what each failure means).
func Accept4(fd, flags int) (int, Addr, error) {
	flags |= unix.SOCK_CLOEXEC
	var b sockaddrBuf // sockaddr.go: no getsockopt after each accept
	nfd, err := b.call(unix.SYS_ACCEPT4, fd, uintptr(flags))
	var peer Addr
	if err == nil {
		peer = b.addr()
	}
	traceAccept4(fd, peer, flags, nfd, err)
	if err != nil {
		return -1, Addr{}, syscallErr("accept4", err)
	}
	return nfd, peer, nil
}

// Connect wraps connect(2). connect is never restarted after EINTR: the
// kernel carries on with the handshake, and a second connect would fail with
// EALREADY. Instead, as POSIX says, we wait for the socket to become writable
// with poll(2) and read the outcome from SO_ERROR. The error names the
// address: "connect 127.0.0.1:5090: connection refused".
func Connect(fd int, a Addr) error {
	err := unix.Connect(fd, a.Sockaddr())
	traceConnect(fd, a, err)
	if connectPending(err) {
		err = waitConnect(fd, -1)
	}
	return syscallErr("connect "+a.String(), err)
}

// ConnectTimeout connects with a time limit: a nonblocking connect
// (EINPROGRESS), poll(2) for POLLOUT, then SO_ERROR for the outcome. The
// socket is left blocking, as it came. A timeout is ETIMEDOUT.
func ConnectTimeout(fd int, a Addr, d time.Duration) error {
	if err := SetNonblock(fd, true); err != nil {
		return err
	}
	err := unix.Connect(fd, a.Sockaddr())
	traceConnect(fd, a, err)
	if connectPending(err) {
		err = waitConnect(fd, d)
	}
	if e := SetNonblock(fd, false); e != nil && err == nil {
		err = e
	}
	return syscallErr("connect "+a.String(), err)
}

// waitConnect waits for a pending connect to finish (d < 0: forever) and
// returns its result from SO_ERROR.
func waitConnect(fd int, d time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := Poll(fds, d)
	if err != nil {
		return Errno(err)
	}
	if n == 0 {
		return unix.ETIMEDOUT
	}
	soerr, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return Errno(err)
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return nil
}

// Shutdown wraps shutdown(2): SHUT_WR sends FIN after queued data; SHUT_RD on
// a listening socket wakes a thread blocked in accept (it returns EINVAL),
// and on a connected one wakes a blocked read (it returns 0), which close(2)
// does not do.
func Shutdown(fd, how int) error {
	err := unix.Shutdown(fd, how)
	traceShutdown(fd, how, err)
	return syscallErr("shutdown", err)
}

// Close wraps close(2). It is never retried: on Linux the descriptor is
// released even when close reports EINTR, and a retry could close a
// descriptor another thread has just been given.
func Close(fd int) error {
	err := unix.Close(fd)
	traceClose(fd, err)
	return syscallErr("close", err)
}

// Getsockname wraps getsockname(2): the address the kernel bound, including
// the ephemeral port it chose for port 0 or for a connect.
func Getsockname(fd int) (Addr, error) {
	var b sockaddrBuf
	_, err := b.call(unix.SYS_GETSOCKNAME, fd, 0)
	var a Addr
	if err == nil {
		a = b.addr()
	}
	traceSockname("getsockname", fd, a, err)
	return a, syscallErr("getsockname", err)
}

// Getpeername wraps getpeername(2).
func Getpeername(fd int) (Addr, error) {
	var b sockaddrBuf
	_, err := b.call(unix.SYS_GETPEERNAME, fd, 0)
	var a Addr
	if err == nil {
		a = b.addr()
	}
	traceSockname("getpeername", fd, a, err)
	return a, syscallErr("getpeername", err)
}

// SetsockoptInt wraps setsockopt(2) for an int option.
func SetsockoptInt(fd, level, opt, val int) error {
	err := unix.SetsockoptInt(fd, level, opt, val)
	traceSetsockoptInt(fd, level, opt, val, err)
	return syscallErr("setsockopt", err)
}

// GetsockoptInt wraps getsockopt(2) for an int option (SO_ERROR reads and
// clears the socket's pending error).
func GetsockoptInt(fd, level, opt int) (int, error) {
	v, err := unix.GetsockoptInt(fd, level, opt)
	traceGetsockoptInt(fd, level, opt, v, err)
	return v, syscallErr("getsockopt", err)
}

// SetRecvTimeout sets SO_RCVTIMEO: a blocking read or accept that waits longer
// than d fails with EAGAIN. d == 0 waits forever.
func SetRecvTimeout(fd int, d time.Duration) error {
	return setTimeout(fd, unix.SO_RCVTIMEO, d)
}

// SetSendTimeout sets SO_SNDTIMEO, the same for a blocking write.
func SetSendTimeout(fd int, d time.Duration) error {
	return setTimeout(fd, unix.SO_SNDTIMEO, d)
}

func setTimeout(fd, opt int, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv)
	traceSetTimeout(fd, opt, tv, err)
	return syscallErr("setsockopt", err)
}

// SetLinger sets SO_LINGER; SetLinger(fd, true, 0) makes close(2) send a
// reset (RST) instead of a FIN: how tests play a client that vanishes.
func SetLinger(fd int, on bool, secs int) error {
	l := unix.Linger{Linger: int32(secs)}
	if on {
		l.Onoff = 1
	}
	err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &l)
	traceSetLinger(fd, l, secs, err)
	return syscallErr("setsockopt", err)
}

// SetNonblock sets or clears O_NONBLOCK with fcntl(2).
func SetNonblock(fd int, on bool) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	traceGetfl(fd, flags, err)
	if err != nil {
		return syscallErr("fcntl", err)
	}
	nflags := flags &^ unix.O_NONBLOCK
	if on {
		nflags |= unix.O_NONBLOCK
	}
	if nflags == flags {
		return nil
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, nflags)
	traceSetfl(fd, on, err)
	return syscallErr("fcntl", err)
}

// Listener opens, binds and listens in one go, the server's usual start:
// socket, setsockopt(SO_REUSEADDR) so a restarted server need not wait out
// TIME_WAIT, bind, listen. An AF_UNIX path left by a server that died is
// removed first (see removeStaleSocket). It returns the descriptor and the bound address
// from getsockname (the real port when a asked for port 0). On failure the
// socket is closed.
func Listener(a Addr, backlog int, reusePort bool) (int, Addr, error) {
	fd, err := SocketFor(a, unix.SOCK_STREAM)
	if err != nil {
		return -1, Addr{}, err
	}
	fail := func(err error) (int, Addr, error) {
		Close(fd)
		return -1, Addr{}, err
	}
	if a.Family == unix.AF_UNIX {
		removeStaleSocket(a.Path)
	} else {
		if err := SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail(err)
		}
		if reusePort {
			if err := SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return fail(err)
			}
		}
	}
	if err := Bind(fd, a); err != nil {
		return fail(err)
	}
	if err := Listen(fd, backlog); err != nil {
		return fail(err)
	}
	bound, err := Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	return fd, bound, nil
}

// Dial opens a socket of type typ and connects it to a; on failure the socket
// is closed. d > 0 limits how long the connect may take.
func Dial(a Addr, typ int, d time.Duration) (int, error) {
	fd, err := SocketFor(a, typ)
	if err != nil {
		return -1, err
	}
	if d > 0 {
		err = ConnectTimeout(fd, a, d)
	} else {
		err = Connect(fd, a)
	}
	if err != nil {
		Close(fd)
		return -1, err
	}
	return fd, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
