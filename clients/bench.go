package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"netprog/sys"
)

// The load generator behind `netprog bench` and the design-alternatives
// table (bench/): a closed loop, in the manner of UNP's client.c, that keeps
// a fixed number of requests in flight and measures how fast a server
// answers them.
//
// It is built to cost the server's own price per request or less, so that
// the server, not the generator, is what a run measures: one OS thread, one
// epoll instance over every connection, nonblocking sockets, and per request
// one write (sendto), one read and a share of one epoll_wait. Nothing is
// allocated per request: payloads are slices of one shared pattern,
// latencies go into a fixed-bucket Histogram, and errors (rare) are counted
// by kind in a map.

// Workloads.
const (
	// WorkloadEcho keeps Conns connections open; on each, send Size bytes,
	// wait until all of them have come back, check them, repeat.
	WorkloadEcho = "echo"
	// WorkloadConnect is UNP's client.c: Conns workers each connect, send
	// Size bytes, read them back, close, and start again, so that every
	// request pays for a connection (and, in a forking server, a process).
	WorkloadConnect = "connect"
)

// BenchConfig describes one run.
type BenchConfig struct {
	Addr     sys.Addr      // the server: a byte-exact echo (netprog echo-server -raw)
	Workload string        // WorkloadEcho or WorkloadConnect
	Conns    int           // connections (echo) or concurrent workers (connect)
	Size     int           // bytes per request, all echoed back
	Duration time.Duration // how long to measure, if Requests is 0
	Requests int64         // measure this many requests instead

	// Warmup is the longest wait, before the clock starts, for every
	// connection to have finished one request, so that connection set-up
	// (and a forking server's forks) is not measured as throughput. A
	// server that leaves some connections unserved (an iterative one)
	// starts the clock when it runs out. 0: start at once.
	Warmup time.Duration
	// Stall ends the run with an error when no request at all finishes
	// for this long (a dead or wedged server). 0: 10s.
	Stall time.Duration

	// Threads spreads the load over this many generator threads (0 or
	// 1: one), each with its own epoll instance and a share of Conns
	// (and of Requests), their windows opened and closed together.
	// Under connect one thread can be the limit: each connection costs
	// the generator a socket, a connect, a close and, on loopback, much
	// of the handshake's kernel work (the softirq runs on the sending
	// side's CPU, in its time), so a faster server cannot show.
	Threads int

	// Progress, if set, gets a one-line display, redrawn in place, once
	// the run has lasted a second (one thread only).
	Progress io.Writer

	// Started and Stopped, if set, are called on the generator's thread
	// just after the measured window opens and just after it closes
	// (before the connections are closed): the benchmark harness samples
	// the server's CPU time there. The generator does nothing while they
	// run, so the server idles too.
	Started, Stopped func()
}

// BenchReport is what a run measured, within the window.
type BenchReport struct {
	Workload string  `json:"workload"`
	Target   string  `json:"target"`
	Conns    int     `json:"conns"`
	Size     int     `json:"size"`
	Seconds  float64 `json:"seconds"` // length of the measured window

	Requests       int64   `json:"requests"` // finished within the window
	RequestsPerSec float64 `json:"requests_per_sec"`
	Threads        int     `json:"threads,omitempty"` // generator threads, when more than one
	Latency        Latency `json:"latency_us"`
	BytesVerified  int64   `json:"bytes_verified"` // echoed bytes compared with what was sent
	// Errors counts failures by kind ("read: connection reset by peer"),
	// over the whole run including set-up. A failed connection is
	// reopened, so the load stays the same.
	Errors map[string]int64 `json:"errors"`
	// Starved is how many connections (echo) or workers (connect)
	// finished no request in the window: a server serving one client at
	// a time leaves the others waiting in its listen queue.
	Starved int `json:"starved"`

	// The generator's own cost: CPU time of its thread in the window
	// (getrusage RUSAGE_THREAD), as a share of one core, and system calls
	// per request. A share near 1 means the generator, not the server,
	// may have been the limit. With several threads, CPU seconds and
	// calls are their sums, and the share is the busiest thread's.
	ClientCPUSeconds         float64 `json:"client_cpu_seconds"`
	ClientCPUShare           float64 `json:"client_cpu_share"`
	ClientSyscalls           int64   `json:"client_syscalls"`
	ClientSyscallsPerRequest float64 `json:"client_syscalls_per_request"`
	WarmupSeconds            float64 `json:"warmup_seconds"`
}

// Latency is a summary of the window's request latencies in microseconds,
// from the fixed-bucket histogram (quantiles within 1.6%; max and mean
// exact).
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// ClientBoundShare is the generator CPU share (of one core) from which a
// result is marked client-bound: the generator was busy nearly all the time,
// so a faster server could not have shown it.
const ClientBoundShare = 0.9

// ClientBound reports whether the generator itself was saturated.
func (r *BenchReport) ClientBound() bool { return r.ClientCPUShare >= ClientBoundShare }

// ErrorCount is the total of Errors.
func (r *BenchReport) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// ConfigError is a BenchConfig that makes no sense: a usage error.
type ConfigError string

func (e ConfigError) Error() string { return string(e) }

// ErrStalled is returned (wrapped) when the server stopped answering.
var ErrStalled = errors.New("the server stopped answering")

func (c *BenchConfig) check() error {
	switch {
	case c.Workload != WorkloadEcho && c.Workload != WorkloadConnect:
		return ConfigError(fmt.Sprintf("workload %q: want %s or %s", c.Workload, WorkloadEcho, WorkloadConnect))
	case c.Conns < 1:
		return ConfigError("need at least 1 connection")
	case c.Size < 1:
		return ConfigError("size must be at least 1 byte")
	case c.Duration <= 0 && c.Requests <= 0:
		return ConfigError("need a duration or a number of requests")
	case c.Warmup < 0 || c.Stall < 0:
		return ConfigError("warm-up and stall times cannot be negative")
	case c.Threads < 0:
		return ConfigError("threads cannot be negative")
	}
	return nil
}

// Bench runs the load described by cfg and reports what it measured. It
// returns an error, and no report, when the load could not run at all: a
// bad config (ConfigError), no server (every first connect failed: the
// connect error), or a server that stopped answering for cfg.Stall
// (ErrStalled). Cancelling ctx ends the window early;
// the report covers what was measured.
func Bench(ctx context.Context, cfg BenchConfig) (*BenchReport, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Stall == 0 {
		cfg.Stall = 10 * time.Second
	}
	if n := min(cfg.Threads, cfg.Conns); n > 1 {
		return benchThreads(ctx, cfg, n)
	}
	g, err := newGenerator(cfg)
	if err != nil {
		return nil, err
	}
	defer g.close()
	if err := g.run(ctx); err != nil {
		return nil, err
	}
	return g.report(), nil
}
