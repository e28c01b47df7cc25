package clients

import (
	"context"
	"sync"
)

// Several generator threads (BenchConfig.Threads): each runs the one-thread
// generator on its share of the connections, on an OS thread of its own,
// and the threads meet twice, when their windows open and when they close,
// so that the window is one window and the harness's Started and Stopped
// hooks run once, with every thread paused.

// rendezvous lets the threads that are still running wait for each other;
// the last to arrive runs hook, then releases them all. A thread that ends
// without arriving (an error) leaves, so that nobody waits for it.
type rendezvous struct {
	mu       sync.Mutex
	expected int
	arrived  int
	hook     func()
	open     chan struct{}
}

func newRendezvous(n int, hook func()) *rendezvous {
	return &rendezvous{expected: n, hook: hook, open: make(chan struct{})}
}

func (r *rendezvous) arrive() {
	r.mu.Lock()
	r.arrived++
	last := r.arrived == r.expected
	r.mu.Unlock()
	if last {
		r.release()
	}
	<-r.open
}

// leave takes a thread that will never arrive out of the count.
func (r *rendezvous) leave() {
	r.mu.Lock()
	r.expected--
	last := r.arrived > 0 && r.arrived == r.expected
	r.mu.Unlock()
	if last {
		r.release()
	}
}

func (r *rendezvous) release() {
	if r.hook != nil {
		r.hook()
	}
	close(r.open)
}

// benchThreads runs n generator threads and merges what they measured.
func benchThreads(ctx context.Context, cfg BenchConfig, n int) (*BenchReport, error) {
	opened, closed := newRendezvous(n, cfg.Started), newRendezvous(n, cfg.Stopped)
	gens := make([]*generator, n)
	arrived := make([][2]bool, n) // thread i has arrived at the opening, the closing
	for i := range gens {
		sub := cfg
		sub.Threads, sub.Progress = 1, nil
		sub.Conns = share(cfg.Conns, n, i)
		if cfg.Requests > 0 {
			sub.Requests = max(int64(share(int(cfg.Requests), n, i)), 1)
		}
		sub.Started = func() { arrived[i][0] = true; opened.arrive() }
		sub.Stopped = func() { arrived[i][1] = true; closed.arrive() }
		g, err := newGenerator(sub)
		if err != nil {
			for _, g := range gens[:i] {
				g.close()
			}
			return nil, err
		}
		gens[i] = g
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() {
			defer g.close()
			errs[i] = g.run(ctx)
			// A thread that failed before opening or closing its
			// window: the others must not wait for it.
			if !arrived[i][0] {
				opened.leave()
			}
			if !arrived[i][1] {
				closed.leave()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return mergeReports(gens), nil
}

// share is thread i's part of total split n ways.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

// mergeReports adds up the threads' windows: requests, bytes, errors,
// starved connections, calls and CPU time; latencies from the merged
// histograms; the rate over the longest window; the busiest thread's CPU
// share.
func mergeReports(gens []*generator) *BenchReport {
	r := gens[0].report()
	var hist Histogram
	hist.Merge(&gens[0].hist)
	r.Threads = len(gens)
	r.Conns = gens[0].cfg.Conns
	for _, g := range gens[1:] {
		o := g.report()
		r.Conns += o.Conns
		r.Requests += o.Requests
		r.BytesVerified += o.BytesVerified
		r.Starved += o.Starved
		r.ClientCPUSeconds += o.ClientCPUSeconds
		r.ClientCPUShare = max(r.ClientCPUShare, o.ClientCPUShare)
		r.ClientSyscalls += o.ClientSyscalls
		r.Seconds = max(r.Seconds, o.Seconds)
		r.WarmupSeconds = max(r.WarmupSeconds, o.WarmupSeconds)
		for k, v := range o.Errors {
			r.Errors[k] += v
		}
		hist.Merge(&g.hist)
	}
	if r.Seconds > 0 {
		r.RequestsPerSec = float64(r.Requests) / r.Seconds
	}
	r.ClientSyscallsPerRequest = 0
	if r.Requests > 0 {
		r.ClientSyscallsPerRequest = float64(r.ClientSyscalls) / float64(r.Requests)
	}
	r.Latency = Latency{
		P50: us(hist.Quantile(0.50)), P90: us(hist.Quantile(0.90)), P99: us(hist.Quantile(0.99)),
		P999: us(hist.Quantile(0.999)), Max: us(hist.Max()), Mean: us(hist.Mean()),
	}
	return r
}
