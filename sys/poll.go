package sys

import (
	"time"

	"golang.org/x/sys/unix"
)

// poll, select and epoll_wait are never restarted by the kernel after a
// signal handler runs, even with SA_RESTART (signal(7)); restartWait
// (retry.go) restarts them with what is left of their timeout.

// Poll wraps poll(2). d < 0 waits forever, d == 0 does not wait. It returns
// how many entries have revents set.
func Poll(fds []unix.PollFd, d time.Duration) (int, error) {
	n, err := restartWait(d, func(left time.Duration) (int, error) {
		ms := waitMillis(left)
		n, err := unix.Poll(fds, ms)
		tracePoll(fds, ms, n, err)
		return n, err
	})
	return n, syscallErr("poll", err)
}

// FD_SETSIZE is the number of descriptors an fd_set holds (select(2)): a
// descriptor >= FD_SETSIZE cannot be watched with select at all.
const FD_SETSIZE = 1024

// Select wraps select(2) over read and write sets of descriptors below nfd
// (either set may be nil). d < 0 waits forever. On return the sets hold the
// ready descriptors. The caller must never put a descriptor >= FD_SETSIZE in
// a set (unix.FdSet.Set panics on one: in C it would overwrite the stack).
func Select(nfd int, r, w *unix.FdSet, d time.Duration) (int, error) {
	// select overwrites the sets with the ready descriptors: a restart
	// needs them as they were given.
	var rin, win unix.FdSet
	if r != nil {
		rin = *r
	}
	if w != nil {
		win = *w
	}
	n, err := restartWait(d, func(left time.Duration) (int, error) {
		if r != nil {
			*r = rin
		}
		if w != nil {
			*w = win
		}
		var tv *unix.Timeval
		if left >= 0 {
			t := unix.NsecToTimeval(left.Nanoseconds())
			tv = &t
		}
		n, err := unix.Select(nfd, r, w, nil, tv)
		traceSelect(nfd, &rin, &win, r != nil, w != nil, tv, n, err)
		return n, err
	})
	return n, syscallErr("select", err)
}

// EpollCreate1 wraps epoll_create1(2), always with EPOLL_CLOEXEC.
func EpollCreate1() (int, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	trace("epoll_create1", "EPOLL_CLOEXEC", fd, err)
	return fd, syscallErr("epoll_create1", err)
}

// EpollCtl wraps epoll_ctl(2); the event's data is the descriptor itself.
func EpollCtl(epfd, op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	var evp *unix.EpollEvent
	if op != unix.EPOLL_CTL_DEL {
		evp = &ev
	}
	err := unix.EpollCtl(epfd, op, fd, evp)
	traceEpollCtl(epfd, op, fd, evp, err)
	return syscallErr("epoll_ctl", err)
}

// EpollWait wraps epoll_wait(2). d < 0 waits forever.
func EpollWait(epfd int, events []unix.EpollEvent, d time.Duration) (int, error) {
	n, err := restartWait(d, func(left time.Duration) (int, error) {
		ms := waitMillis(left)
		n, err := unix.EpollWait(epfd, events, ms)
		traceEpollWait(epfd, events, ms, n, err)
		return n, err
	})
	return n, syscallErr("epoll_wait", err)
}
