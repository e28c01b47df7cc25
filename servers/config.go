package servers

import (
	"io"
	"time"

	"netprog/internal/protocol"
	"netprog/sys"
)

// Config is what every model takes.
type Config struct {
	Addr        sys.Addr      // where to listen: IPv4, IPv6 or unix:/path
	Backlog     int           // listen(2) backlog; 0 means SOMAXCONN
	Proto       protocol.Echo // what to say back
	Log         io.Writer     // the server's own lines ("listening on ...")
	Verbose     bool          // log every message, as the course's servers do
	IdleTimeout time.Duration // close a client silent this long (0: never)

	MaxChildren int  // fork: at most this many children at once (0: no limit)
	Workers     int  // prefork, passfd: how many children (0: 4); reuseport: event loops (0: the CPU count)
	MaxThreads  int  // thread: at most this many client threads
	Edge        bool // epoll: edge-triggered instead of level-triggered
	// Stdin is, for the select model, a descriptor whose line or end of
	// file stops the server, as the notes' select server does (-1: none,
	// a service like every other model). 0 is standard input: the zero
	// Config watches it.
	Stdin int

	// Ready, if set, is called with the bound address once the server
	// listens, before it accepts (tests use it with port 0).
	Ready func(sys.Addr)

	// listener, if set, replaces listen's socket, bind and listen: it
	// returns a listening socket opened beforehand, without announcing it
	// (the reuseport model runs one epoll loop per socket it opened).
	listener func() (int, error)
	// started, if set, is called by the epoll model once it is set up,
	// before its first wait: the reuseport model lets no worker accept
	// until every worker has its descriptors.
	started func()
}
