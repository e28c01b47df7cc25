package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"netprog/clients"
)

// load is one column of the table.
type load struct {
	Workload string `json:"workload"`
	Conns    int    `json:"conns"`
	Size     int    `json:"size"`
}

func (l load) String() string {
	if l.Workload == clients.WorkloadConnect {
		return fmt.Sprintf("connect %d workers x %s", l.Conns, sizeName(l.Size))
	}
	return fmt.Sprintf("echo %d conns x %s", l.Conns, sizeName(l.Size))
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// loads is every column: echo at each size and connection count, then
// connect.
func (c *config) loads() []load {
	var ls []load
	for _, size := range c.EchoSizes {
		for _, n := range c.EchoConns {
			ls = append(ls, load{clients.WorkloadEcho, n, size})
		}
	}
	if c.ConnectWorkers > 0 {
		ls = append(ls, load{clients.WorkloadConnect, c.ConnectWorkers, c.ConnectSize})
	}
	return ls
}

// skipReason says why a model does not run a load, or "" if it does.
func skipReason(model string, l load) string {
	if model == crefForkBig && l.Workload != clients.WorkloadConnect {
		return "the footprint experiment: measured under connect only"
	}
	limit := concurrency(model)
	if l.Workload != clients.WorkloadEcho || limit == 0 || l.Conns <= limit {
		return ""
	}
	if model == "iterative" {
		return fmt.Sprintf("serves one connection at a time: the other %d persistent connections would wait in the listen queue for the whole run", l.Conns-1)
	}
	return fmt.Sprintf("a pool of %d workers serves %d connections at a time: the other %d would wait in the listen queue for the whole run", limit, limit, l.Conns-limit)
}

// sample is one measured repeat of a cell.
type sample struct {
	RequestsPerSec   float64 `json:"requests_per_sec"`
	P50us            float64 `json:"p50_us"`
	P99us            float64 `json:"p99_us"`
	P999us           float64 `json:"p99_9_us"`
	MaxUs            float64 `json:"max_us"`
	Requests         int64   `json:"requests"`
	Seconds          float64 `json:"seconds"`
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	// CPU milliseconds the server (and its children) spent per 1000
	// requests (per 1000 connections in the connect workload).
	ServerCPUmsPer1k float64 `json:"server_cpu_ms_per_1k"`
	ClientCPUShare   float64 `json:"client_cpu_share"`
	ClientSyscalls   float64 `json:"client_syscalls_per_request"`
	Errors           int64   `json:"errors"`
	Starved          int     `json:"starved"`
	WarmupSeconds    float64 `json:"warmup_seconds"`
}

// cell is one model under one load.
type cell struct {
	Model       string           `json:"model"`
	Load        load             `json:"load"`
	Skipped     string           `json:"skipped,omitempty"`
	Failed      string           `json:"failed,omitempty"`
	Samples     []sample         `json:"samples,omitempty"`
	Median      *sample          `json:"median,omitempty"`
	ClientBound bool             `json:"client_bound"`
	ErrorKinds  map[string]int64 `json:"error_kinds,omitempty"`
	Syscalls    *syscallCount    `json:"syscalls,omitempty"`
}

// machine is where the results were measured.
type machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Date      string `json:"date"`
	// The 1-minute load average when the run started and ended: the
	// generator and the server under test make about 2; more means other
	// work shared the cores, and the figures are noisier for it.
	LoadStart float64 `json:"load_average_start"`
	LoadEnd   float64 `json:"load_average_end"`
}

func loadAverage() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(b), "%f", &l)
	}
	return l
}

// results is everything one harness run measured.
type results struct {
	Machine        machine  `json:"machine"`
	WindowSeconds  float64  `json:"window_seconds"`
	Repeats        int      `json:"repeats"`
	SyscallMethod  string   `json:"syscall_method"`
	SyscallSeconds float64  `json:"syscall_window_seconds"`
	Models         []string `json:"models"`
	Loads          []load   `json:"loads"`
	Cells          []*cell  `json:"cells"`
	Targets        []target `json:"targets"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	// Quick is set by -quick: fewer loads, one short repeat.
	Quick bool `json:"quick,omitempty"`
	// ConnectThreads is how many generator threads drove the connect
	// workload.
	ConnectThreads int `json:"connect_threads,omitempty"`
	// CRefMissing says why the C references were not measured (no C
	// compiler); "" when they were, or were not asked for.
	CRefMissing string `json:"cref_missing,omitempty"`
	// Footprints are the fork servers' address spaces: the Go fork
	// model's and the C one's at rest, as the run started; the Go one's
	// under connect (forkUnderConnect), as c-fork-big was last grown to
	// it; and c-fork-big then, as it started.
	Footprints map[string]footprint `json:"footprints,omitempty"`
	// Partial is set when the run was interrupted: only some runs were
	// measured, and each cell's figures are the median of the repeats it
	// got.
	Partial *partial `json:"partial,omitempty"`
}

// partial says how far an interrupted run got.
type partial struct {
	Reason        string `json:"reason"`         // "interrupted by SIGINT"
	RunsDone      int    `json:"runs_done"`      // measured runs (repeats and syscall runs)
	RunsTotal     int    `json:"runs_total"`     // planned
	CellsMeasured int    `json:"cells_measured"` // cells with at least one repeat
	CellsComplete int    `json:"cells_complete"` // cells with every repeat
	CellsTotal    int    `json:"cells_total"`    // cells to run (not skipped)
}

// errInterrupted is what runHarness returns, with the partial results,
// when its context is cancelled.
var errInterrupted = errors.New("interrupted")

func (r *results) cell(model string, l load) *cell {
	for _, c := range r.Cells {
		if c.Model == model && c.Load == l {
			return c
		}
	}
	return nil
}

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
	// limit) hits all models alike rather than one.
	for rep := 0; rep < cfg.Repeats; rep++ {
		for _, l := range h.res.Loads {
			for i := range cfg.Models {
				m := cfg.Models[(i+rep)%len(cfg.Models)]
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

// footprint records the size of model's server as key in the results.
func (h *harness) footprint(model, key, when string) {
	s := h.servers[model]
	if s == nil {
		return
	}
	f, err := readFootprint(s.pid())
	if err != nil {
		return
	}
	if h.res.Footprints == nil {
		h.res.Footprints = map[string]footprint{}
	}
	h.res.Footprints[key] = f
	fmt.Fprintf(h.log, "%-10s %s: %v\n", model, when, f)
}

// forkUnderConnect is the key of the Go fork server's size after its
// latest run under connect, the size c-fork-big was last grown to: its
// heap grows with the load (1 MB of anonymous memory at rest, 3 after a
// second of connects, 6 after ten), and every fork pays for it.
const forkUnderConnect = "fork under connect"

// startGrown starts the C fork server grown to the Go fork server's size
// now, or restarts it when the Go server has grown by more than a tenth
// since, so that each repeat compares servers of the same size.
func (h *harness) startGrown() (*server, error) {
	old, had := h.res.Footprints[forkUnderConnect]
	if s := h.servers["fork"]; s != nil {
		if f, err := readFootprint(s.pid()); err == nil {
			if had && h.servers[crefForkBig] != nil && f.AnonKB*10 <= old.AnonKB*11 {
				return h.servers[crefForkBig], nil // still the same size
			}
			if h.res.Footprints == nil {
				h.res.Footprints = map[string]footprint{}
			}
			h.res.Footprints[forkUnderConnect] = f
			fmt.Fprintf(h.log, "%-10s under connect: %v\n", "fork", f)
		}
	}
	if s := h.servers[crefForkBig]; s != nil {
		if err := s.stop(); err != nil {
			fmt.Fprintln(h.log, "bench:", err)
		}
	}
	s, err := startServer(h.cfg.Bin, crefForkBig, h.logDir, h.crefCommand(crefForkBig))
	if err != nil {
		return nil, err
	}
	h.servers[crefForkBig] = s
	fmt.Fprintf(h.log, "started %-10s pid %d on %s\n", crefForkBig, s.pid(), s.addr)
	h.footprint(crefForkBig, crefForkBig, "at rest")
	return s, nil
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

// crefCommand is a C reference's command line (nil for the other models):
// the port (0: any), the backlog the models get, and for the grown fork
// server the Go fork server's mappings, resident anonymous kilobytes and
// kilobytes of page tables.
func (h *harness) crefCommand(model string) []string {
	if !isCRef(model) {
		return nil
	}
	args := []string{h.crefs[model], "0", "4096"}
	if model == crefForkBig {
		f := h.res.Footprints[forkUnderConnect]
		args = append(args, strconv.Itoa(f.Mappings), strconv.Itoa(f.AnonKB), strconv.Itoa(f.PageTablesKB))
	}
	return args
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

// Per-run costs besides the measured window, from runs on 2 cores:
// connecting, warm-up, closing and settling; perf attaching and detaching.
const (
	runOverhead   = 300*time.Millisecond + settleQuiet
	countOverhead = 600 * time.Millisecond
)

// fitBudget shortens the window when the models and loads would take the
// run past cfg.Budget: new models appear as the course grows, and make
// bench has a time limit.
func (h *harness) fitBudget() {
	if h.cfg.Budget <= 0 {
		return
	}
	timed, counted := h.timedTotal, h.countTotal
	fixed := time.Duration(timed)*runOverhead + time.Duration(counted)*(h.cfg.SyscallWindow+countOverhead)
	est := fixed + time.Duration(timed)*h.cfg.Window
	if est <= h.cfg.Budget || timed == 0 {
		return
	}
	w := max((h.cfg.Budget-fixed)/time.Duration(timed), 300*time.Millisecond)
	w = w.Round(10 * time.Millisecond)
	fmt.Fprintf(h.log, "%d runs would take about %v: shortening each window from %v to %v to stay within %v\n",
		h.total, est.Round(time.Second), h.cfg.Window, w, h.cfg.Budget)
	h.cfg.Window = w
}

// eta estimates the time the runs not yet finished will take: at first
// from the per-run costs fitBudget plans with, then from what the finished
// runs of each kind took on average (a cell of a thousand connections, or
// a loaded machine, takes longer than planned). Counting runs, which come
// last, are planned longer by the timed runs' overrun (not shorter for
// their underrun: attaching perf gets slower on a busy machine, not
// faster on a small load) until one has finished.
func (h *harness) eta() time.Duration {
	planTimed := runOverhead + h.cfg.Window
	planCount := h.cfg.SyscallWindow + countOverhead
	perTimed, perCount := planTimed, planCount
	if h.timedDone > 0 {
		perTimed = h.timedSpent / time.Duration(h.timedDone)
		perCount = time.Duration(float64(planCount) * max(1, float64(perTimed)/float64(planTimed)))
	}
	if h.countDone > 0 {
		perCount = h.countSpent / time.Duration(h.countDone)
	}
	left := time.Duration(max(h.timedTotal-h.timedDone, 0))*perTimed + time.Duration(max(h.countTotal-h.countDone, 0))*perCount
	return left
}

// progress is the head of a progress line: runs finished of planned, and
// the time left.
func (h *harness) progress() string {
	return fmt.Sprintf("[%3d/%d ETA %s]", h.done, h.total, fmtETA(h.eta()))
}

func fmtETA(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// dropRuns takes a failed cell's remaining runs out of the plan: measure
// skips them. ran says the failure was a run, finished and counted.
func (h *harness) dropRuns(c *cell, ran bool) {
	left := h.cfg.Repeats - len(c.Samples)
	if ran {
		left--
	}
	h.timedTotal -= max(left, 0)
	if h.counter != nil {
		h.countTotal--
	}
	h.total = h.timedTotal + h.countTotal
}

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
		Errors: r.ErrorCount(), Starved: r.Starved, WarmupSeconds: r.WarmupSeconds,
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

// summarize takes the median of each measure over the repeats.
func (c *cell) summarize() {
	if len(c.Samples) == 0 {
		return
	}
	med := func(get func(sample) float64) float64 {
		v := make([]float64, len(c.Samples))
		for i, s := range c.Samples {
			v[i] = get(s)
		}
		return median(v)
	}
	m := sample{
		RequestsPerSec:   med(func(s sample) float64 { return s.RequestsPerSec }),
		P50us:            med(func(s sample) float64 { return s.P50us }),
		P99us:            med(func(s sample) float64 { return s.P99us }),
		P999us:           med(func(s sample) float64 { return s.P999us }),
		MaxUs:            med(func(s sample) float64 { return s.MaxUs }),
		Requests:         int64(med(func(s sample) float64 { return float64(s.Requests) })),
		Seconds:          med(func(s sample) float64 { return s.Seconds }),
		ServerCPUSeconds: med(func(s sample) float64 { return s.ServerCPUSeconds }),
		ServerCPUmsPer1k: med(func(s sample) float64 { return s.ServerCPUmsPer1k }),
		ClientCPUShare:   med(func(s sample) float64 { return s.ClientCPUShare }),
		ClientSyscalls:   med(func(s sample) float64 { return s.ClientSyscalls }),
		Errors:           int64(med(func(s sample) float64 { return float64(s.Errors) })),
		Starved:          int(med(func(s sample) float64 { return float64(s.Starved) })),
		WarmupSeconds:    med(func(s sample) float64 { return s.WarmupSeconds }),
	}
	c.Median = &m
	c.ClientBound = m.ClientCPUShare >= clients.ClientBoundShare
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
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

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	return lastLines(b, 3)
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

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = (kb + 512<<10) >> 20
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
