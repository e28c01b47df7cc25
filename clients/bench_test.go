package clients

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"netprog/sys"
)

// The generator is tested against servers written with package net, an
// independent implementation of the other end.

// testServer runs handle on every connection accepted on ln until the test
// ends, then closes everything and waits for the handlers.
func testServer(t *testing.T, network, address string, handle func(net.Conn)) sys.Addr {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	s := ln.Addr().String()
	if network == "unix" {
		s = "unix:" + s
	}
	a, err := sys.ResolveAddr(s, sys.AnyFamily)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func echo(c net.Conn) { io.Copy(c, c) }

func TestBenchWorkloads(t *testing.T) {
	tcp := testServer(t, "tcp", "127.0.0.1:0", echo)
	sock := filepath.Join(t.TempDir(), "echo.sock")
	unixAddr := testServer(t, "unix", sock, echo)
	tests := []struct {
		name     string
		addr     sys.Addr
		workload string
		conns    int
		size     int
		requests int64
		threads  int
	}{
		{"echo one byte", tcp, WorkloadEcho, 1, 1, 500, 0},
		{"echo 64 B, 10 conns", tcp, WorkloadEcho, 10, 64, 2000, 0},
		{"echo 4 KiB, 50 conns", tcp, WorkloadEcho, 50, 4096, 2000, 0},
		// Larger than the socket buffers: the generator must read the
		// echo while it is still writing, or both ends block.
		{"echo 3 MiB, 2 conns", tcp, WorkloadEcho, 2, 3 << 20, 6, 0},
		{"echo over unix socket", unixAddr, WorkloadEcho, 5, 100, 1000, 0},
		{"connect 64 B, 5 workers", tcp, WorkloadConnect, 5, 64, 300, 0},
		{"connect 100 KiB, 2 workers", tcp, WorkloadConnect, 2, 100 << 10, 20, 0},
		{"connect over unix socket", unixAddr, WorkloadConnect, 3, 64, 200, 0},
		// Two generator threads sharing the connections and the count.
		{"echo 64 B, 7 conns, 2 threads", tcp, WorkloadEcho, 7, 64, 1001, 2},
		{"connect 64 B, 5 workers, 2 threads", tcp, WorkloadConnect, 5, 64, 301, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hooks []string
			r, err := Bench(context.Background(), BenchConfig{
				Addr: tt.addr, Workload: tt.workload, Conns: tt.conns, Size: tt.size, Threads: tt.threads,
				Requests: tt.requests, Warmup: 2 * time.Second, Stall: 10 * time.Second,
				Started: func() { hooks = append(hooks, "started") },
				Stopped: func() { hooks = append(hooks, "stopped") },
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(hooks, ",") != "started,stopped" {
				t.Errorf("hooks called %v, want each once", hooks)
			}
			if tt.threads > 1 && r.Threads != tt.threads {
				t.Errorf("report says %d threads, want %d", r.Threads, tt.threads)
			}
			if r.Requests != tt.requests || r.BytesVerified != tt.requests*int64(tt.size) {
				t.Errorf("requests %d, bytes verified %d; want %d and %d", r.Requests, r.BytesVerified, tt.requests, tt.requests*int64(tt.size))
			}
			if len(r.Errors) != 0 || r.Starved != 0 {
				t.Errorf("errors %v, starved %d", r.Errors, r.Starved)
			}
			l := r.Latency
			if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				t.Errorf("latency quantiles out of order: %+v", l)
			}
			if r.RequestsPerSec <= 0 || r.Seconds <= 0 || r.ClientSyscallsPerRequest <= 0 {
				t.Errorf("rate %v over %vs, %v syscalls/request", r.RequestsPerSec, r.Seconds, r.ClientSyscallsPerRequest)
			}
			if r.Target != tt.addr.String() || r.Workload != tt.workload || r.Conns != tt.conns || r.Size != tt.size {
				t.Errorf("report describes %s %s %d x %d", r.Workload, r.Target, r.Conns, r.Size)
			}
		})
	}
}

// TestBenchSyscallsPerRequest checks the generator's own budget: an echo
// request costs one sendto, one read and at most one epoll_wait.
func TestBenchSyscallsPerRequest(t *testing.T) {
	addr := testServer(t, "tcp", "127.0.0.1:0", echo)
	r, err := Bench(context.Background(), BenchConfig{
		Addr: addr, Workload: WorkloadEcho, Conns: 20, Size: 64, Requests: 5000, Warmup: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ClientSyscallsPerRequest > 3.01 {
		t.Errorf("%.2f syscalls per request, want at most 3 (write, read, a share of epoll_wait)", r.ClientSyscallsPerRequest)
	}
}

func TestBenchCountsFailuresByKind(t *testing.T) {
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   string
	}{
		{"corrupting server", func(c net.Conn) {
			buf := make([]byte, 1024)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				buf[n-1] ^= 0xff
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}, errMismatch.Error()},
		{"server that hangs up after one echo", func(c net.Conn) {
			buf := make([]byte, 64)
			if _, err := io.ReadFull(c, buf); err == nil {
				c.Write(buf)
			}
		}, errEOF.Error()},
		{"server that resets", func(c net.Conn) {
			buf := make([]byte, 64)
			if _, err := io.ReadFull(c, buf); err == nil {
				c.Write(buf)
				io.ReadFull(c, buf[:1])
			}
			c.(*net.TCPConn).SetLinger(0)
		}, "read: connection reset by peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := testServer(t, "tcp", "127.0.0.1:0", tt.handle)
			// A loaded machine may give the server's goroutines no turn
			// within one short run: run again until the failure shows, for
			// 10s at most.
			var r *BenchReport
			for deadline := time.Now().Add(10 * time.Second); ; {
				var err error
				r, err = Bench(context.Background(), BenchConfig{
					Addr: addr, Workload: WorkloadEcho, Conns: 4, Size: 64, Duration: 200 * time.Millisecond,
				})
				if err != nil && !errors.Is(err, ErrStalled) {
					t.Fatal(err)
				}
				if err != nil {
					return // every request failed: the stall is the right answer too
				}
				if r.Errors[tt.want] > 0 || time.Now().After(deadline) {
					break
				}
			}
			if r.Errors[tt.want] == 0 {
				t.Errorf("errors %v, want some %q", r.Errors, tt.want)
			}
		})
	}
}

func TestBenchNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := sys.ResolveAddr(ln.Addr().String(), sys.AnyFamily)
	ln.Close()
	for _, w := range []string{WorkloadEcho, WorkloadConnect} {
		_, err := Bench(context.Background(), BenchConfig{Addr: a, Workload: w, Conns: 3, Size: 8, Duration: time.Second})
		if !sys.IsPeerFailure(err) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s against a closed port: %v, want connection refused", w, err)
		}
	}
}

func TestBenchConfigErrors(t *testing.T) {
	a, _ := sys.ResolveAddr("127.0.0.1:9", sys.AnyFamily)
	good := BenchConfig{Addr: a, Workload: WorkloadEcho, Conns: 1, Size: 1, Duration: time.Second}
	tests := []struct {
		name string
		edit func(*BenchConfig)
	}{
		{"workload", func(c *BenchConfig) { c.Workload = "ping" }},
		{"conns", func(c *BenchConfig) { c.Conns = 0 }},
		{"size", func(c *BenchConfig) { c.Size = 0 }},
		{"no stop", func(c *BenchConfig) { c.Duration = 0 }},
		{"warm-up", func(c *BenchConfig) { c.Warmup = -1 }},
	}
	for _, tt := range tests {
		cfg := good
		tt.edit(&cfg)
		var ce ConfigError
		if _, err := Bench(context.Background(), cfg); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConfigError", tt.name, err)
		}
	}
}

// TestBenchStarvedAndHooks plays an iterative server: it serves its first
// connection only. The others finish no request, so warm-up gives up at its
// limit and they are reported starved; the hooks bracket the window.
//
// The window ends when the served connection has finished a request in it
// (a cancel), not after a fixed time a loaded machine may spend elsewhere.
// The server counts the requests it reads; the count at the window's start
// is A; read A+1 comes after the start, so its echo ends a request inside
// the window, and read A+2 is sent only after that request ended.
func TestBenchStarvedAndHooks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang bound
	defer cancel()
	var once sync.Once
	var reads, readsAtStart atomic.Int64
	readsAtStart.Store(-1)
	addr := testServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		served := false
		once.Do(func() { served = true })
		if !served {
			io.Copy(io.Discard, c)
			return
		}
		buf := make([]byte, 16) // one request: the generator sends the next once this one is echoed
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if a := readsAtStart.Load(); reads.Add(1) >= a+2 && a >= 0 {
				cancel()
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	var calls []string
	start := time.Now()
	r, err := Bench(ctx, BenchConfig{
		Addr: addr, Workload: WorkloadEcho, Conns: 3, Size: 16, Duration: time.Minute,
		Warmup: 150 * time.Millisecond,
		Started: func() {
			calls = append(calls, "started")
			readsAtStart.Store(reads.Load())
		},
		Stopped: func() { calls = append(calls, "stopped") },
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Starved != 2 || r.Requests == 0 {
		t.Errorf("starved %d with %d requests, want 2 starved and some requests", r.Starved, r.Requests)
	}
	if r.WarmupSeconds < 0.14 || time.Since(start) > 5*time.Second {
		t.Errorf("warm-up %.3fs: should have waited its 150ms for the starved connections", r.WarmupSeconds)
	}
	if strings.Join(calls, ",") != "started,stopped" {
		t.Errorf("hooks called %v", calls)
	}
}

// TestBenchCancel: a cancel ends a run of a minute at once, with what was
// measured so far. The server cancels when it reads a connection's second
// request: the first one has then finished, inside the window (there is no
// warm-up), so the report has requests to show, however slow the machine.
func TestBenchCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang bound
	defer cancel()
	var cancelledAt atomic.Int64 // time.Now().UnixNano() at the cancel
	addr := testServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		buf := make([]byte, 64)
		for n := 1; ; n++ {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if n == 2 && cancelledAt.CompareAndSwap(0, time.Now().UnixNano()) {
				cancel()
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	start := time.Now()
	r, err := Bench(ctx, BenchConfig{Addr: addr, Workload: WorkloadEcho, Conns: 2, Size: 64, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	if cancelledAt.Load() == 0 {
		t.Fatalf("the server never read a second request in %v (%d requests measured)", el, r.Requests)
	}
	late := time.Since(time.Unix(0, cancelledAt.Load()))
	if late > 5*time.Second || r.Seconds > el.Seconds() || r.Requests == 0 {
		t.Errorf("cancelled run ended %v after the cancel (%v in all), measured %.2fs and %d requests", late, el, r.Seconds, r.Requests)
	}
}

// TestBenchAllocationsDoNotGrowWithRequests: the generator allocates per
// connection, never per request. Ten times the requests must not cost
// anywhere near ten times the allocations.
func TestBenchAllocationsDoNotGrowWithRequests(t *testing.T) {
	addr := testServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		buf := make([]byte, 256)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	mallocs := func(requests int64) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Bench(context.Background(), BenchConfig{
			Addr: addr, Workload: WorkloadEcho, Conns: 4, Size: 64, Requests: requests, Warmup: time.Second,
		}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	small, large := mallocs(1000), mallocs(10000)
	if large > small+2000 {
		t.Errorf("1000 requests: %d allocations; 10000 requests: %d", small, large)
	}
}

func TestBenchReportText(t *testing.T) {
	r := &BenchReport{
		Workload: WorkloadEcho, Target: "127.0.0.1:5090", Conns: 3, Size: 64, Seconds: 1,
		Requests: 1000, RequestsPerSec: 1000, BytesVerified: 64000, Starved: 2,
		Errors:         map[string]int64{"read: connection reset by peer": 3},
		ClientCPUShare: 0.95, ClientSyscallsPerRequest: 3,
		Latency: Latency{P50: 80, P90: 120, P99: 1500, P999: 2e6, Max: 2.5e6},
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{"1000 (1000/s)", "p99 1.50ms", "p99.9 2.00s", "2 of 3 connections", "3  read: connection reset by peer", "client-bound"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestBenchProgress: a run longer than a second redraws one line in place
// (carriage return, erase line) with the elapsed time, the requests, the
// rate and the p99 so far, about four times a second, and erases it at the
// end so the report starts on a clean line.
func TestBenchProgress(t *testing.T) {
	tcp := testServer(t, "tcp", "127.0.0.1:0", echo)
	var progress strings.Builder
	r, err := Bench(context.Background(), BenchConfig{
		Addr: tcp, Workload: WorkloadEcho, Conns: 2, Size: 64,
		Duration: 1600 * time.Millisecond, Warmup: 2 * time.Second, Stall: 10 * time.Second,
		Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	const redraw = "\r\033[K"
	out := progress.String()
	if !strings.HasSuffix(out, redraw) {
		t.Errorf("the display is not erased at the end: %q", tail(out, 80))
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out, redraw), redraw), redraw)
	if len(lines) < 1 {
		t.Fatalf("no progress line in a %v run: %q", 1600*time.Millisecond, out)
	}
	line := regexp.MustCompile(`^ *\d+\.\ds  (\d+) requests  \d+/s  p99 \S+  errors 0$`)
	// A warm-up that outlasts the first second (a loaded machine that
	// leaves the server's goroutines no turn) has its own line.
	warming := regexp.MustCompile(`^ *\d+\.\ds  warming up: [0-2] of 2 connections answered$`)
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil && warming.MatchString(l) {
			continue
		}
		if m == nil {
			t.Errorf("progress line %q: want elapsed, requests, rate, p99, errors", l)
			continue
		}
		if n, _ := strconv.ParseInt(m[1], 10, 64); n > r.Requests {
			t.Errorf("progress shows %d requests, the run made %d in all", n, r.Requests)
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestBenchConnectSpreadsSources: under connect to IPv4 loopback, the
// connections come from several loopback addresses in turn, so that the
// port space of one source address toward one server (TIME_WAIT) does not
// cap the rate.
func TestBenchConnectSpreadsSources(t *testing.T) {
	var mu sync.Mutex
	peers := map[string]int{}
	addr := testServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		mu.Lock()
		peers[host]++
		mu.Unlock()
		io.Copy(c, c)
	})
	r, err := Bench(context.Background(), BenchConfig{
		Addr: addr, Workload: WorkloadConnect, Conns: 2, Size: 16, Requests: 4 * connectSources,
		Warmup: time.Second, Stall: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) != 0 {
		t.Fatalf("errors %v", r.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != connectSources {
		t.Errorf("connections came from %d addresses (%v), want %d", len(peers), peers, connectSources)
	}
}
