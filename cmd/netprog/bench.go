package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"netprog/clients"
	"netprog/sys"
)

func init() {
	register(&command{
		name:    "bench",
		teaches: "load generator: many connections from one thread with epoll; requests/s, latency percentiles, verified bytes",
		args:    "[ADDR]",
		watch: "strace -c -f ./netprog bench -conns 100 -duration 2s 127.0.0.1:5090   (about 1 write, 1 read and a share of\n" +
			"an epoll_wait per request; run the server with -raw: the echo must be byte-exact)",
		setup: setupBench,
	})
}

func setupBench(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, 5090)
	workload := fs.String("workload", clients.WorkloadEcho, "echo: persistent connections, send -size bytes, wait for all of them back, repeat;\n"+
		"connect: connect, send, read the echo, close, again (what a forking server pays for)")
	conns := fs.Int("conns", 10, "connections (echo) or concurrent workers (connect)")
	threads := fs.Int("threads", 1, "generator threads, each with its own epoll and a share of -conns\n"+
		"(connect: one thread's socket, connect and close can be the limit)")
	size := fs.Int("size", 64, "bytes per request")
	duration := secondsVar(fs, "duration", 5*time.Second, "how long to measure")
	requests := fs.Int64("requests", 0, "measure this many requests instead of -duration")
	warmup := secondsVar(fs, "warmup", time.Second, "before measuring, wait at most this long for every connection to finish one request")
	stall := secondsVar(fs, "stall", 10*time.Second, "give up when no request finishes for this long")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	return func(args []string) error {
		if len(args) > 1 {
			return usagef("unexpected argument %q", args[1])
		}
		var addr sys.Addr
		var err error
		if len(args) == 1 {
			fam, ferr := af.family()
			if ferr != nil {
				return ferr
			}
			addr, err = sys.ResolveAddr(args[0], fam)
			err = usageIfAddrError(err)
		} else {
			addr, err = af.resolve()
		}
		if err != nil {
			return err
		}
		if addr.Family != syscall.AF_UNIX && addr.Port == 0 {
			return usagef("the server's port cannot be 0")
		}
		if *requests < 0 {
			return usagef("-requests cannot be negative")
		}
		dur := *duration
		if *requests > 0 {
			dur = 0
		}
		cfg := clients.BenchConfig{
			Addr: addr, Workload: *workload, Conns: *conns, Size: *size, Threads: *threads,
			Duration: dur, Requests: *requests, Warmup: *warmup, Stall: *stall,
		}
		if sys.IsTerminal(2) {
			cfg.Progress = os.Stderr
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		r, err := clients.Bench(ctx, cfg)
		var ce clients.ConfigError
		switch {
		case errors.As(err, &ce):
			return usagef("%v", err)
		case errors.Is(err, clients.ErrStalled):
			fmt.Fprintf(os.Stderr, "netprog bench: %v\n", err)
			return &exitError{1}
		case err != nil:
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else {
			r.WriteText(stdout)
		}
		switch {
		case r.Requests == 0:
			fmt.Fprintln(os.Stderr, "netprog bench: no request finished in the measured window")
			return &exitError{1}
		case r.ErrorCount() > 0:
			return &exitError{1}
		}
		return nil
	}
}
