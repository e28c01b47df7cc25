package servers

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"netprog/sys"
)

func init() { register("thread", Thread) }

// defaultMaxThreads bounds the thread model when cfg.MaxThreads is 0. The
// Go runtime aborts a program that reaches 10,000 threads
// (runtime/debug.SetMaxThreads), and each thread costs a kernel task and
// its stack.
const defaultMaxThreads = 1000

// Thread is the course's threaded echo server: the main thread accepts, and
// every client gets a kernel thread of its own that talks to it with
// blocking system calls (the thread sleeps in read(2) until the client
// sends), then ends with it.
//
// Go has no threads to start, only goroutines, which the runtime spreads
// over a few threads. runtime.LockOSThread wires a goroutine to the thread
// it runs on; and a goroutine that ends without unlocking takes that
// thread with it: the runtime lets it exit rather than reuse it. So each
// client's goroutine locks, and the runtime must clone(CLONE_THREAD) new
// threads as client threads die: one kernel thread per client, created
// for it and ended with it, as with pthread_create. Its reads and writes
// are raw blocking system calls on a blocking socket; while one sleeps the
// runtime hands the thread's processor (P) to another thread, so the
// others go on.
//
// Each thread is named "client-N" with prctl(PR_SET_NAME), so that
// ps -L -p PID, top -H and /proc/PID/task/*/comm show who is who.
//
// At most cfg.MaxThreads clients are served at once: when all are busy the
// server stops accepting, so further clients wait in the listen queue (their
// connects completed; their first reply waits) rather than being refused,
// the same choice as fork's -max-children. A stop shuts every client socket
// down (shutdown(2) wakes a thread blocked in read; close(2) from another
// thread does not), then waits for the threads to end.
func Thread(ctx context.Context, cfg Config) (*Stats, error) {
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	releaseListener := stopOnCancel(ctx, lfd)
	var conns connSet
	releaseConns := conns.watch(ctx)
	maxThreads := cfg.MaxThreads
	if maxThreads <= 0 {
		maxThreads = defaultMaxThreads
	}
	// Every client thread gets a processor (P) of its own: see procs.
	var ps procs
	defer ps.restore()
	slots := make(chan struct{}, maxThreads)
	var wg sync.WaitGroup
	st := &Stats{}
	defer func() {
		// However the loop ended, every client thread ends before we return.
		conns.shutdownAll()
		wg.Wait()
		releaseConns()
		releaseListener()
		sys.Close(lfd)
	}()
	pid := sys.Getpid()
	for n := 1; ctx.Err() == nil; {
		select {
		case slots <- struct{}{}:
		default:
			cfg.logf("All %d client threads busy: not accepting until one ends", maxThreads)
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return st, nil
			}
		}
		fd, peer, err := accept(ctx, &cfg, st, lfd)
		if err != nil || fd < 0 {
			<-slots
			if err != nil {
				return st, err
			}
			continue
		}
		ps.fit(len(slots)) // the threads running, this one's included
		conns.add(fd)      // after a stop, add shuts it down at once
		name := fmt.Sprintf("client-%d", n)
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			clientThread(&cfg, st, &conns, fd, peer, name, pid)
		}()
	}
	return st, nil
}

// clientThread is a client's kernel thread: it locks its goroutine to the
// thread for good, names the thread, converses on the blocking socket and
// closes it.
func clientThread(cfg *Config, st *Stats, conns *connSet, fd int, peer sys.Addr, name string, pid int) {
	runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
	tid := sys.Gettid()
	if tid == pid {
		// The process's first thread. Naming it would rename the process
		// in ps, and Go never ends it (that would end the process): it is
		// parked for good instead. Rare; give it back to the runtime.
		defer runtime.UnlockOSThread()
		cfg.logf("New child %s (thread %d, the process's main thread: left unnamed)", name, tid)
	} else {
		if err := sys.SetThreadName(name); err != nil {
			cfg.logf("Naming thread %d %s: %v", tid, name, err)
		}
		cfg.logf("New child %s (thread %d)", name, tid)
	}
	cfg.logf("Got the connection from %s", peer)
	converse(cfg, st, newBlockingStream(fd, cfg.IdleTimeout), peer)
	conns.remove(fd)
	sys.Close(fd)
}

// procs keeps GOMAXPROCS at one processor per client thread, plus the
// cores for the rest of the program.
//
// A Go thread runs Go code only while it holds one of GOMAXPROCS
// processors (Ps), and a thread blocked in read(2) keeps its P until the
// runtime's monitor (sysmon) takes it back, 20 µs to 10 ms later. With the
// default, the core count, a thousand client threads would queue for two
// Ps: a thread whose read returned could not write its echo until a P came
// free, and new clients' threads could not start (at 1000 connections the
// benchmark saw seconds between echoes, and 590 connections with none in a
// one-second window). With a P for every thread, a thread that wakes runs
// at once, and the kernel, not the Go scheduler, decides which runs on the
// cores: what pthread_create's threads get in C.
//
// Changing GOMAXPROCS stops the world, so it moves in powers of two: up as
// soon as the threads outnumber the Ps, down when they fill less than a
// quarter of them (an idle P costs little, but every idle thread looking
// for work scans all of them).
type procs struct {
	orig, cur int
}

func (p *procs) fit(threads int) {
	cpus := runtime.NumCPU()
	if p.orig == 0 {
		p.orig = runtime.GOMAXPROCS(0)
		p.cur = p.orig
	}
	want := cpus + 8
	for want-cpus < threads {
		want = cpus + 2*(want-cpus)
	}
	if want > p.cur || (p.cur > cpus+8 && 4*threads < p.cur-cpus) {
		p.cur = want
		runtime.GOMAXPROCS(want)
	}
}

// restore puts GOMAXPROCS back as it was before the first fit.
func (p *procs) restore() {
	if p.orig != 0 {
		runtime.GOMAXPROCS(p.orig)
	}
}
