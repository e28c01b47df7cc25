package servers

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

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

// Model is one way of serving: it listens on cfg.Addr, serves until ctx is
// cancelled (or the model's own stop condition), and returns what it did.
type Model func(ctx context.Context, cfg Config) (*Stats, error)

var models = map[string]Model{}

// register is called from each model's file.
func register(name string, m Model) { models[name] = m }

// Lookup returns the model with that name.
func Lookup(name string) (Model, bool) {
	m, ok := models[name]
	return m, ok
}

// Models lists the model names, sorted.
func Models() []string {
	var names []string
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Stats is what a server counts while it runs; safe for concurrent use.
type Stats struct {
	Conns    atomic.Int64 // connections accepted and served
	Bytes    atomic.Int64 // bytes echoed back (the greet server: bytes of greetings sent)
	Refused  atomic.Int64 // connections shed (fd limit, FD_SETSIZE, max threads)
	Children atomic.Int64 // child processes reaped

	// PerWorker is, for models with several acceptors (reuseport), the
	// connections each one accepted: how the kernel spread them. Set once
	// the model has returned.
	PerWorker []int64

	// Ring is, for the uring model, how its ring was used. Set once the
	// model has returned.
	Ring *RingStats

	// Greetings counts the greetings the greet server sent; greets marks
	// its Stats, whose summary speaks of greetings, not echoes.
	Greetings atomic.Int64
	greets    bool
}

// RingStats counts a uring server's io_uring_enter calls and the
// completions they brought: completions per call is what io_uring is for.
type RingStats struct {
	Enters      int64 // io_uring_enter calls
	Completions int64 // completions handled
	BatchWaits  int64 // calls that waited for a batch of completions
}

// logf prints one line of the server's log.
func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

func (c *Config) backlog() int {
	if c.Backlog > 0 {
		return c.Backlog
	}
	return unix.SOMAXCONN
}

// listen opens the listening socket and announces it: "listening on
// 127.0.0.1:41235", with the port getsockname(2) reports, so that -port 0
// can be used by people and tests.
func (c *Config) listen() (int, error) {
	// Before anyone can connect: the spare descriptor and the runtime's
	// poller, which a server at its descriptor limit cannot get (reserve.go).
	spare.Hold()
	if c.listener != nil {
		return c.listener()
	}
	fd, bound, err := sys.Listener(c.Addr, c.backlog(), false)
	if err != nil {
		return -1, err
	}
	c.announce(bound)
	return fd, nil
}

func (c *Config) announce(bound sys.Addr) {
	c.logf("listening on %s", bound)
	if c.Ready != nil {
		c.Ready(bound)
	}
}

// Summary prints what the server did and what it cost: connections, bytes,
// and CPU time (user and system) of the server and of its reaped children
// from getrusage(2), the figures UNP's servers print on SIGINT.
func (s *Stats) Summary(w io.Writer) {
	self, _ := sys.Getrusage(unix.RUSAGE_SELF)
	kids, _ := sys.Getrusage(unix.RUSAGE_CHILDREN)
	fmt.Fprintf(w, "served %s", count(s.Conns.Load(), "connection", "connections"))
	if s.greets {
		fmt.Fprintf(w, ", sent %s (%s)", count(s.Greetings.Load(), "greeting", "greetings"), count(s.Bytes.Load(), "byte", "bytes"))
	} else {
		fmt.Fprintf(w, ", echoed %s", count(s.Bytes.Load(), "byte", "bytes"))
	}
	if r := s.Refused.Load(); r > 0 {
		fmt.Fprintf(w, ", refused %d", r)
	}
	if c := s.Children.Load(); c > 0 {
		fmt.Fprintf(w, ", reaped %s", count(c, "child", "children"))
	}
	if len(s.PerWorker) > 0 {
		fmt.Fprintf(w, "\nconnections per worker: %s", strings.Trim(fmt.Sprint(s.PerWorker), "[]"))
	}
	if r := s.Ring; r != nil && r.Enters > 0 {
		fmt.Fprintf(w, "\nio_uring: %s from %s (%.1f each), %s",
			count(r.Completions, "completion", "completions"), count(r.Enters, "io_uring_enter call", "io_uring_enter calls"),
			float64(r.Completions)/float64(r.Enters), count(r.BatchWaits, "of them a batch wait", "of them batch waits"))
	}
	fmt.Fprintf(w, "\nCPU time: user %.3fs sys %.3fs; children: user %.3fs sys %.3fs\n",
		tvSec(self.Utime), tvSec(self.Stime), tvSec(kids.Utime), tvSec(kids.Stime))
}

// count renders n with its noun: "1 connection", "2 connections", "0
// connections".
func count[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func tvSec(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// stopOnCancel wakes a server blocked in accept(2) when ctx ends:
// shutdown(SHUT_RD) on a listening socket makes a blocked accept return
// EINVAL at once, where close(2) from another thread would not wake it (and
// would free the number for reuse under it). The returned func releases the
// watcher.
func stopOnCancel(ctx context.Context, lfd int) (release func()) {
	return onCancel(ctx, func() { sys.Shutdown(lfd, unix.SHUT_RD) })
}

// onCancel runs f once when ctx ends, on a goroutine of its own. The
// returned release ends the watch and waits for that goroutine: once it
// returns, f is not running and never will, so the caller may close the
// descriptors f would have touched without f reaching a number the kernel
// has since given to someone else.
func onCancel(ctx context.Context, f func()) (release func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			f()
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
