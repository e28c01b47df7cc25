package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/servers"
	"netprog/sys"
)

// preset is one of the course's echo servers: a model with its port, reply
// prefix and quit rule. echo-server lets -model pick any design and offers
// every design's flags; the others are their model, and offer only the
// flags it reads.
type preset struct {
	name, model string
	port        int
	proto       protocol.Echo
	teaches     string
	more        string // for netprog help COMMAND
	watch       string
	pick        bool // -model picks the design (echo-server)
	stdin       bool // a line or end of file on stdin stops it (select-server, as in the notes)
}

var presets = []preset{
	{name: "echo-server", model: "iterative", port: 5090, proto: protocol.Echo{Prefix: "You Send:", Quit: true},
		teaches: "TCP echo server (iterative: one client at a time; -model picks any other design)",
		watch:   "strace -f -yy -e trace=%network,read,write,close ./netprog echo-server",
		pick:    true},
	{name: "fork-server", model: "fork", port: 50007, proto: protocol.Echo{Prefix: "you send:", Quit: true},
		teaches: "echo server that forks a child per client and reaps it with wait4 when its pidfd says it exited",
		more:    "The other designs with processes: echo-server -model prefork, echo-server -model passfd.",
		watch: "strace -f -yy -e trace=%network,ppoll,clone3,pidfd_open,close,close_range,read,wait4,exit_group ./netprog fork-server\n" +
			"ps -o pid,ppid,stat,cmd --ppid $(pgrep -o -x netprog)   (its children)"},
	{name: "thread-server", model: "thread", port: 5300, proto: protocol.Echo{Quit: true},
		teaches: "echo server with one kernel thread per client (named with prctl, see ps -L)",
		watch: "strace -f -yy -e trace=%network,clone,clone3,prctl,read,exit ./netprog thread-server\n" +
			"ps -L -o pid,lwp,comm -p $(pgrep -o -x netprog)   (its threads)"},
	{name: "select-server", model: "select", port: 50000, proto: protocol.Echo{},
		teaches: "echo server multiplexing clients and stdin with select(2); a line or end of file on stdin stops it",
		more: "A line on standard input, or its end of file, stops it, as in the notes: started\n" +
			"with stdin closed (in the background of a script, with nohup, </dev/null) it\n" +
			"stops at once. To script it, keep its stdin open:\n" +
			"  sleep infinity | netprog select-server &    (kill %1 then stops both)\n" +
			"or run the same design as a service that does not read stdin:\n" +
			"  netprog echo-server -model select",
		watch: "strace -yy -e trace=pselect6,accept4,read,sendto ./netprog select-server",
		stdin: true},
}

func init() {
	for _, p := range presets {
		register(&command{name: p.name, teaches: p.teaches, more: p.more, watch: p.watch, setup: p.setup})
	}
}

// modelFlags are the flags that only some models read.
var modelFlags = map[string][]string{
	"max-children": {"fork"},
	"workers":      {"prefork", "passfd", "reuseport"},
	"max-threads":  {"thread"},
	"edge":         {"epoll", "reuseport"},
}

// offers reports whether the preset has the flag: echo-server has them all.
func (p preset) offers(flag string) bool {
	return p.pick || slices.Contains(modelFlags[flag], p.model)
}

// only is how a model flag's help begins: which models read it, where the
// model is picked ("fork: "); nothing where the preset is that model.
func (p preset) only(flag string) string {
	if !p.pick {
		return ""
	}
	return strings.Join(modelFlags[flag], ", ") + ": "
}

func (p preset) setup(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, p.port)
	model := p.model
	if p.pick {
		fs.StringVar(&model, "model", p.model, "server design: "+strings.Join(servers.Models(), ", "))
	}
	backlog := fs.Int("backlog", 0, "listen(2) backlog (0: SOMAXCONN). Past it Linux drops SYNs, which clients retry: it slows connects, it does not refuse them")
	raw := fs.Bool("raw", false, "byte-exact RFC 862 echo: no framing, no prefix, no quit")
	prefix := fs.String("prefix", p.proto.Prefix, "put before every reply")
	quiet := fs.Bool("q", false, "do not log every message")
	idle := secondsVar(fs, "idle-timeout", 0, "close a client silent this long (0: never)")
	maxChildren, workers, maxThreads, edge := new(int), new(int), new(int), new(bool)
	*maxThreads = 1000
	if p.offers("max-children") {
		fs.IntVar(maxChildren, "max-children", 0, p.only("max-children")+"at most this many children at once (0: no limit)")
	}
	if p.offers("workers") {
		fs.IntVar(workers, "workers", 0, "prefork, passfd: children forked at start (0: 4); reuseport: event loops (0: the CPU count); at most 1024, less where RLIMIT_NPROC or RLIMIT_NOFILE hold fewer")
	}
	if p.offers("max-threads") {
		fs.IntVar(maxThreads, "max-threads", 1000, p.only("max-threads")+"at most this many client threads (Go aborts at 10000)")
	}
	if p.offers("edge") {
		fs.BoolVar(edge, "edge", false, p.only("edge")+"edge-triggered (EPOLLET) instead of level-triggered")
	}
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		m, ok := servers.Lookup(model)
		if !ok {
			return usagef("unknown model %q (models: %s)", model, strings.Join(servers.Models(), ", "))
		}
		for _, f := range []struct {
			name string
			bad  bool
			want string
		}{
			{"backlog", *backlog < 0, ">= 0"},
			{"max-children", *maxChildren < 0, ">= 0"},
			{"workers", *workers < 0, ">= 0"},
			// Go aborts the whole process past 10,000 OS threads
			// (runtime/debug.SetMaxThreads); keep clear of it.
			{"max-threads", *maxThreads < 1 || *maxThreads > 9000, "from 1 to 9000"},
		} {
			if f.bad {
				return usagef("-%s %s: want a value %s", f.name, fs.Lookup(f.name).Value, f.want)
			}
		}
		if *workers > 0 {
			most, why, err := servers.MaxWorkers(model)
			if err != nil {
				return err
			}
			if most >= 0 && *workers > most { // -1: the model has no workers
				return usagef("-workers %d: %s takes at most %d here (%s)", *workers, model, most, why)
			}
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		proto := p.proto
		proto.Prefix = *prefix
		if *raw {
			proto = protocol.Echo{Raw: true}
		}
		cfg := servers.Config{
			Addr: addr, Backlog: *backlog, Proto: proto, Log: stdout, Verbose: !*quiet,
			IdleTimeout: *idle, MaxChildren: *maxChildren, Workers: *workers,
			MaxThreads: *maxThreads, Edge: *edge, Stdin: -1,
		}
		if p.stdin {
			// Only the notes' select server: every other server, and
			// echo-server -model select, is a service that runs on
			// whatever its stdin is (/dev/null in the background).
			cfg.Stdin = 0
		}
		return serve(m, cfg)
	}
}

// serve runs a model until SIGINT or SIGTERM, then prints its summary.
// SIGHUP is ignored, so a server started from a terminal outlives it when
// run with nohup-like intent; stop it with Ctrl-C or kill.
func serve(m servers.Model, cfg servers.Config) error {
	ctx, stop := interruptible()
	defer stop()
	start := time.Now()
	st, err := m(ctx, cfg)
	if cfg.Addr.Family == unix.AF_UNIX && err == nil {
		// The socket file outlives the socket (unix(7)): a server that
		// stops cleanly removes it, so the next one can bind the path;
		// but only if it is still ours (sys.UnlinkBound).
		removed, uerr := sys.UnlinkBound(cfg.Addr.Path)
		switch {
		case errors.Is(uerr, unix.ENOENT):
			fmt.Fprintf(stdout, "%s was already removed\n", cfg.Addr.Path)
		case uerr != nil:
			fmt.Fprintf(stdout, "%s left in place: %v\n", cfg.Addr.Path, uerr)
		case !removed:
			fmt.Fprintf(stdout, "%s left in place: it is no longer the socket this server made (another file or server is there now)\n", cfg.Addr.Path)
		}
	}
	if st != nil {
		fmt.Fprintf(stdout, "server stopped after %v: ", time.Since(start).Round(time.Millisecond))
		st.Summary(stdout)
	}
	return err
}
