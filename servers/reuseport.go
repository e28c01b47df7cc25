package servers

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("reuseport", Reuseport) }

// Reuseport is the event loop multiplied, as nginx (listen ... reuseport),
// envoy and HAProxy run it: cfg.Workers workers (default: one per CPU),
// each an OS thread with its own listening socket and its own epoll
// instance, sharing nothing. Each worker is the epoll model (epoll.go),
// whole: level- or edge-triggered (cfg.Edge), bounded output buffers,
// idle sweep, the spare descriptor when out of descriptors.
//
// SO_REUSEPORT (Linux 3.9, socket(7)) lets several sockets bind the same
// address and port, provided every one sets it before bind(2) and all
// belong to the same user. The kernel then keeps an accept queue per
// socket and puts each new connection in one of them, chosen by a hash of
// its addresses and ports: the connections spread over the workers with no
// shared queue, no lock between the workers, and no thundering herd. With
// port 0 the first socket gets an ephemeral port and the others bind that
// same port.
//
// The alternative, one listening socket in every worker's epoll, wakes
// every worker for each connection (EPOLLEXCLUSIVE, Linux 4.5, tempers
// that) and lets one worker take most of them: the kernel wakes the
// waiter that slept last, which is the one that just finished its work.
// The hash is even on average but blind to load: a worker busy with one
// heavy client still gets its share of new ones. And when a worker's
// socket closes, the connections waiting in its queue are reset, not
// handed over (hence the BPF programs that steer connections, in servers
// that restart workers one at a time).
//
// Pitfall: any process of the same user that sets SO_REUSEPORT can bind
// the same port and silently receive a share of the connections, a second
// copy of this server left running included. Servers use that on purpose
// to restart without refusing anyone; by mistake it halves the traffic.
//
// A unix: path cannot be shared this way (SO_REUSEPORT is a TCP and UDP
// feature, and a path names one socket): there the workers share one
// listening socket, each with its own descriptor of it (dup), which is
// the alternative above: every worker wakes, accept4 picks one, the others
// get EAGAIN.
//
// Each worker's thread is named reuseport-N (prctl), so top -H and
// /proc/PID/task/*/comm show them, and its log lines start with "worker N:".
// The summary shows how many connections each worker accepted
// (Stats.PerWorker): the spread the kernel chose.
func Reuseport(ctx context.Context, cfg Config) (*Stats, error) {
	n := cfg.Workers
	if n < 1 {
		n = runtime.NumCPU()
	}
	serializeLog(&cfg)
	fds, bound, err := reuseportListeners(&cfg, n)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pid := sys.Getpid()
	stats := make([]*Stats, n)
	errs := make([]error, n)
	// No worker accepts before every worker has its descriptors (eventfd,
	// epoll): at the descriptor limit, the first to accept could otherwise
	// take the slots the last one needs to start.
	var setup, wg sync.WaitGroup
	var failed atomic.Bool
	setup.Add(n)
	for i := range n {
		wcfg := cfg
		wcfg.Ready = nil
		if cfg.Log != nil {
			wcfg.Log = &workerLog{w: cfg.Log, prefix: fmt.Sprintf("worker %d: ", i)}
		}
		taken, started := false, false
		wcfg.listener = func() (int, error) {
			taken = true // from here on, the loop closes it
			return fds[i], nil
		}
		wcfg.started = func() {
			started = true
			setup.Done()
			setup.Wait()
		}
		wg.Go(func() {
			defer workerThread(&wcfg, fmt.Sprintf("reuseport-%d", i), pid)()
			stats[i], errs[i] = Epoll(ctx, wcfg)
			if !taken {
				sys.Close(fds[i])
			}
			if errs[i] != nil {
				cancel() // one worker failing stops the server, as it would a single loop
			}
			if !started {
				failed.Store(true)
				setup.Done()
			}
		})
	}
	setup.Wait()
	if !failed.Load() {
		what := "SO_REUSEPORT socket"
		if cfg.Addr.Family == unix.AF_UNIX {
			what = "descriptor of the one listening socket (no SO_REUSEPORT for unix sockets)"
		}
		cfg.announce(bound)
		cfg.logf("%s, each an OS thread with its own epoll and its own %s", count(n, "worker", "workers"), what)
	}
	wg.Wait()
	if failed.Load() {
		// A worker could not start: nothing was served.
		for i, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("worker %d: %w", i, err)
			}
		}
	}

	st := &Stats{PerWorker: make([]int64, n)}
	for i, s := range stats {
		if s == nil {
			continue
		}
		st.Conns.Add(s.Conns.Load())
		st.Bytes.Add(s.Bytes.Load())
		st.Refused.Add(s.Refused.Load())
		st.PerWorker[i] = s.Conns.Load()
	}
	for i, err := range errs {
		if err != nil {
			return st, fmt.Errorf("worker %d: %w", i, err)
		}
	}
	return st, nil
}

// reuseportListeners opens the n listening sockets: the first on cfg.Addr
// (port 0: the kernel picks one), the others on the port the first got.
// For a unix: path, one socket and n-1 duplicates of its descriptor.
func reuseportListeners(cfg *Config, n int) ([]int, sys.Addr, error) {
	var fds []int
	fail := func(err error) ([]int, sys.Addr, error) {
		for _, fd := range fds {
			sys.Close(fd)
		}
		return nil, sys.Addr{}, err
	}
	a := cfg.Addr
	var bound sys.Addr
	for i := range n {
		var fd int
		var err error
		switch {
		case a.Family == unix.AF_UNIX && i > 0:
			fd, err = sys.Dup(fds[0])
		default:
			var b sys.Addr
			fd, b, err = sys.Listener(a, cfg.backlog(), a.Family != unix.AF_UNIX)
			if i == 0 {
				bound, a.Port = b, b.Port
			}
		}
		if err != nil {
			return fail(err)
		}
		fds = append(fds, fd)
	}
	return fds, bound, nil
}

// workerThread wires the calling goroutine to its OS thread and names the
// thread. It returns what to do when the worker ends: nothing for a thread
// of its own, which ends with the worker (a goroutine that exits locked
// takes its thread along); the process's first thread stays locked to the
// worker but unnamed (naming it would rename the process in ps) and is
// handed back at the end, since Go never lets it end.
func workerThread(cfg *Config, name string, pid int) (end func()) {
	runtime.LockOSThread()
	if sys.Gettid() == pid {
		return runtime.UnlockOSThread
	}
	if err := sys.SetThreadName(name); err != nil {
		cfg.logf("Naming thread %s: %v", name, err)
	}
	return func() {}
}

// workerLog starts each of a worker's log lines with its number. Each
// line is one Write (Config.logf), passed on in one Write to the
// serialized log beneath.
type workerLog struct {
	w      io.Writer
	prefix string
}

func (l *workerLog) Write(p []byte) (int, error) {
	if _, err := l.w.Write(append([]byte(l.prefix), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}
