package servers

import (
	"context"

	"netprog/sys"
)

func init() { register("fork", Fork) }

// Fork is the course's forking echo server (fork-server): the parent
// accepts, forks a child per client with a real fork(2) (sys.Fork: clone with
// SIGCHLD only), closes its copy of the client socket and goes back to
// accept; the child closes its copy of the listening socket and serves the
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
// The parent reaps with wait4(-1, WNOHANG) after each accept and on SIGCHLD
// (children.go), printing "Reaped child process: PID". cfg.MaxChildren bounds
// the children running at once: the parent stops accepting until one ends,
// and new connections wait in the listen queue. cfg.IdleTimeout is set on the
// client socket (SO_RCVTIMEO and SO_SNDTIMEO) before the fork. On stop the
// children get SIGTERM and are reaped.
//
// The child runs the allocation-free loop of forkchild.go; it does not log
// (formatting text needs the runtime it cannot use): watch it with
// strace -f.
func Fork(ctx context.Context, cfg Config) (*Stats, error) {
	if err := checkChildProto(cfg.Proto); err != nil {
		return nil, err
	}
	serializeLog(&cfg)
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

	for ctx.Err() == nil {
		if !kids.waitRoom(ctx, cfg.MaxChildren) {
			break
		}
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil {
			return st, err
		}
		if fd < 0 {
			continue
		}
		reapChildren()
		cfg.logf("Received the connection from: %s", peer)
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
			pause(ctx, acceptBackoff)
			continue
		}
		cfg.logf("Forked child process: %d", pid)
	}
	return st, nil
}
