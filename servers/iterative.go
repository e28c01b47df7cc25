package servers

import (
	"context"

	"netprog/sys"
)

func init() { register("iterative", Iterative) }

// Iterative is the course's first echo server: accept one client, talk to it
// until it quits, then accept the next. While one client is served, the
// others wait in the listen queue (their connects have completed: the kernel
// finished the handshake for them), which is why the later models exist.
func Iterative(ctx context.Context, cfg Config) (*Stats, error) {
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	defer sys.Close(lfd)
	defer stopOnCancel(ctx, lfd)()
	var conns connSet
	defer conns.watch(ctx)()

	st := &Stats{}
	for ctx.Err() == nil {
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil {
			return st, err
		}
		if fd < 0 {
			continue
		}
		cfg.logf("Received the connection from: %s", peer)
		conns.add(fd)
		converse(&cfg, st, newBlockingStream(fd, cfg.IdleTimeout), peer)
		conns.remove(fd)
		sys.Close(fd)
	}
	return st, nil
}

// accept takes the next connection for a blocking model. It returns fd -1
// with no error for a connection to skip (it died in the queue, or was shed
// because the process ran out of descriptors) and an error only when the
// server must stop; a stop (ctx cancelled, listening socket shut down) is a
// nil error with fd -1 and ctx.Err() set.
func accept(ctx context.Context, cfg *Config, st *Stats, lfd int) (int, sys.Addr, error) {
	fd, peer, err := sys.Accept4(lfd, 0)
	switch {
	case err == nil:
		st.Conns.Add(1)
		return fd, peer, nil
	case ctx.Err() != nil:
		return -1, sys.Addr{}, nil
	case sys.IsAcceptRetry(err):
		return -1, sys.Addr{}, nil
	case outOfDescriptors(err):
		shedBlocking(ctx, cfg, st, lfd, err)
		return -1, sys.Addr{}, nil
	case outOfMemory(err):
		cfg.logf("accept: %v: not accepting for %v", err, acceptBackoff)
		pause(ctx, acceptBackoff)
		return -1, sys.Addr{}, nil
	}
	return -1, sys.Addr{}, err
}
