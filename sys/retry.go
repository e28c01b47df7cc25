package sys

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// This file is the one place that decides what happens when a call is
// interrupted by a signal (EINTR). Go installs its signal handlers with
// SA_RESTART, so most slow calls are restarted by the kernel; but some never
// are (see signal(7), "Interruption of system calls and library functions by
// signal handlers": poll, select, epoll_wait, and any socket call with a
// timeout set by SO_RCVTIMEO/SO_SNDTIMEO return EINTR whatever the flags). So
// every wrapper that may be restarted goes through restart.

// restart calls fn until it fails with something other than EINTR.
func restart(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}

// syscallErr wraps a raw errno as an *os.SyscallError naming the call; nil
// stays nil.
func syscallErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(name, err)
}

// Errno returns the errno inside err (0 if none), for callers that decide on
// the cause: errors.Is(err, unix.EAGAIN) works as well.
func Errno(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// IsTemporary reports whether err means "try again later" on a nonblocking
// descriptor: EAGAIN (== EWOULDBLOCK on Linux).
func IsTemporary(err error) bool { return errors.Is(err, unix.EAGAIN) }

// IsAcceptRetry reports whether an accept4 error concerns only the one
// connection that went away before we took it (ECONNABORTED, EPROTO, and the
// network errors accept(2) says "should be treated like EAGAIN by retrying"),
// so a server simply accepts again.
func IsAcceptRetry(err error) bool {
	switch Errno(err) {
	case unix.ECONNABORTED, unix.EPROTO, unix.ENETDOWN, unix.ENOPROTOOPT,
		unix.EHOSTDOWN, unix.ENONET, unix.EHOSTUNREACH, unix.EOPNOTSUPP,
		unix.ENETUNREACH:
		return true
	}
	return false
}

// IsPeerGone reports whether err means the other end is gone (reset, or closed
// while we were writing): the connection is over, the server is fine.
func IsPeerGone(err error) bool {
	switch Errno(err) {
	case unix.ECONNRESET, unix.EPIPE, unix.ETIMEDOUT, unix.ENOTCONN:
		return true
	}
	return false
}

// IsPeerFailure reports whether err is a failure of the peer or the path to it
// rather than of this program or its system: the programs exit 1 for these and
// 2 for everything else, as iputils' ping does.
func IsPeerFailure(err error) bool {
	switch Errno(err) {
	case unix.ECONNREFUSED, unix.ECONNRESET, unix.EPIPE, unix.ETIMEDOUT,
		unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENOTCONN,
		unix.ECONNABORTED:
		return true
	}
	return false
}
