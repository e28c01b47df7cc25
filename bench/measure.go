package main

// Measuring a cell: one run of the load generator against a server,
// with the server's CPU time around the window and, in a counting run,
// its system calls.

import (
	"context"
	"fmt"
	"os"
	"time"

	"netprog/clients"
)

// measure runs one repeat of a cell, or with counting set its separate
// syscall-counting run. A run that ctx cancels is not recorded: its window
// was cut short.
func (h *harness) measure(ctx context.Context, c *cell, counting bool) {
	if c.Skipped != "" || c.Failed != "" {
		return
	}
	s := h.servers[c.Model]
	if c.Model == crefForkBig && (!counting || s == nil) {
		var err error
		if s, err = h.startGrown(); err != nil {
			c.Failed = err.Error()
			h.dropRuns(c, false)
			return
		}
	}
	if !s.alive() {
		c.Failed = fmt.Sprintf("the server had exited: %v; its log ends: %s", s.err, logTail(s.log))
		h.dropRuns(c, false)
		return
	}
	began := time.Now()
	kids := len(children(s.pid()))
	window := h.cfg.Window
	if counting {
		window = h.cfg.SyscallWindow
	}
	var cpu0, cpu1 time.Duration
	var countErr error
	var counterOn bool
	var total, faults int64
	var byName map[string]int64
	cfg := clients.BenchConfig{
		Addr: s.addr, Workload: c.Load.Workload, Conns: c.Load.Conns, Size: c.Load.Size, Threads: h.threads(c.Load),
		Duration: window, Warmup: h.cfg.Warmup, Stall: 5 * time.Second,
		Started: func() {
			if counting {
				countErr = h.counter.start(func() []int { return append([]int{s.pid()}, descendants(s.pid())...) })
				counterOn = countErr == nil
			}
			cpu0 = treeCPU(s.pid())
		},
		Stopped: func() {
			cpu1 = treeCPU(s.pid())
			if counterOn {
				counterOn = false
				total, byName, faults, countErr = h.counter.stop()
			}
		},
	}
	r, err := clients.Bench(ctx, cfg)
	if counterOn {
		// The generator failed inside the window: perf or strace is
		// still attached.
		h.counter.stop()
	}
	if ctx.Err() != nil {
		return // interrupted: the servers are stopped next, no need to settle
	}
	s.settle(kids)
	h.done++
	if counting {
		h.countDone++
		h.countSpent += time.Since(began)
	} else {
		h.timedDone++
		h.timedSpent += time.Since(began)
	}
	what := "run"
	if counting {
		what = "syscalls"
	}
	if err != nil {
		if !counting {
			c.Failed = err.Error()
			h.dropRuns(c, true)
		}
		fmt.Fprintf(h.log, "%s %-30s %-10s %s: %v\n", h.progress(), c.Load, c.Model, what, err)
		return
	}
	if counting {
		if countErr != nil {
			fmt.Fprintf(h.log, "%s %-30s %-10s syscalls: %v\n", h.progress(), c.Load, c.Model, countErr)
			return
		}
		sc := &syscallCount{Method: h.counter.method(), Total: total, Requests: r.Requests, ByName: byName}
		if r.Requests > 0 {
			sc.PerRequest = float64(total) / float64(r.Requests)
			if faults >= 0 {
				sc.PageFaults = faults
				sc.PageFaultsPerRequest = float64(faults) / float64(r.Requests)
			}
		}
		c.Syscalls = sc
		fmt.Fprintf(h.log, "%s %-30s %-10s %8.1f syscalls/request over %d requests\n", h.progress(), c.Load, c.Model, sc.PerRequest, r.Requests)
		return
	}
	cpu := (cpu1 - cpu0).Seconds()
	smp := sample{
		RequestsPerSec: r.RequestsPerSec, P50us: r.Latency.P50, P99us: r.Latency.P99, P999us: r.Latency.P999,
		MaxUs: r.Latency.Max, Requests: r.Requests, Seconds: r.Seconds, ServerCPUSeconds: cpu,
		ClientCPUShare: r.ClientCPUShare, ClientSyscalls: r.ClientSyscallsPerRequest,
		Errors: r.ErrorCount(), Starved: r.Starved, WarmupSeconds: r.WarmupSeconds, Repeat: h.rep,
	}
	if r.Requests > 0 {
		smp.ServerCPUmsPer1k = cpu * 1e3 / float64(r.Requests) * 1e3
	}
	c.Samples = append(c.Samples, smp)

	for k, n := range r.Errors {
		if c.ErrorKinds == nil {
			c.ErrorKinds = map[string]int64{}
		}
		c.ErrorKinds[k] += n
	}
	mark := ""
	if r.ClientBound() {
		mark = " client-bound"
	}
	if r.ErrorCount() > 0 {
		mark += fmt.Sprintf(" %d errors", r.ErrorCount())
	}
	fmt.Fprintf(h.log, "%s %-30s %-10s %9.0f req/s  p99 %9s  cpu %7.2f ms/1k  client %3.0f%%%s\n",
		h.progress(), c.Load, c.Model, r.RequestsPerSec, clients.FormatLatency(r.Latency.P99), smp.ServerCPUmsPer1k, 100*r.ClientCPUShare, mark)
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	return lastLines(b, 3)
}
