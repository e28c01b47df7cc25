package sys

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// poll, select and epoll_wait are never restarted by the kernel after a
// signal handler runs, even with SA_RESTART (signal(7)). Restarting them
// with the same timeout would stretch the wait; these wrappers restart them
// with what is left of it.

// remaining converts a deadline back to a timeout in milliseconds for the
// next try (-1 forever).
func remaining(deadline time.Time, forever bool) int {
	if forever {
		return -1
	}
	ms := time.Until(deadline).Milliseconds()
	if ms < 0 {
		return 0
	}
	return int(ms)
}

// Poll wraps poll(2). d < 0 waits forever, d == 0 does not wait. It returns
// how many entries have revents set.
func Poll(fds []unix.PollFd, d time.Duration) (int, error) {
	forever := d < 0
	var deadline time.Time // read the clock only for a wait that has an end
	ms := -1
	if !forever {
		deadline = time.Now().Add(d)
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	for {
		n, err := unix.Poll(fds, ms)
		if Tracing() {
			trace("poll", fmtPollFds(fds, false)+", "+itoa(len(fds))+", "+itoa(ms), n, err)
		}
		if err == unix.EINTR {
			ms = remaining(deadline, forever)
			continue
		}
		return n, syscallErr("poll", err)
	}
}

var pollFlags = []flagName{
	{unix.POLLIN, "POLLIN"}, {unix.POLLPRI, "POLLPRI"}, {unix.POLLOUT, "POLLOUT"},
	{unix.POLLERR, "POLLERR"}, {unix.POLLHUP, "POLLHUP"}, {unix.POLLNVAL, "POLLNVAL"},
	{unix.POLLRDHUP, "POLLRDHUP"},
}

func fmtPollFds(fds []unix.PollFd, revents bool) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range fds {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 8 {
			b.WriteString("...")
			break
		}
		b.WriteString("{fd=" + strconv.Itoa(int(p.Fd)) + ", events=" + flagNames(int(p.Events), pollFlags))
		if revents {
			b.WriteString(", revents=" + flagNames(int(p.Revents), pollFlags))
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

// FD_SETSIZE is the number of descriptors an fd_set holds (select(2)): a
// descriptor >= FD_SETSIZE cannot be watched with select at all.
const FD_SETSIZE = 1024

// Select wraps select(2) over read and write sets of descriptors below nfd
// (either set may be nil). d < 0 waits forever. On return the sets hold the
// ready descriptors. The caller must never put a descriptor >= FD_SETSIZE in
// a set (unix.FdSet.Set panics on one: in C it would overwrite the stack).
func Select(nfd int, r, w *unix.FdSet, d time.Duration) (int, error) {
	forever := d < 0
	deadline := time.Now().Add(d)
	var rin, win unix.FdSet
	if r != nil {
		rin = *r
	}
	if w != nil {
		win = *w
	}
	for {
		var tv *unix.Timeval
		if !forever {
			t := unix.NsecToTimeval(time.Until(deadline).Nanoseconds())
			if t.Sec < 0 || t.Usec < 0 {
				t = unix.Timeval{}
			}
			tv = &t
		}
		n, err := unix.Select(nfd, r, w, nil, tv)
		if Tracing() {
			timeout := "NULL"
			if tv != nil {
				timeout = "{tv_sec=" + strconv.FormatInt(tv.Sec, 10) + ", tv_usec=" + strconv.FormatInt(tv.Usec, 10) + "}"
			}
			trace("select", itoa(nfd)+", "+fmtFdSet(&rin, nfd, r != nil)+", "+fmtFdSet(&win, nfd, w != nil)+", NULL, "+timeout, n, err)
		}
		if err == unix.EINTR {
			if r != nil {
				*r = rin
			}
			if w != nil {
				*w = win
			}
			continue
		}
		return n, syscallErr("select", err)
	}
}

func fmtFdSet(s *unix.FdSet, nfd int, present bool) string {
	if !present {
		return "NULL"
	}
	var parts []string
	for fd := 0; fd < nfd && fd < FD_SETSIZE; fd++ {
		if s.IsSet(fd) {
			parts = append(parts, strconv.Itoa(fd))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// EpollCreate1 wraps epoll_create1(2), always with EPOLL_CLOEXEC.
func EpollCreate1() (int, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	trace("epoll_create1", "EPOLL_CLOEXEC", fd, err)
	return fd, syscallErr("epoll_create1", err)
}

var epollFlags = []flagName{
	{unix.EPOLLIN, "EPOLLIN"}, {unix.EPOLLPRI, "EPOLLPRI"}, {unix.EPOLLOUT, "EPOLLOUT"},
	{unix.EPOLLERR, "EPOLLERR"}, {unix.EPOLLHUP, "EPOLLHUP"}, {unix.EPOLLRDHUP, "EPOLLRDHUP"},
	{unix.EPOLLET, "EPOLLET"}, {unix.EPOLLONESHOT, "EPOLLONESHOT"}, {unix.EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"},
}

// EpollCtl wraps epoll_ctl(2); the event's data is the descriptor itself.
func EpollCtl(epfd, op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	var evp *unix.EpollEvent
	if op != unix.EPOLL_CTL_DEL {
		evp = &ev
	}
	err := unix.EpollCtl(epfd, op, fd, evp)
	if Tracing() {
		name := map[int]string{unix.EPOLL_CTL_ADD: "EPOLL_CTL_ADD", unix.EPOLL_CTL_MOD: "EPOLL_CTL_MOD", unix.EPOLL_CTL_DEL: "EPOLL_CTL_DEL"}[op]
		arg := "NULL"
		if evp != nil {
			arg = "{events=" + flagNames(int(events), epollFlags) + ", data={fd=" + itoa(fd) + "}}"
		}
		trace("epoll_ctl", itoa(epfd)+", "+name+", "+itoa(fd)+", "+arg, 0, err)
	}
	return syscallErr("epoll_ctl", err)
}

// EpollWait wraps epoll_wait(2). d < 0 waits forever.
func EpollWait(epfd int, events []unix.EpollEvent, d time.Duration) (int, error) {
	forever := d < 0
	var deadline time.Time // read the clock only for a wait that has an end
	ms := -1
	if !forever {
		deadline = time.Now().Add(d)
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	for {
		n, err := unix.EpollWait(epfd, events, ms)
		if Tracing() {
			var b strings.Builder
			b.WriteByte('[')
			for i := 0; i < n && i < 8; i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("{events=" + flagNames(int(events[i].Events), epollFlags) + ", data={fd=" + strconv.Itoa(int(events[i].Fd)) + "}}")
			}
			b.WriteByte(']')
			trace("epoll_wait", itoa(epfd)+", "+b.String()+", "+itoa(len(events))+", "+itoa(ms), n, err)
		}
		if err == unix.EINTR {
			ms = remaining(deadline, forever)
			continue
		}
		return n, syscallErr("epoll_wait", err)
	}
}
