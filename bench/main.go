// Command bench is the design-alternatives benchmark behind `make bench`: it
// starts every registered server model as a `netprog echo-server -raw`
// process, plus an idiomatic Go net echo server as a baseline, drives each
// with the netprog load generator (package clients) under the same loads,
// and writes the table UNP's chapter 30 ends with, measured on this machine:
// bench/results.md, bench/results.json and bench/results.svg.
//
//	go run ./bench                       # everything, about 10 minutes on 2 cores
//	go run ./bench -quick                # a first look, under 2 minutes: bench/results-quick.*
//	go run ./bench -models epoll,go-net -duration 2s -repeats 5
//
// Interrupted (SIGINT, SIGTERM), it abandons the run in progress, stops
// the servers it started, writes what the finished runs measured to
// bench/results-partial.* (results-quick-partial.* for -quick), marked
// partial, never over a complete run's results, and exits with 128 plus
// the signal's number (130 for Ctrl-C).
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
	"runtime"
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
	models := fs.String("models", strings.Join(append(append(servers.Models(), baselineName), crefModels...), ","),
		"models to run, comma-separated ("+baselineName+" is the Go net baseline; "+strings.Join(crefModels, ", ")+" the C references, built with cc)")
	conns := fs.String("conns", "1,10,50,100,1000", "echo: connection counts")
	sizes := fs.String("sizes", "64,4096", "echo: message sizes in bytes")
	fs.StringVar(&cfg.Bin, "bin", cfg.Bin, "the netprog binary (built from ./cmd/netprog if missing)")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "directory for the results")
	name := fs.String("name", "results", "the results' file name, without .md, .json, .svg (-quick: results-quick; an interrupted run adds -partial)")
	fs.BoolVar(&cfg.Quick, "quick", false, "a first look in under 2 minutes on 2 cores: "+quickSummary+"; flags given as well override these")
	fs.DurationVar(&cfg.Window, "duration", cfg.Window, "measured time per cell and repeat")
	fs.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "repeats per cell (interleaved across models; the median is reported)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "longest wait for every connection's first echo before measuring")
	fs.IntVar(&cfg.ConnectWorkers, "connect-workers", cfg.ConnectWorkers, "connect workload: concurrent workers (0: skip it)")
	fs.IntVar(&cfg.ConnectThreads, "connect-threads", cfg.ConnectThreads, "connect workload: generator threads sharing the workers")
	fs.StringVar(&cfg.SyscallMethod, "syscalls", cfg.SyscallMethod, "how to count server syscalls: auto (perf, else strace), perf, strace, off")
	fs.DurationVar(&cfg.SyscallWindow, "syscall-duration", cfg.SyscallWindow, "measured time of the separate syscall-counting run per cell")
	fs.DurationVar(&cfg.Budget, "budget", cfg.Budget, "if the run would take longer than this, shorten -duration to fit (0: no limit)")
	from := fs.String("from", "", "do not measure: redraw the .md and .svg from this .json (a partial or quick one keeps its own name)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures every server model under the same loads and writes OUT/NAME.md, .json and .svg.\n"+
			"Interrupted (Ctrl-C, SIGINT or SIGTERM), it stops its servers, writes what it measured so far\n"+
			"to OUT/NAME-partial.md, .json and .svg, marked partial, and exits with 130 (SIGINT) or 143\n"+
			"(SIGTERM); a second Ctrl-C quits at once without writing. Other errors exit with 2.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Quick {
		applyQuick(&cfg, set, conns, sizes)
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
	var caught os.Signal
	if *from != "" {
		res, err = readResults(*from)
	} else {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		got := make(chan os.Signal, 1)
		go onSignals(sigs, got, cancel, ctx.Done())
		res, err = runHarness(ctx, cfg, os.Stderr)
		if err == errInterrupted {
			caught = <-got
		}
	}
	if err != nil && err != errInterrupted {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	base := outputName(*name, set["name"], res)
	if err := writeResults(cfg.Out, base, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	files := fmt.Sprintf("%s, .json and .svg", filepath.Join(cfg.Out, base+".md"))
	if res.Partial == nil {
		fmt.Fprintf(os.Stderr, "wrote %s\n", files)
		return 0
	}
	p := res.Partial
	fmt.Fprintf(os.Stderr, "bench: PARTIAL results (%s after %d of %d runs; %d of %d cells measured) written to %s; %s untouched\n",
		p.Reason, p.RunsDone, p.RunsTotal, p.CellsMeasured, p.CellsTotal, files, filepath.Join(cfg.Out, strings.TrimSuffix(base, partialSuffix)+".*"))
	if caught == nil {
		return 0 // -from a partial results file: redrawn
	}
	return exitCode(caught)
}

// partialSuffix ends the file name of an interrupted run's results, so
// that they never replace a complete run's.
const partialSuffix = "-partial"

// outputName is the results' file name: -name, or results-quick for a
// quick run (unless -name was given), with -partial added for an
// interrupted run.
func outputName(name string, nameSet bool, r *results) string {
	if r.Quick && !nameSet {
		name = "results-quick"
	}
	if r.Partial != nil && !strings.HasSuffix(name, partialSuffix) {
		name += partialSuffix
	}
	return name
}

// onSignals cancels the run at the first SIGINT or SIGTERM, recording it
// in got, and exits at once at the second (the servers then get SIGTERM
// from the kernel: Pdeathsig).
func onSignals(sigs <-chan os.Signal, got chan<- os.Signal, cancel context.CancelCauseFunc, done <-chan struct{}) {
	var sig os.Signal
	select {
	case sig = <-sigs:
	case <-done:
		return
	}
	got <- sig
	fmt.Fprintf(os.Stderr, "\nbench: %s: stopping the servers and writing what was measured so far (again to quit without writing)\n", signalName(sig))
	cancel(fmt.Errorf("interrupted by %s", signalName(sig)))
	sig = <-sigs
	fmt.Fprintf(os.Stderr, "bench: %s again: quitting without writing results\n", signalName(sig))
	os.Exit(exitCode(sig))
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// exitCode is the shell's status for a process a signal ended: 128 plus
// the signal's number (130 for SIGINT, 143 for SIGTERM).
func exitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// The quick run's settings: what a student runs first.
const quickSummary = "all models, echo 64 B at 1, 10, 50 and 100 connections and connect, one repeat of 0.5 s, syscall runs of 0.2 s, " +
	"a 90 s budget, written to results-quick.*"

// applyQuick sets the quick run's values of every flag not given.
func applyQuick(cfg *config, set map[string]bool, conns, sizes *string) {
	quick := map[string]func(){
		"conns":            func() { *conns = "1,10,50,100" },
		"sizes":            func() { *sizes = "64" },
		"duration":         func() { cfg.Window = 500 * time.Millisecond },
		"repeats":          func() { cfg.Repeats = 1 },
		"syscall-duration": func() { cfg.SyscallWindow = 200 * time.Millisecond },
		"budget":           func() { cfg.Budget = 90 * time.Second },
	}
	for flag, apply := range quick {
		if !set[flag] {
			apply()
		}
	}
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
	ConnectThreads int // generator threads under connect
	ConnectSize    int
	Window         time.Duration
	Repeats        int
	Warmup         time.Duration
	SyscallMethod  string
	SyscallWindow  time.Duration
	Budget         time.Duration
	Quick          bool // -quick: recorded in the results
}

func defaultConfig() config {
	return config{
		Bin: "./netprog", Out: "bench",
		EchoConns: []int{1, 10, 50, 100, 1000}, EchoSizes: []int{64, 4096},
		// Connect load from one thread per core: one thread was the limit
		// (clients.BenchConfig.Threads).
		ConnectWorkers: 10, ConnectThreads: runtime.NumCPU(), ConnectSize: 64,
		// Five repeats: the ratios against C are read from medians of at
		// least five interleaved repeats.
		Window: time.Second, Repeats: 5, Warmup: 2 * time.Second,
		SyscallMethod: "auto", SyscallWindow: 300 * time.Millisecond,
		// make bench should finish within about 11 minutes on 2 cores,
		// building and the ping flood included: five repeats of every
		// cell, the C references and the 50-connection column cost
		// three minutes more than the three repeats before them.
		Budget: 9*time.Minute + 30*time.Second,
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
