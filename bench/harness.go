package main

// The harness: it starts every model's server, runs the cells in
// interleaved rounds, and stops the servers however the run ends.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"netprog/clients"
)

// harness runs the servers and the cells.
type harness struct {
	cfg     config
	crefs   map[string]string // the C references' binaries, by model
	log     io.Writer
	dir     string
	logDir  string // where the servers' output goes
	servers map[string]*server
	counter counter
	res     *results
	rep     int // the repeat being measured
	done    int // runs finished, for the progress lines
	total   int // runs planned: timedTotal + countTotal
	// For the estimate of the time left: runs planned and finished of
	// each kind, and the time the finished ones took.
	timedTotal, timedDone  int
	countTotal, countDone  int
	timedSpent, countSpent time.Duration
}

// runHarness starts every model, runs every cell, and returns the results.
// When ctx is cancelled (an interrupt) it abandons the run in progress,
// stops the servers, and returns what the finished runs measured, marked
// partial, with errInterrupted.
func runHarness(ctx context.Context, cfg config, log io.Writer) (*results, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "netprog-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := ensureBinary(&cfg, dir, log); err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, log: log, dir: dir, logDir: dir, servers: map[string]*server{}}
	// The servers' output (-q keeps a line or two per connection) goes
	// to files in memory where there is a tmpfs: appending to a file on
	// disk cost the connect column up to a fifth of its rate.
	if d, err := os.MkdirTemp("/dev/shm", "netprog-bench"); err == nil {
		defer os.RemoveAll(d)
		h.logDir = d
	}
	if h.counter, err = newCounter(cfg.SyscallMethod, dir); err != nil {
		return nil, err
	}
	h.res = &results{
		Machine: describeMachine(), Repeats: cfg.Repeats, Quick: cfg.Quick,
		SyscallMethod: "none (neither perf nor strace works here)", Models: cfg.Models, Loads: cfg.loads(),
	}
	h.res.ConnectThreads = max(cfg.ConnectThreads, 1)
	h.res.Paired = true
	h.crefs, h.res.CRefMissing = buildCRefs(cfg.Models, dir, log)
	if h.res.CRefMissing != "" {
		fmt.Fprintf(log, "%s\n", h.res.CRefMissing)
	}
	if h.counter != nil {
		h.res.SyscallMethod = h.counter.method()
		h.res.SyscallSeconds = cfg.SyscallWindow.Seconds()
	}
	for _, l := range h.res.Loads {
		for _, m := range cfg.Models {
			c := &cell{Model: m, Load: l, Skipped: skipReason(m, l)}
			switch {
			case c.Skipped != "":
			case isCRef(m) && h.res.CRefMissing != "":
				c.Skipped = h.res.CRefMissing
			case m == crefForkBig && !slices.Contains(cfg.Models, "fork"):
				c.Skipped = "the footprint experiment needs the fork model in the run: it copies its size"
			}
			h.res.Cells = append(h.res.Cells, c)
			if c.Skipped == "" {
				h.timedTotal += cfg.Repeats
				if h.counter != nil {
					h.countTotal++
				}
			}
		}
	}
	h.total = h.timedTotal + h.countTotal
	h.fitBudget()
	h.res.WindowSeconds = h.cfg.Window.Seconds()
	// Stopped however this returns: done, failed or interrupted.
	defer h.stopAll()
	for _, m := range cfg.Models {
		if ctx.Err() != nil {
			return h.finish(start, ctx)
		}
		if h.runsNothing(m) || m == crefForkBig {
			// A C reference without a compiler, or skipped everywhere;
			// the grown C fork server starts before its first run,
			// grown to the Go fork server's size under the same load
			// (startGrown).
			continue
		}
		s, err := startServer(cfg.Bin, m, h.logDir, h.crefCommand(m))
		if err != nil {
			return nil, err
		}
		h.servers[m] = s
		fmt.Fprintf(log, "started %-10s pid %d on %s\n", m, s.pid(), s.addr)
		if m == "fork" || m == crefFork {
			h.footprint(m, m, "at rest")
		}
	}
	fmt.Fprintf(log, "%d runs, about %v\n", h.total, h.eta().Round(time.Second))
	// Interleaved repeats: every model takes its turn at a load before
	// any model repeats it, and the order rotates from one repeat to the
	// next, so a slow spell of the machine (another process, a thermal
	// limit) hits all models alike rather than one. A Go model and its C
	// references take their turns back to back (runOrder, paired.go).
	for rep := 0; rep < cfg.Repeats; rep++ {
		h.rep = rep
		for _, l := range h.res.Loads {
			for _, m := range runOrder(cfg.Models, rep) {
				if ctx.Err() != nil {
					return h.finish(start, ctx)
				}
				h.measure(ctx, h.res.cell(m, l), false)
			}
		}
	}
	if h.counter != nil {
		for _, l := range h.res.Loads {
			for _, m := range cfg.Models {
				if ctx.Err() != nil {
					return h.finish(start, ctx)
				}
				h.measure(ctx, h.res.cell(m, l), true)
			}
		}
	}
	return h.finish(start, ctx)
}

// threads is how many generator threads drive a load: ConnectThreads under
// connect, one for echo (where one thread keeps up: 2 calls a request, as
// the servers).
func (h *harness) threads(l load) int {
	if l.Workload == clients.WorkloadConnect {
		return max(h.cfg.ConnectThreads, 1)
	}
	return 1
}

// runsNothing reports whether every cell of model is skipped.
func (h *harness) runsNothing(model string) bool {
	for _, c := range h.res.Cells {
		if c.Model == model && c.Skipped == "" {
			return false
		}
	}
	return true
}

// finish summarizes the cells measured so far; if ctx was cancelled, it
// marks the results partial and returns errInterrupted with them.
func (h *harness) finish(start time.Time, ctx context.Context) (*results, error) {
	r := h.res
	var p partial
	for _, c := range r.Cells {
		c.summarize()
		if c.Skipped != "" {
			continue
		}
		p.CellsTotal++
		if len(c.Samples) > 0 {
			p.CellsMeasured++
		}
		if len(c.Samples) == h.cfg.Repeats {
			p.CellsComplete++
		}
	}
	r.Targets = evaluateTargets(r)
	r.ElapsedSeconds = time.Since(start).Seconds()
	r.Machine.LoadEnd = loadAverage()
	if ctx.Err() == nil {
		return r, nil
	}
	p.Reason = "interrupted"
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		p.Reason = cause.Error()
	}
	p.RunsDone, p.RunsTotal = h.done, h.total
	r.Partial = &p
	return r, errInterrupted
}

// stopAll stops every server, all at once: an interrupted run should not
// keep the user waiting for a dozen servers in turn.
func (h *harness) stopAll() {
	errs := make([]error, len(h.cfg.Models))
	var wg sync.WaitGroup
	for i, m := range h.cfg.Models {
		if s := h.servers[m]; s != nil {
			wg.Go(func() { errs[i] = s.stop() })
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(h.log, "bench:", err)
		}
	}
}

// ensureBinary builds netprog if cfg.Bin does not exist.
func ensureBinary(cfg *config, dir string, log io.Writer) error {
	if _, err := os.Stat(cfg.Bin); err == nil {
		return nil
	}
	bin := filepath.Join(dir, "netprog")
	fmt.Fprintf(log, "%s not found: building netprog/cmd/netprog\n", cfg.Bin)
	cmd := exec.Command("go", "build", "-o", bin, "netprog/cmd/netprog")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building netprog: %v", err)
	}
	cfg.Bin = bin
	return nil
}
