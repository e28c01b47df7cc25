package servers

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("poll", Poll) }

// Poll serves every client from one thread with poll(2), select's
// successor: instead of fixed-size bitmaps it takes an array of pollfd
// structures (descriptor, events wanted, events returned), so there is no
// FD_SETSIZE limit (only RLIMIT_NOFILE) and the array grows with the
// clients. The events wanted and returned are separate fields, so the
// array need not be rebuilt after each call; here it is refilled each
// round anyway, since what each client wants (POLLIN unless it is behind in
// reading its echo, POLLOUT only while a reply waits) changes as it is
// served. Like select, every call hands the kernel the whole array and the
// kernel looks at every entry: the cost grows with the number of clients,
// busy or not, which is what epoll fixes.
//
// poll also says why a descriptor is ready: POLLHUP and POLLERR are
// reported whatever events were asked for, even none. A client the loop has
// stopped reading (backpressure) whose peer then resets comes back with
// POLLERR|POLLHUP on every call until it is closed: ignoring them would be
// a busy loop. Here they close the client.
func Poll(ctx context.Context, cfg Config) (*Stats, error) {
	l, err := openLoop(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer l.close()
	admit := func(*eventConn) bool { return true }
	var fds []unix.PollFd // grows with the clients, never shrinks
	var who []*eventConn  // who[i] is the client of fds[base+i]
	for {
		now := time.Now()
		fds = append(fds[:0], unix.PollFd{Fd: int32(l.wake), Events: unix.POLLIN})
		lidx := -1
		if l.accepting(now) {
			lidx = len(fds)
			fds = append(fds, unix.PollFd{Fd: int32(l.lfd), Events: unix.POLLIN})
		}
		base := len(fds)
		who = who[:0]
		for _, c := range l.clients {
			if c == nil {
				continue
			}
			var ev int16
			if c.wantRead() {
				ev |= unix.POLLIN
			}
			if c.wantWrite() {
				ev |= unix.POLLOUT
			}
			fds = append(fds, unix.PollFd{Fd: int32(c.fd), Events: ev})
			who = append(who, c)
		}
		if _, err := sys.Poll(fds, l.timeout(now)); err != nil {
			return l.st, err
		}
		now = time.Now()
		if fds[0].Revents != 0 {
			return l.st, nil
		}
		// Clients first, the listening socket last: a descriptor closed in
		// this round and reused by accept must not inherit its readiness.
		for i, c := range who {
			re := fds[base+i].Revents
			if re == 0 {
				continue
			}
			l.handle(c, readiness{
				in:  re&unix.POLLIN != 0,
				out: re&unix.POLLOUT != 0,
				hup: re&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0,
			}, false, now)
		}
		if lidx >= 0 && fds[lidx].Revents != 0 {
			if err := l.acceptReady(now, false, admit); err != nil {
				return l.st, err
			}
		}
		l.sweep(now)
	}
}
