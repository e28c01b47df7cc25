package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/servers"
	"netprog/sys"
)

// preset is one of the course's echo servers: a model with its port, reply
// prefix and quit rule.
type preset struct {
	name, model string
	port        int
	proto       servers.Protocol
	teaches     string
	watch       string
}

var presets = []preset{
	{"echo-server", "iterative", 5090, servers.Protocol{Prefix: "You Send:", Quit: true},
		"TCP echo server (iterative: one client at a time; -model picks any other design)",
		"strace -f -e trace=network,read,write ./netprog echo-server"},
	{"fork-server", "fork", 50007, servers.Protocol{Prefix: "you send:", Quit: true},
		"echo server that forks a child per client and reaps it with wait4(WNOHANG)",
		"strace -f -e trace=network,clone,wait4,exit_group ./netprog fork-server"},
	{"thread-server", "thread", 5300, servers.Protocol{Quit: true},
		"echo server with one kernel thread per client (named with prctl, see ps -L)",
		"strace -f -e trace=network,clone,clone3,prctl ./netprog thread-server"},
	{"select-server", "select", 50000, servers.Protocol{},
		"echo server multiplexing clients and stdin with select(2); a line on stdin stops it",
		"strace -f -e trace=network,select,read,write ./netprog select-server"},
}

func init() {
	for _, p := range presets {
		register(&command{name: p.name, teaches: p.teaches, watch: p.watch, setup: p.setup})
	}
}

func (p preset) setup(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, p.port)
	model := fs.String("model", p.model, "server design: "+strings.Join(servers.Models(), ", "))
	backlog := fs.Int("backlog", 0, "listen(2) backlog (0: SOMAXCONN). Past it Linux drops SYNs, which clients retry: it slows connects, it does not refuse them")
	raw := fs.Bool("raw", false, "byte-exact RFC 862 echo: no framing, no prefix, no quit")
	prefix := fs.String("prefix", p.proto.Prefix, "put before every reply")
	quiet := fs.Bool("q", false, "do not log every message")
	idle := secondsVar(fs, "idle-timeout", 0, "close a client silent for this long, 0 for never")
	maxChildren := fs.Int("max-children", 0, "fork: at most this many children at once (0: no limit)")
	workers := fs.Int("workers", 0, "prefork, passfd: children forked at start (0: 4); reuseport: event loops (0: the CPU count)")
	maxThreads := fs.Int("max-threads", 1000, "thread: at most this many client threads (Go aborts at 10000)")
	edge := fs.Bool("edge", false, "epoll: edge-triggered (EPOLLET) instead of level-triggered")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		m, ok := servers.Lookup(*model)
		if !ok {
			return usagef("unknown model %q (models: %s)", *model, strings.Join(servers.Models(), ", "))
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
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		proto := p.proto
		proto.Prefix = *prefix
		if *raw {
			proto = servers.Protocol{Raw: true}
		}
		cfg := servers.Config{
			Addr: addr, Backlog: *backlog, Proto: proto, Log: stdout, Verbose: !*quiet,
			IdleTimeout: *idle, MaxChildren: *maxChildren, Workers: *workers,
			MaxThreads: *maxThreads, Edge: *edge, Stdin: -1,
		}
		if *model == "select" {
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
		// stops cleanly removes it, so the next one can bind the path.
		sys.Unlink(cfg.Addr.Path)
	}
	if st != nil {
		fmt.Fprintf(stdout, "server stopped after %v: ", time.Since(start).Round(time.Millisecond))
		st.Summary(stdout)
	}
	return err
}
