package servers

import (
	"context"

	"netprog/internal/protocol"
	"netprog/sys"
)

// ChatServer is the course's chat server: accept one client, chat with it
// until one side quits, then accept the next; others wait in the listen
// queue meanwhile. It returns when ctx ends, or when its user's input ends
// (no one is left to type).
func ChatServer(ctx context.Context, cfg Config, chat *protocol.Chat) error {
	lfd, err := cfg.listen()
	if err != nil {
		return err
	}
	defer sys.Close(lfd)
	defer stopOnCancel(ctx, lfd)()
	var conns connSet
	defer conns.watch(ctx)()

	st := &Stats{}
	for ctx.Err() == nil {
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil {
			return err
		}
		if fd < 0 {
			continue
		}
		cfg.logf("I got a connection from %s", peer)
		conns.add(fd)
		if ctx.Err() != nil { // stopped before the watcher could see fd
			conns.remove(fd)
			sys.Close(fd)
			break
		}
		end, err := chat.Talk(ctx, fd, peer, true)
		conns.remove(fd)
		sys.Close(fd)
		if err != nil {
			cfg.logf("Client %s: %v", peer, err)
		}
		if end == protocol.ChatInputClosed {
			return nil
		}
	}
	return nil
}
