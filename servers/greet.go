package servers

import (
	"context"

	"netprog/sys"
)

// Greeting is what the greet server says to every client, in the course's
// words (the space before the newline is the course's too).
const Greeting = "Thank you for Connecting \n"

// Greet is the course's first server: accept a connection, send the
// greeting, close it, accept the next. It reads nothing, so it works with
// any client: telnet, nc, or greet-client. Each connection is over before the
// next accept, so one process serves everyone in turn.
func Greet(ctx context.Context, cfg Config) (*Stats, error) {
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	defer sys.Close(lfd)
	defer stopOnCancel(ctx, lfd)()

	st := &Stats{greets: true}
	for ctx.Err() == nil {
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil {
			return st, err
		}
		if fd < 0 {
			continue
		}
		cfg.logf("Got the connection from %s", peer)
		// A client that vanished already gets EPIPE or ECONNRESET here
		// (never SIGPIPE: Send asks for MSG_NOSIGNAL); it is logged and the
		// server goes on.
		if n, err := sys.Send(fd, []byte(Greeting), 0); err != nil {
			cfg.logf("Client %s: %v", peer, err)
		} else {
			st.Greetings.Add(1)
			st.Bytes.Add(int64(n))
		}
		sys.Close(fd)
	}
	return st, nil
}
