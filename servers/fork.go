package servers

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("fork", Fork) }

// Fork is the course's forking echo server (fork-server): the parent
// accepts, forks a child per client with a real fork(2) (sys.Fork: clone3,
// or clone, with SIGCHLD for exit signal and no CLONE_VM), closes its copy
// of the client socket and goes back to accept; the child closes its copy of the listening socket and serves the
// client alone, then exits. Each client gets a process: its own memory, its
// own crash, its own CPU time in getrusage(RUSAGE_CHILDREN).
//
// Why each side closes its copy: after fork both processes hold both
// sockets, and a socket is freed only when its last descriptor is closed. A
// parent that kept client sockets would run out of descriptors, and its
// clients would never see end of file when the child closes; a child that
// kept the listening socket would keep the port open after the server
// stopped.
//
// The parent sleeps in one poll(2) over the listening socket and a pidfd
// per child (children.go says why not SIGCHLD): a readable listening
// socket is a connection to accept, a readable pidfd a child to reap with
// wait4(PID), printing "Reaped child process: PID". cfg.MaxChildren bounds
// the children running at once: while they are that many the parent stops
// asking poll about the listening socket, and new connections wait in the
// listen queue. cfg.IdleTimeout is set on the client socket (SO_RCVTIMEO
// and SO_SNDTIMEO) before the fork. On stop (a goroutine shuts the
// listening socket down, which ends the poll) the children get SIGTERM and
// are reaped.
//
// The child runs the allocation-free loop of forkchild.go; it does not log
// (formatting text needs the runtime it cannot use): watch it with
// strace -f.
func Fork(ctx context.Context, cfg Config) (*Stats, error) {
	if err := checkChildProto(cfg.Proto); err != nil {
		return nil, err
	}
	flushLog := holdLog(&cfg) // one write per wake-up, safe for any goroutine (log.go)
	defer flushLog()
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	defer sys.Close(lfd)
	defer stopOnCancel(ctx, lfd)()

	st := &Stats{}
	slots := 1 << 16
	if cfg.MaxChildren > 0 {
		slots = cfg.MaxChildren
	}
	kids, err := newChildren(&cfg, st, slots)
	if err != nil {
		return nil, err
	}
	defer kids.stop()

	var pausedUntil time.Time // not accepting: fork failed
	fds := make([]unix.PollFd, 0, 64)
	for ctx.Err() == nil {
		now := time.Now()
		room := cfg.MaxChildren == 0 || kids.count() < cfg.MaxChildren
		accepting := room && !now.Before(pausedUntil)
		// The listening socket stays in the set when not accepting, with no
		// events: poll still reports its POLLHUP, which is how the stop
		// (shutdown) ends the wait.
		var events int16
		if accepting {
			events = unix.POLLIN
		}
		fds = append(fds[:0], unix.PollFd{Fd: int32(lfd), Events: events})
		fds = kids.pollFds(fds)
		timeout := kids.timeout()
		if room && now.Before(pausedUntil) {
			if d := pausedUntil.Sub(now); timeout < 0 || d < timeout {
				timeout = d
			}
		}
		flushLog()
		if _, err := sys.Poll(fds, timeout); err != nil {
			return st, err
		}
		kids.reapPolled(fds[1:])
		if !accepting || fds[0].Revents == 0 || ctx.Err() != nil {
			continue
		}
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil {
			return st, err
		}
		if fd < 0 {
			continue
		}
		cfg.logAddr("Received the connection from: ", peer)
		if cfg.IdleTimeout > 0 {
			sys.SetRecvTimeout(fd, cfg.IdleTimeout)
			// A client that never reads blocks the child's send once the
			// buffers are full: SO_SNDTIMEO bounds that wait too.
			sys.SetSendTimeout(fd, cfg.IdleTimeout)
		}
		pid, err := kids.spawn(forkChild, func() {
			childArgs.lfd, childArgs.cfd = lfd, fd
			setChildProto(cfg.Proto)
		})
		sys.Close(fd) // the child has its own copy
		if err != nil {
			// EAGAIN: too many processes (RLIMIT_NPROC); ENOMEM. The
			// client sees its connection closed; try again later.
			st.Refused.Add(1)
			cfg.logf("Cannot fork for %s: %v: connection closed", peer, err)
			pausedUntil = time.Now().Add(acceptBackoff)
			continue
		}
		cfg.logPid("Forked child process: ", pid, "")
	}
	return st, nil
}
