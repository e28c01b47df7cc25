package servers

import (
	"context"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The blocking accept the iterative, greet, chat, fork and thread models
// share: one goroutine blocked in accept(2) on a blocking listening socket.

// stopOnCancel wakes a server blocked in accept(2) when ctx ends:
// shutdown(SHUT_RD) on a listening socket makes a blocked accept return
// EINVAL at once, where close(2) from another thread would not wake it (and
// would free the number for reuse under it). The returned func releases the
// watcher.
func stopOnCancel(ctx context.Context, lfd int) (release func()) {
	return sys.OnCancel(ctx, func() { sys.Shutdown(lfd, unix.SHUT_RD) })
}

// accept takes the next connection for a blocking model. It returns fd -1
// with no error for a connection to skip (it died in the queue, or was shed
// because the process ran out of descriptors) and an error only when the
// server must stop; a stop (ctx cancelled, listening socket shut down) is a
// nil error with fd -1 and ctx.Err() set. What each failure means is
// sys.ClassifyAccept's to say.
func accept(ctx context.Context, cfg *Config, st *Stats, lfd int) (int, sys.Addr, error) {
	fd, peer, err := sys.Accept4(lfd, 0)
	if err == nil {
		st.Conns.Add(1)
		return fd, peer, nil
	}
	if ctx.Err() != nil {
		return -1, sys.Addr{}, nil
	}
	switch sys.ClassifyAccept(err) {
	case sys.AcceptRetry:
	case sys.AcceptNoDescriptors:
		shedBlocking(ctx, cfg, st, lfd, err)
	case sys.AcceptNoMemory:
		cfg.logf("accept: %v: not accepting for %v", err, acceptBackoff)
		pause(ctx, acceptBackoff)
	default:
		return -1, sys.Addr{}, err
	}
	return -1, sys.Addr{}, nil
}
