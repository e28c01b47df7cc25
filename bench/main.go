// Command bench is the design-alternatives benchmark behind `make bench`: it
// starts every registered server model as a `netprog echo-server -raw`
// process, plus an idiomatic Go net echo server as a baseline, drives each
// with the netprog load generator (package clients) under the same loads,
// and writes the table UNP's chapter 30 ends with, measured on this machine:
// bench/results.md, bench/results.json and bench/results.svg.
//
//	go run ./bench                       # everything, 7-8 minutes on 2 cores
//	go run ./bench -models epoll,go-net -duration 2s -repeats 5
//
// Per cell (model x load) it reports the median of interleaved repeats of
// requests/s, p99 latency and the server's CPU time (user+system, children
// included) per 1000 requests, and, from a separate short run under perf
// stat (or strace -c -f when perf is missing), the server's system calls per
// request. A cell where the generator's own thread was busy 90% of the time
// or more is marked client-bound.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"netprog/servers"
)

func main() {
	if addr := os.Getenv(baselineEnv); addr != "" {
		os.Exit(serveBaseline(addr))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg := defaultConfig()
	models := fs.String("models", strings.Join(append(servers.Models(), baselineName), ","), "models to run, comma-separated ("+baselineName+" is the Go net baseline)")
	conns := fs.String("conns", "1,10,100,1000", "echo: connection counts")
	sizes := fs.String("sizes", "64,4096", "echo: message sizes in bytes")
	fs.StringVar(&cfg.Bin, "bin", cfg.Bin, "the netprog binary (built from ./cmd/netprog if missing)")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "directory for results.md, results.json and results.svg")
	fs.DurationVar(&cfg.Window, "duration", cfg.Window, "measured time per cell and repeat")
	fs.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "repeats per cell (interleaved across models; the median is reported)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "longest wait for every connection's first echo before measuring")
	fs.IntVar(&cfg.ConnectWorkers, "connect-workers", cfg.ConnectWorkers, "connect workload: concurrent workers (0: skip it)")
	fs.StringVar(&cfg.SyscallMethod, "syscalls", cfg.SyscallMethod, "how to count server syscalls: auto (perf, else strace), perf, strace, off")
	fs.DurationVar(&cfg.SyscallWindow, "syscall-duration", cfg.SyscallWindow, "measured time of the separate syscall-counting run per cell")
	fs.DurationVar(&cfg.Budget, "budget", cfg.Budget, "if the run would take longer than this, shorten -duration to fit (0: no limit)")
	from := fs.String("from", "", "do not measure: redraw results.md and results.svg from this results.json")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	var err error
	cfg.Models = splitList(*models)
	if cfg.EchoConns, err = intList(*conns); err == nil {
		cfg.EchoSizes, err = intList(*sizes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	var res *results
	if *from != "" {
		res, err = readResults(*from)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		res, err = runHarness(ctx, cfg, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if err := writeResults(cfg.Out, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "wrote %s, %s and %s\n", filepath.Join(cfg.Out, "results.md"),
		filepath.Join(cfg.Out, "results.json"), filepath.Join(cfg.Out, "results.svg"))
	return 0
}

func readResults(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &r, nil
}

// config is one harness run.
type config struct {
	Bin            string
	Out            string
	Models         []string
	EchoConns      []int
	EchoSizes      []int
	ConnectWorkers int
	ConnectSize    int
	Window         time.Duration
	Repeats        int
	Warmup         time.Duration
	SyscallMethod  string
	SyscallWindow  time.Duration
	Budget         time.Duration
}

func defaultConfig() config {
	return config{
		Bin: "./netprog", Out: "bench",
		EchoConns: []int{1, 10, 100, 1000}, EchoSizes: []int{64, 4096},
		ConnectWorkers: 10, ConnectSize: 64,
		Window: time.Second, Repeats: 3, Warmup: 2 * time.Second,
		SyscallMethod: "auto", SyscallWindow: 300 * time.Millisecond,
		// make bench must finish within 10 minutes on 2 cores, building
		// and the ping flood included.
		Budget: 8 * time.Minute,
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
