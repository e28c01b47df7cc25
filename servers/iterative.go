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
