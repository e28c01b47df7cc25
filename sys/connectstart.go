package sys

import "golang.org/x/sys/unix"

// ConnectStart wraps connect(2) on a nonblocking socket and never waits,
// which is what an event loop driving many connections needs (Connect would
// block the whole loop in poll until the handshake ends). done reports that
// the connection is already established; otherwise it is in progress
// (EINPROGRESS, returned here as done == false with a nil error, so the
// common case allocates no error): the socket turns writable when the
// handshake is over, and SocketError then tells how it ended. EINTR also
// means in progress: POSIX says the connection goes on asynchronously, and
// a second connect would fail with EALREADY. The error names the address.
func ConnectStart(fd int, a Addr) (done bool, err error) {
	err = unix.Connect(fd, a.Sockaddr())
	traceConnect(fd, a, err)
	switch {
	case err == nil:
		return true, nil
	case connectPending(err):
		return false, nil
	}
	return false, syscallErr("connect "+a.String(), err)
}

// SocketError reads and clears a socket's pending error (getsockopt(2)
// SO_ERROR): after a nonblocking connect it is the connect's outcome, nil
// for success, and the returned error then names connect and the address.
func SocketError(fd int, a Addr) error {
	v, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return syscallErr("connect "+a.String(), unix.Errno(v))
	}
	return nil
}
