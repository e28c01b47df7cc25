package sys

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the one place that decides what happens when a call is
// interrupted by a signal (EINTR). Go installs its signal handlers with
// SA_RESTART, so most slow calls are restarted by the kernel; but some never
// are (see signal(7), "Interruption of system calls and library functions by
// signal handlers": poll, select, epoll_wait, and any socket call with a
// timeout set by SO_RCVTIMEO/SO_SNDTIMEO return EINTR whatever the flags). So
// every wrapper that may be restarted goes through restart; the waits with
// a timeout (poll, select, epoll_wait) through restartWait, which restarts
// them with what is left of it; the raw calls (a forked child's, and the
// nonblocking fast paths in io.go) through rawRestart. Three calls are
// never restarted: close (see Close), connect (see connectPending) and
// clock_nanosleep (see Nanosleep).

// restart calls fn until it fails with something other than EINTR.
func restart(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}

// restartWait calls wait until it fails with something other than EINTR,
// for the calls that wait with a timeout. Restarting them with the same
// timeout would stretch the wait, so each try gets what is left of d: d
// itself first, then the time to the deadline (never below 0). d < 0 waits
// forever, and so does every try.
func restartWait(d time.Duration, wait func(left time.Duration) (int, error)) (int, error) {
	var deadline time.Time // read the clock only for a wait that has an end
	if d >= 0 {
		deadline = time.Now().Add(d)
	}
	for left := d; ; {
		n, err := wait(left)
		if err != unix.EINTR {
			return n, err
		}
		if d >= 0 {
			left = max(time.Until(deadline), 0)
		}
	}
}

// waitMillis is a wait's timeout in milliseconds for poll(2) and
// epoll_wait(2), rounded up so a wait never ends early: -1 (forever) for
// d < 0.
func waitMillis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// rawRestart is restart for the raw system calls (syscall.RawSyscall6,
// which does not tell the Go scheduler): it makes the call until it fails
// with something other than EINTR. Forked children make all their calls
// this way (see child.go): they have no Go signal handlers, so no
// SA_RESTART either, and EINTR can still come from a stop and continue
// (SIGSTOP, SIGCONT) during a call with a timeout (signal(7)). So it is
// nosplit, norace and takes no closure: a child cannot allocate one.
//
// It is written to be small enough for the compiler to inline (go build
// -gcflags=-m says so, and internal/inlinecheck checks it): a flood ping
// makes two of these calls per packet, and a call less between its loop and
// the kernel shows in bench/ping.sh.
//
//go:nosplit
//go:norace
func rawRestart(trap, a1, a2, a3, a4, a5, a6 uintptr) (r uintptr, e unix.Errno) {
	e = unix.EINTR
	for e == unix.EINTR {
		r, _, e = syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	}
	return
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
// connection that went away before we took it (see AcceptRetry), so a
// server simply accepts again.
func IsAcceptRetry(err error) bool { return ClassifyAccept(err) == AcceptRetry }

// AcceptFailure is what an accept4(2) failure means for a server, decided
// here once for every accept site: the blocking models', the event loops',
// io_uring's, and (through AcceptErrnoClass) a forked prefork child's.
type AcceptFailure int

const (
	// AcceptFatal: the server must stop (EINVAL once its listening socket
	// was shut down, EBADF, ...).
	AcceptFatal AcceptFailure = iota
	// AcceptRetry: only the one connection that went away before we took
	// it (ECONNABORTED, EPROTO, and the network errors accept(2) says
	// "should be treated like EAGAIN by retrying"): accept again.
	AcceptRetry
	// AcceptNoDescriptors: the process (EMFILE) or the system (ENFILE) has
	// no descriptor left for the connection, which stays queued: shed it
	// with a spare descriptor (servers/reserve.go), or back off.
	AcceptNoDescriptors
	// AcceptNoMemory: the kernel could not allocate for the connection
	// (ENOBUFS, ENOMEM): nothing to shed, only to wait for.
	AcceptNoMemory
)

// ClassifyAccept says what an error from accept4(2) means (see
// AcceptFailure). EAGAIN on a nonblocking socket, and a stop the caller
// asked for, are the caller's to recognise first.
func ClassifyAccept(err error) AcceptFailure { return AcceptErrnoClass(Errno(err)) }

// AcceptErrnoClass is ClassifyAccept for a bare errno, as a forked child's
// ChildAccept returns it: nosplit, norace and allocation-free (see
// child.go), so ClassifyAccept is defined through it and the two cannot
// drift.
//
//go:nosplit
//go:norace
func AcceptErrnoClass(e unix.Errno) AcceptFailure {
	switch e {
	case unix.ECONNABORTED, unix.EPROTO, unix.ENETDOWN, unix.ENOPROTOOPT,
		unix.EHOSTDOWN, unix.ENONET, unix.EHOSTUNREACH, unix.EOPNOTSUPP,
		unix.ENETUNREACH:
		return AcceptRetry
	case unix.EMFILE, unix.ENFILE:
		return AcceptNoDescriptors
	case unix.ENOBUFS, unix.ENOMEM:
		return AcceptNoMemory
	}
	return AcceptFatal
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

// connectPending reports whether connect(2)'s result means the handshake
// goes on without us: EINPROGRESS on a nonblocking socket, and EINTR on any
// socket. connect is never restarted after EINTR: the kernel carries on
// with the handshake, and a second connect would fail with EALREADY; as
// POSIX says, the caller waits for the socket to become writable and reads
// the outcome from SO_ERROR.
func connectPending(err error) bool { return err == unix.EINPROGRESS || err == unix.EINTR }

// interrupted reports whether a call that is never restarted here was cut
// short by a signal handler (EINTR): clock_nanosleep, whose caller gets
// the time left and decides whether to sleep again.
func interrupted(err error) bool { return err == unix.EINTR }
