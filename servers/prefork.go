package servers

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("prefork", Prefork) }

// Prefork is UNP's serv02: the parent opens the listening socket and forks
// cfg.Workers children at start (default 4); each child blocks in accept(2)
// on the shared socket and serves clients one after another. The kernel
// wakes one blocked acceptor per connection (the wait is exclusive), so
// there is no thundering herd. The fork is paid once per worker instead of
// once per client; the price is a fixed pool: with every worker busy, new
// clients wait in the listen queue.
//
// Each child first closes every descriptor but the listening socket and the
// standard three (close_range(2)): it inherited the parent's runtime
// descriptors and anything else open at the time of the fork. The parent
// only watches, asleep in one poll(2) over a pidfd per worker and the
// eventfd a goroutine writes on stop (children.go says why not SIGCHLD):
// it reaps workers that die (a crash, a kill) and forks replacements,
// slowing down when workers die faster than one set of workers per second,
// so a worker that dies at start cannot make it fork in a loop. On stop it
// ends the workers with SIGTERM and reaps them.
//
// Connections and bytes are counted by the children in memory shared with
// the parent (sys.MapShared) and summed when each child is reaped.
func Prefork(ctx context.Context, cfg Config) (*Stats, error) {
	if err := checkChildProto(cfg.Proto); err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers < 1 {
		workers = 4
	}
	serializeLog(&cfg)
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	defer sys.Close(lfd)
	wake, err := sys.Eventfd(unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	defer sys.Close(wake)
	defer sys.OnCancel(ctx, func() { sys.EventfdSignal(wake) })()

	st := &Stats{}
	kids, err := newChildren(&cfg, st, workers)
	if err != nil {
		return nil, err
	}
	kids.workers = true
	defer kids.stop()

	args := func() {
		childArgs.lfd, childArgs.cfd = lfd, -1
		childArgs.idle = unix.NsecToTimeval(cfg.IdleTimeout.Nanoseconds())
		setChildProto(cfg.Proto)
	}
	brake := forkBrake{size: workers}
	fds := make([]unix.PollFd, 0, workers+1)
	for {
		now := time.Now()
		for !brake.on(now) && ctx.Err() == nil && kids.count() < workers {
			pid, err := kids.spawn(preforkChild, args)
			if err != nil {
				brake.forkFailed(&cfg, now, err)
				break
			}
			cfg.logf("Forked worker process: %d", pid)
		}
		fds = append(fds[:0], unix.PollFd{Fd: int32(wake), Events: unix.POLLIN})
		fds = kids.pollFds(fds)
		timeout := kids.timeout()
		if brake.on(now) && kids.count() < workers {
			if d := brake.until.Sub(now); timeout < 0 || d < timeout {
				timeout = d
			}
		}
		if _, err := sys.Poll(fds, timeout); err != nil {
			return st, err
		}
		if fds[0].Revents != 0 || ctx.Err() != nil {
			return st, nil
		}
		for n := kids.reapPolled(fds[1:]); n > 0; n-- {
			brake.died(&cfg, time.Now())
		}
	}
}
