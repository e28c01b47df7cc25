package servers

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("uring", Uring) }

// Uring serves every client from one thread with io_uring(7): instead of
// asking the kernel which sockets are ready and then calling accept, read
// and write itself (epoll), the server hands the kernel the operations
// themselves (accept this socket, receive on that one, send these bytes)
// as entries in a ring of shared memory, and collects their results from a
// second ring. One io_uring_enter(2) submits every operation prepared since
// the last one and waits for results; at steady state it is the server's
// only system call, and each one carries many requests.
//
// What it asks of the kernel, newest first, each tried and, if refused,
// replaced by the older way with a note in the log:
//
//   - multishot accept (5.19): one accept request that completes once per
//     connection and stays armed;
//   - multishot recv (6.0) on a provided-buffer ring (5.19): one recv
//     request per connection that completes each time data arrives, into a
//     buffer the kernel picks from a shared pool, so an idle connection ties
//     up no buffer at all; without multishot, one recv per arrival, and
//     without the pool, one 16 KiB buffer per connection;
//   - IORING_SETUP_DEFER_TASKRUN (6.1): completions are processed only
//     when the server asks for them, in batches, never by interrupting it.
//
// Sends are one request per batch of replies, closes are requests too, so a
// connection's whole life (accept, every recv and send, close) costs no
// system call of its own but one getpeername(2), for the log line: a
// multishot accept cannot hand over the peer's address safely (the kernel
// writes every connection's into the same place).
//
// An accept request reads RLIMIT_NOFILE when it is submitted, so lowering
// the limit of a running server (prlimit --pid) reaches the multishot
// accept only when it is next armed; a limit set before the start holds.
//
// Like the event loops it keeps at most outLimit bytes of replies per
// client: beyond that it cancels the client's recv until the client reads
// its echo (backpressure). -idle-timeout is a periodic timer request that
// sweeps for silent clients. A stop (ctx) writes to an eventfd the ring
// polls; the server then cancels every request, waits for each to complete
// (the kernel may still be using their buffers until then), closes every
// socket and unmaps the rings.
func Uring(ctx context.Context, cfg Config) (*Stats, error) {
	return serveUring(ctx, cfg, uringTryAll)
}

// uringFeatures are the newer io_uring abilities the model tries.
type uringFeatures struct {
	deferTaskrun    bool // IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN
	bufRing         bool // recvs take their buffers from a provided-buffer ring
	multishotAccept bool
	multishotRecv   bool // only with bufRing: a multishot recv has no buffer of its own
	batchWait       bool // wait for several completions when busy (IORING_FEAT_MIN_TIMEOUT)
}

var uringTryAll = uringFeatures{deferTaskrun: true, bufRing: true, multishotAccept: true, multishotRecv: true, batchWait: true}

const (
	uringEntries = 1024  // submission slots: more than one batch of completions asks for
	uringCQ      = 16384 // completion slots: multishot requests post many each
	// uringBufs provided buffers of uringBufSize bytes (16 MiB), shared by
	// every client. Many small buffers rather than few large ones: between
	// two io_uring_enter every busy client may hold one, and a ring that
	// runs dry ends each multishot recv with ENOBUFS, to be armed again.
	uringBufs    = 4096
	uringBufSize = 4096
	uringBgid    = 1   // the buffer group
	uringBatch   = 512 // completions handled between two io_uring_enter
	// A busy server with at least batchFrom clients waits in io_uring_enter
	// for one in batchDiv of them to have completions (at most batchMax),
	// or for uringMinWait, whichever comes first: see batch.
	batchFrom    = 200
	batchDiv     = 16
	batchMax     = 64
	uringMinWait = 50 * time.Microsecond
	// uringStopGrace bounds how long a stop waits for cancelled requests
	// to complete before it closes the ring anyway.
	uringStopGrace = 5 * time.Second
)

// uringKind says what a request was; with a connection's generation and
// slot it makes the request's user data, which its completions carry back.
// The generation (a count of connections, 24 bits of it) keeps a request of
// a connection that is gone from being taken for one of the connection that
// got its slot next.
type uringKind uint8

const (
	kindAccept uringKind = iota + 1
	kindStop             // POLL_ADD on the eventfd: ctx ended
	kindSweep            // timer: look for idle clients
	kindPause            // timer: accept again after running out of descriptors
	kindListen           // POLL_ADD on the listening socket: a connection waits
	kindGrace            // timer: a stop has waited long enough
	kindCancel           // ASYNC_CANCEL, whose own result does not matter
	kindRecv
	kindSend
	kindClose
)

const genMask = 1<<24 - 1

func userData(k uringKind, gen, slot uint32) uint64 {
	return uint64(k)<<56 | uint64(gen&genMask)<<32 | uint64(slot)
}

func splitUserData(u uint64) (k uringKind, gen, slot uint32) {
	return uringKind(u >> 56), uint32(u>>32) & genMask, uint32(u)
}

// uringServer is the whole server's state; only its own thread touches it.
type uringServer struct {
	cfg  *Config
	st   *Stats
	feat uringFeatures
	ring *sys.Ring
	bufs *sys.BufRing // nil: each connection recvs into its own buffer
	lfd  int
	efd  int // eventfd, written when ctx ends

	conns []*uringConn // by slot, nil where free
	free  []uint32     // free slots
	gen   uint32       // connections so far
	live  int          // connections not yet closed

	acceptArmed, acceptProven bool // acceptProven: multishot accept has worked
	recvProven                bool // multishot recv has worked
	stopArmed, sweepArmed     bool
	sweepDue                  bool // the sweep's timer fired in this batch
	pauseArmed, graceArmed    bool
	listenArmed               bool
	stopping, graceOver       bool

	start     time.Time
	now       time.Duration // since start, read once per batch of completions
	sweepTS   sys.KernelTimespec
	pauseTS   sys.KernelTimespec
	graceTS   sys.KernelTimespec
	cqes      []sys.CQE
	lastBatch int       // completions handled after the last io_uring_enter
	counts    RingStats // for the summary
	err       error     // a failure that ends the server
	dummy     sys.SQE   // handed out when the ring cannot take more; never submitted
}

func serveUring(ctx context.Context, cfg Config, feat uringFeatures) (*Stats, error) {
	// With IORING_SETUP_SINGLE_ISSUER the kernel accepts submissions only
	// from the thread that created the ring, and with DEFER_TASKRUN only
	// that thread can collect completions: the goroutine must not move.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	s := &uringServer{cfg: &cfg, st: &Stats{}, feat: feat, lfd: -1, efd: -1, start: time.Now(),
		cqes: make([]sys.CQE, uringBatch)}
	if err := s.newRing(); err != nil {
		return nil, err
	}
	defer s.teardown()
	efd, err := sys.Eventfd(0)
	if err != nil {
		return nil, err
	}
	s.efd = efd
	defer sys.Close(efd)
	spare.Hold() // see reserve.go; a server without one still runs
	// The Go runtime opens its own epoll descriptor the first time a timer
	// is armed, and cannot live without it (at the descriptor limit:
	// "fatal error: runtime: netpollinit failed"). This server arms none
	// before it is serving, so arm one now, while descriptors are free.
	time.AfterFunc(time.Hour, func() {}).Stop()
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	s.lfd = lfd
	defer sys.Close(lfd)
	// Nonblocking, so that shedding a connection with accept4 (reserve.go)
	// never waits; io_uring's own accepts poll the socket all the same.
	if err := sys.SetNonblock(lfd, true); err != nil {
		return nil, err
	}
	s.registerBufRing()
	if cfg.Verbose {
		cfg.logf("io_uring: %d submission and %d completion slots; %s", s.ring.Params.SqEntries, s.ring.Params.CqEntries, s.describe())
	}

	// Another goroutine sees ctx end; the ring sees the eventfd it writes.
	// It must be gone before efd is closed (see sys.OnCancel).
	release := sys.OnCancel(ctx, func() { sys.EventfdSignal(efd) })
	err = s.run()
	release()
	counts := s.counts
	s.st.Ring = &counts
	return s.st, err
}

// run is the loop: hand the kernel what is prepared and wait for at least
// one completion in a single io_uring_enter, then handle every completion
// there is, which prepares the next requests. It returns once a stop has
// closed every connection, or on a failure of the ring itself.
func (s *uringServer) run() error {
	s.armStop()
	s.armAccept()
	if s.cfg.IdleTimeout > 0 {
		s.armSweep()
	}
	for {
		if s.stopping && s.quiet() {
			return s.err
		}
		if s.err != nil {
			return s.err
		}
		if s.ring.Ready() == 0 {
			if s.bufs != nil {
				s.bufs.Publish()
			}
			batch := s.batch()
			s.counts.Enters++
			if batch > 1 {
				s.counts.BatchWaits++
			}
			if _, err := s.ring.SubmitAndWaitBatch(batch, uringMinWait); err != nil {
				switch sys.Errno(err) {
				case unix.EBUSY, unix.EAGAIN:
					// Completions are stuck in the overflow list, or the
					// kernel was short of memory: handle what there is.
					if s.ring.Ready() == 0 {
						time.Sleep(time.Millisecond)
					}
				default:
					return err
				}
			}
		}
		s.now = time.Since(s.start)
		n := s.ring.Reap(s.cqes)
		s.lastBatch = n
		s.counts.Completions += int64(n)
		for _, c := range s.cqes[:n] {
			s.handle(c)
		}
		// The sweep judges once every completion of the batch is counted:
		// after a stop (SIGSTOP, a long pause) the timer's completion can
		// come before that of a send the peer made room for meanwhile, and
		// the send, retried, fills the queue the sweep compares.
		if s.sweepDue {
			s.sweepDue = false
			if !s.stopping {
				s.sweep()
				s.armSweep()
			}
		}
		if s.graceOver {
			s.cfg.logf("io_uring: requests still pending %v after the stop: closing the ring anyway", uringStopGrace)
			return s.err
		}
	}
}

// batch is how many completions the next io_uring_enter waits for, for at
// most uringMinWait (Ring.SubmitAndWaitBatch); a wait that ends with none
// makes the next one wait for one, without a time limit.
//
// Waiting for one completion, as an event loop waits for one ready socket,
// wakes the server for every few arrivals when a thousand clients keep it
// busy: with IORING_SETUP_DEFER_TASKRUN the kernel queues arrivals as work
// for the server's thread and wakes it at the first, and the thread sleeps
// again as soon as that little work is done. perf shows the cost in
// context switches (finish_task_switch under io_cqring_wait). Asking for a
// batch lets the kernel leave the thread asleep until a batch of arrivals
// is queued, and one io_uring_enter then carries dozens of requests.
//
// Only a busy server asks (the last wait brought more than one completion,
// and many clients are connected): with few clients in flight, holding
// their replies back even 50 µs leaves them, and the machine, idle.
func (s *uringServer) batch() uint32 {
	if !s.feat.batchWait || s.lastBatch <= 1 || s.live < batchFrom {
		return 1
	}
	return uint32(min(s.live/batchDiv, batchMax))
}

// quiet reports whether nothing is left pending but the stop's own timer.
func (s *uringServer) quiet() bool {
	return s.live == 0 && !s.acceptArmed && !s.stopArmed && !s.sweepArmed && !s.pauseArmed && !s.listenArmed
}

// sqe returns a free submission entry, first handing the kernel the full
// ring if it must.
func (s *uringServer) sqe() *sys.SQE {
	if e := s.ring.SQE(); e != nil {
		return e
	}
	if s.bufs != nil {
		s.bufs.Publish() // before any recv the flush submits can look for a buffer
	}
	s.counts.Enters++
	if _, err := s.ring.Submit(); err != nil {
		s.fail(err)
		return &s.dummy
	}
	if e := s.ring.SQE(); e != nil {
		return e
	}
	s.fail(errors.New("io_uring: the kernel takes no more submissions"))
	return &s.dummy
}

func (s *uringServer) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// cancel asks the kernel to cancel the request with user data target.
func (s *uringServer) cancel(target uint64) {
	s.sqe().PrepCancel(target, userData(kindCancel, 0, 0))
}

func timespec(d time.Duration) sys.KernelTimespec {
	return sys.KernelTimespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
}

// handle dispatches one completion.
func (s *uringServer) handle(c sys.CQE) {
	kind, gen, slot := splitUserData(c.UserData)
	switch kind {
	case kindAccept:
		s.accepted(c)
	case kindStop:
		s.stopArmed = false
		s.beginStop()
	case kindSweep:
		s.sweepArmed = false
		s.sweepDue = true
	case kindPause:
		s.pauseArmed = false
		if !s.stopping && !s.acceptArmed {
			s.armAccept()
		}
	case kindListen:
		s.listenArmed = false
		if !s.stopping && !s.acceptArmed && !s.pauseArmed {
			s.armAccept()
		}
	case kindGrace:
		s.graceArmed = false
		s.graceOver = s.stopping && c.Res == -int32(unix.ETIME)
	case kindCancel:
		// 0, ENOENT (it had completed already) or EALREADY: the request's
		// own completion tells what happened.
	case kindRecv, kindSend, kindClose:
		if int(slot) >= len(s.conns) || s.conns[slot] == nil || s.conns[slot].gen != gen {
			s.fail(fmt.Errorf("io_uring: completion %+v for no connection", c))
			return
		}
		conn := s.conns[slot]
		switch kind {
		case kindRecv:
			s.received(conn, c)
		case kindSend:
			s.sent(conn, c)
		case kindClose:
			s.closed(conn, c)
		}
	default:
		s.fail(fmt.Errorf("io_uring: completion %+v of no request", c))
	}
}
