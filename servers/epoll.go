package servers

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("epoll", Epoll) }

// Epoll serves every client from one thread with epoll(7), Linux's answer
// to the cost of select and poll. The interest list lives in the kernel:
// epoll_ctl(ADD) tells it once about each descriptor, and epoll_wait
// returns only the descriptors that are ready, so a wake-up costs in
// proportion to the work there is, not to the number of clients. The price
// is a system call whenever interest changes: here EPOLL_CTL_MOD adds
// EPOLLOUT only while a reply waits (a writable socket would otherwise
// wake the loop for nothing) and drops EPOLLIN while a client is behind in
// reading its echo (backpressure).
//
// Level-triggered (the default) reports a descriptor on every call while
// it is ready, as poll does: the loop reads once per wake-up and comes
// back. Edge-triggered (cfg.Edge, EPOLLET) reports it only when it becomes
// ready: the loop must then read, write and accept until EAGAIN, since no
// second notice will come for what it leaves behind. A MOD re-arms the
// edge, which is how a client paused for backpressure is heard again.
//
// Closing a descriptor takes it out of the interest list, so clients are
// never EPOLL_CTL_DEL'd.
func Epoll(ctx context.Context, cfg Config) (*Stats, error) {
	l, err := openLoop(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer l.close()
	epfd, err := sys.EpollCreate1()
	if err != nil {
		return l.st, err
	}
	defer sys.Close(epfd)
	var et uint32
	if cfg.Edge {
		et = unix.EPOLLET
	}
	if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_ADD, l.wake, unix.EPOLLIN); err != nil {
		return l.st, err
	}
	if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_ADD, l.lfd, unix.EPOLLIN|et); err != nil {
		return l.st, err
	}
	listening := true // EPOLLIN registered for the listening socket
	admit := func(c *eventConn) bool {
		c.events = unix.EPOLLIN | et
		if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_ADD, c.fd, c.events); err != nil {
			cfg.logf("Refused the connection from %s: %v", c.peer, err)
			return false
		}
		return true
	}
	// rearm tells the kernel what c now waits for, if that changed.
	rearm := func(c *eventConn) error {
		var want uint32
		if c.wantRead() {
			want |= unix.EPOLLIN
		}
		if c.wantWrite() {
			want |= unix.EPOLLOUT
		}
		want |= et
		if want == c.events {
			return nil
		}
		c.events = want
		return sys.EpollCtl(epfd, unix.EPOLL_CTL_MOD, c.fd, want)
	}
	l.rearm = rearm
	events := make([]unix.EpollEvent, 256)
	if cfg.started != nil {
		cfg.started()
	}
	for {
		now := time.Now()
		// Out of descriptors with no spare: stop watching the listening
		// socket for a while, since it stays readable.
		if want := l.accepting(now); want != listening {
			var ev uint32
			if want {
				ev = unix.EPOLLIN | et
			}
			if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_MOD, l.lfd, ev); err != nil {
				return l.st, err
			}
			listening = want
		}
		n, err := sys.EpollWait(epfd, events, l.timeout(now))
		if err != nil {
			return l.st, err
		}
		now = time.Now()
		acceptNow := false
		for _, ev := range events[:n] {
			switch fd := int(ev.Fd); fd {
			case l.wake:
				return l.st, nil
			case l.lfd:
				acceptNow = true
			default:
				c := l.conn(fd)
				if c == nil {
					continue // closed earlier in this batch
				}
				r := readiness{
					in:  ev.Events&unix.EPOLLIN != 0,
					out: ev.Events&unix.EPOLLOUT != 0,
					hup: ev.Events&(unix.EPOLLHUP|unix.EPOLLERR) != 0,
				}
				if l.handle(c, r, cfg.Edge, now) {
					if err := rearm(c); err != nil {
						l.drop(c, err)
					}
				}
			}
		}
		// The listening socket last: a descriptor closed in this batch and
		// reused by accept must not inherit a later event meant for it.
		if acceptNow {
			if err := l.acceptReady(now, cfg.Edge, admit); err != nil {
				return l.st, err
			}
		}
		l.sweep(now)
	}
}
