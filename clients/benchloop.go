package clients

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// patternPeriod is the period of the payload pattern: a prime, so that the
// payloads of neighbouring connections and of consecutive requests on one
// connection start at different places in it, and an echo that comes back
// on the wrong connection, twice, or stale fails the byte comparison.
const patternPeriod = 251

// Phases of a run.
const (
	phaseWarmup  = iota // connecting, first requests: not measured
	phaseMeasure        // the window
	phaseDone
)

// generator is one run's state; everything lives on one OS thread.
type generator struct {
	cfg  BenchConfig
	echo bool

	ep     int
	events []unix.EpollEvent
	conns  []benchConn
	byFd   []int32 // descriptor -> index in conns, -1 for none

	sources    []sys.Addr // connect: source addresses to bind, in turn (loopbackSources)
	nextSource int

	pattern []byte // patternPeriod+Size bytes; a payload is a Size-long slice of it
	rbuf    []byte // where every read lands (one thread, one buffer)

	base     time.Time // the run's start; times are nanoseconds since it
	phase    int
	inflight int64 // requests begun and not finished
	retries  int   // connections waiting to be opened again
	warmed   int   // connections that have finished a request

	// The window's counts.
	hist     Histogram
	requests int64
	bytes    int64
	syscalls int64 // the generator's own system calls (its sys calls)
	errors   map[string]int64
	firstErr error
	// Failed connects (refused, reset during the handshake) and the first
	// of them.
	connectFailures int
	connectErr      error
	total           int64 // requests finished over the whole run

	winStart, winEnd int64
	cpuStart         time.Duration
	cpu              time.Duration
	warmup           time.Duration
	lastDone         int64 // when a request last finished (stall detection)
	progressAt       int64 // next progress redraw
	progressShown    bool
}

// benchConn is one connection (echo) or one worker's current connection
// (connect).
type benchConn struct {
	fd        int
	id        int
	seq       int
	off       int   // where the current payload starts in the pattern
	sent, got int   // bytes of the current payload written and read back
	start     int64 // when the current request began
	busy      bool  // a request is in flight
	retry     bool  // failed: open again after this round of events
	connected bool
	interest  uint32 // the epoll events asked for
	done      int64  // requests finished, whole run
	doneAtWin int64  // done when the window opened
}

func newGenerator(cfg BenchConfig) (*generator, error) {
	g := &generator{
		cfg:    cfg,
		echo:   cfg.Workload == WorkloadEcho,
		ep:     -1,
		events: make([]unix.EpollEvent, min(cfg.Conns, 256)),
		conns:  make([]benchConn, cfg.Conns),
		rbuf:   make([]byte, min(cfg.Size, 256<<10)),
	}
	if !g.echo {
		g.sources = loopbackSources(cfg.Addr)
	}
	g.pattern = make([]byte, patternPeriod+cfg.Size)
	for i := range g.pattern {
		g.pattern[i] = byte(i % patternPeriod)
	}
	for i := range g.conns {
		g.conns[i] = benchConn{fd: -1, id: i}
	}
	ep, err := sys.EpollCreate1()
	if err != nil {
		return nil, err
	}
	g.ep = ep
	return g, nil
}

// close releases every descriptor.
func (g *generator) close() {
	for i := range g.conns {
		if c := &g.conns[i]; c.fd >= 0 {
			g.drop(c)
		}
	}
	if g.ep >= 0 {
		sys.Close(g.ep)
		g.ep = -1
	}
}

func (g *generator) now() int64 { return int64(time.Since(g.base)) }

// run is the event loop. It holds its OS thread so that RUSAGE_THREAD
// measures the generator and nothing else, and so that the Go scheduler
// never moves it mid-run.
func (g *generator) run(ctx context.Context) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	g.base = time.Now()
	for i := range g.conns {
		g.open(&g.conns[i])
	}
	warmupEnd := int64(g.cfg.Warmup)
	if g.cfg.Warmup == 0 {
		g.openWindow(0)
	}
	g.progressAt = int64(time.Second)
	for g.phase != phaseDone {
		n, err := sys.EpollWait(g.ep, g.events, g.waitTime(warmupEnd))
		g.syscalls++
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			g.handle(&g.events[i])
		}
		if g.retries > 0 && g.phase != phaseDone {
			g.reopen()
		}
		now := g.now()
		switch {
		case g.total == 0 && g.connectFailures >= len(g.conns):
			// As many connects failed as there are connections, before
			// any request got through: there is no server to measure.
			return g.connectErr
		case now-g.lastDone > int64(g.cfg.Stall):
			if g.total == 0 && g.firstErr != nil {
				return g.firstErr
			}
			return fmt.Errorf("no request finished in %v: %w", g.cfg.Stall, ErrStalled)
		}
		if g.phase == phaseWarmup && (g.warmed == len(g.conns) || now >= warmupEnd) {
			g.openWindow(now)
		}
		if g.phase == phaseMeasure && g.windowOver(now, ctx) {
			g.closeWindow()
		}
		if g.cfg.Progress != nil && now >= g.progressAt {
			g.showProgress(now)
		}
	}
	if g.progressShown {
		fmt.Fprint(g.cfg.Progress, "\r\033[K")
	}
	return nil
}

// waitTime is how long epoll_wait may sleep: until the window's end, at
// most 100 ms so that cancellation, stalls and progress are noticed.
func (g *generator) waitTime(warmupEnd int64) time.Duration {
	d := 100 * time.Millisecond
	now := g.now()
	switch {
	case g.phase == phaseWarmup:
		d = min(d, time.Duration(warmupEnd-now))
	case g.phase == phaseMeasure && g.cfg.Requests == 0:
		d = min(d, time.Duration(g.winStart+int64(g.cfg.Duration)-now))
	}
	return max(d, 0)
}

func (g *generator) windowOver(now int64, ctx context.Context) bool {
	if g.cfg.Requests > 0 {
		if g.requests >= g.cfg.Requests {
			return true
		}
	} else if now-g.winStart >= int64(g.cfg.Duration) {
		return true
	}
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func (g *generator) openWindow(now int64) {
	g.warmup = time.Duration(now)
	if g.cfg.Started != nil {
		g.cfg.Started()
	}
	g.phase = phaseMeasure
	g.hist.Reset()
	g.requests, g.bytes, g.syscalls = 0, 0, 0
	for i := range g.conns {
		g.conns[i].doneAtWin = g.conns[i].done
	}
	g.cpuStart = threadCPU()
	g.winStart = g.now()
	g.lastDone = g.winStart
}

func (g *generator) closeWindow() {
	g.winEnd = g.now()
	g.cpu = threadCPU() - g.cpuStart
	g.phase = phaseDone
	if g.cfg.Stopped != nil {
		g.cfg.Stopped()
	}
}

// threadCPU is the user+system time of the calling thread.
func threadCPU() time.Duration {
	ru, err := sys.Getrusage(unix.RUSAGE_THREAD)
	if err != nil {
		return 0
	}
	return sys.CPUTime(&ru)
}

// mayStart reports whether another request may begin: always when
// measuring for a time; with a request count, only while the finished and
// in-flight ones fall short of it.
func (g *generator) mayStart() bool {
	switch {
	case g.phase == phaseDone:
		return false
	case g.phase == phaseMeasure && g.cfg.Requests > 0:
		return g.requests+g.inflight < g.cfg.Requests
	}
	return true
}

// Errors of the conversation itself, as opposed to failed system calls.
var (
	errEOF      = errors.New("server closed the connection before echoing everything")
	errMismatch = errors.New("echoed bytes differ from those sent")
	errIdleData = errors.New("server sent bytes nobody asked for")
)

// countError records a failure by kind: the system call and errno
// ("read: connection reset by peer"), without the address.
func (g *generator) countError(err error) {
	if g.firstErr == nil {
		g.firstErr = err
	}
	kind := err.Error()
	var se *os.SyscallError
	if errors.As(err, &se) {
		// "connect 127.0.0.1:5090" -> "connect": one kind per call.
		name, _, _ := strings.Cut(se.Syscall, " ")
		kind = name + ": " + se.Err.Error()
	}
	if g.errors == nil {
		g.errors = map[string]int64{}
	}
	g.errors[kind]++
}

func (g *generator) errCount() int64 {
	var n int64
	for _, c := range g.errors {
		n += c
	}
	return n
}

// report turns the window's counts into a BenchReport.
func (g *generator) report() *BenchReport {
	secs := time.Duration(g.winEnd - g.winStart).Seconds()
	r := &BenchReport{
		Workload: g.cfg.Workload, Target: g.cfg.Addr.String(), Conns: g.cfg.Conns, Size: g.cfg.Size,
		Seconds: secs, Requests: g.requests, BytesVerified: g.bytes, Errors: g.errors,
		ClientCPUSeconds: g.cpu.Seconds(), ClientSyscalls: g.syscalls, WarmupSeconds: g.warmup.Seconds(),
		Latency: Latency{
			P50: us(g.hist.Quantile(0.50)), P90: us(g.hist.Quantile(0.90)), P99: us(g.hist.Quantile(0.99)),
			P999: us(g.hist.Quantile(0.999)), Max: us(g.hist.Max()), Mean: us(g.hist.Mean()),
		},
	}
	if r.Errors == nil {
		r.Errors = map[string]int64{}
	}
	if secs > 0 {
		r.RequestsPerSec = float64(g.requests) / secs
		r.ClientCPUShare = g.cpu.Seconds() / secs
	}
	if g.requests > 0 {
		r.ClientSyscallsPerRequest = float64(g.syscalls) / float64(g.requests)
	}
	for i := range g.conns {
		if g.conns[i].done == g.conns[i].doneAtWin {
			r.Starved++
		}
	}
	return r
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func timeNs(ns int64) time.Duration { return time.Duration(ns) }

// FormatLatency renders microseconds as the reports print latencies:
// 850µs, 1.62ms, 2.00s.
func FormatLatency(usec float64) string {
	switch {
	case usec < 1000:
		return fmt.Sprintf("%.0fµs", usec)
	case usec < 1e6:
		return fmt.Sprintf("%.2fms", usec/1e3)
	}
	return fmt.Sprintf("%.2fs", usec/1e6)
}

// showProgress redraws the one-line display: elapsed time, requests,
// rate, p99 so far, errors.
func (g *generator) showProgress(now int64) {
	g.progressAt = now + int64(250*time.Millisecond)
	var line string
	if g.phase == phaseWarmup {
		line = fmt.Sprintf("%5.1fs  warming up: %d of %d connections answered", time.Duration(now).Seconds(), g.warmed, len(g.conns))
	} else {
		el := time.Duration(now - g.winStart).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(g.requests) / el
		}
		line = fmt.Sprintf("%5.1fs  %d requests  %.0f/s  p99 %s  errors %d",
			el, g.requests, rate, FormatLatency(us(g.hist.Quantile(0.99))), g.errCount())
	}
	fmt.Fprintf(g.cfg.Progress, "\r\033[K%s", line)
	g.progressShown = true
}
