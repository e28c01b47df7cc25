package servers

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Running out of descriptors
//
// When a process has as many descriptors open as RLIMIT_NOFILE allows,
// accept(2) fails with EMFILE (ENFILE when the whole system is out). Linux
// takes the new descriptor before it looks at the listen queue, so the
// connection stays queued and the listening socket stays readable: a server
// that merely retries spins at 100% CPU, and one that waits in poll is woken
// again at once, forever. Its clients see nothing either: their connects
// completed in the kernel, and they wait for a reply that never comes.
//
// The reserve-descriptor technique (libev's manual describes it, in "The
// special problem of accept()ing when you can't") keeps one spare
// descriptor open on /dev/null. On EMFILE the server closes
// the spare, which frees exactly one slot, accepts the waiting connection
// into it, closes that connection at once (the client sees end of file: a
// clear refusal instead of a hang), and opens the spare again. The server
// sheds the excess load and serves again as soon as clients leave.

// Reserve is a spare descriptor kept for shedding connections when the
// process is out of descriptors. The zero value holds nothing; Hold opens
// the spare. It is safe for concurrent use.
type Reserve struct {
	mu   sync.Mutex
	fd   int
	held bool

	// gate keeps the accepts of event loops (Accept4) out of the moment
	// between closing the spare and accepting into its slot, when loops
	// run side by side in one process (the reuseport workers): another
	// loop's accept would take the slot, and the shed would lose the
	// spare for as long as the process stays full.
	gate sync.RWMutex
}

// Accept4 is sys.Accept4 for an event loop: on a nonblocking listening
// socket, never inside a Shed's window (see gate).
func (r *Reserve) Accept4(lfd, flags int) (int, sys.Addr, error) {
	r.gate.RLock()
	defer r.gate.RUnlock()
	return sys.Accept4(lfd, flags)
}

// ErrNoReserve is Shed's error when no spare descriptor is held (it could
// not be opened again because the process is still out of descriptors):
// the caller must back off instead of retrying accept at once.
var ErrNoReserve = errors.New("no spare descriptor to shed the connection with")

// spare is the process's reserve: RLIMIT_NOFILE counts the descriptors of
// the whole process, so one spare serves every model running in it. It
// stays open for the life of the process, like the standard descriptors.
var spare Reserve

// runtimePoller makes the runtime set up its poller once (see Hold).
var runtimePoller sync.Once

// Hold opens the spare descriptor unless it is already held. It also makes
// sure the Go runtime has its own poller: the runtime creates its epoll
// instance lazily, at the first timer or pollable file, and if that first
// time comes when the process is out of descriptors, epoll_create fails
// and the runtime aborts ("fatal error: runtime: netpollinit failed").
func (r *Reserve) Hold() error {
	runtimePoller.Do(func() { time.AfterFunc(time.Hour, func() {}).Stop() })
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holdLocked()
}

func (r *Reserve) holdLocked() error {
	if r.held {
		return nil
	}
	fd, err := sys.Open("/dev/null", unix.O_RDONLY)
	if err != nil {
		return err
	}
	r.fd, r.held = fd, true
	return nil
}

// Release closes the spare descriptor.
func (r *Reserve) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held {
		sys.Close(r.fd)
		r.held = false
	}
}

// Shed takes one connection off lfd's queue with the spare's slot and
// closes it: close the spare, accept4(lfd, flags), close the connection,
// open the spare again. On a blocking lfd the accept waits for a
// connection; on a nonblocking one it may fail with EAGAIN (nobody was
// waiting after all). It returns the peer that was turned away, or
// ErrNoReserve when there was no spare to free.
func (r *Reserve) Shed(lfd, flags int) (sys.Addr, error) {
	if flags&unix.SOCK_NONBLOCK != 0 {
		// A nonblocking listening socket (see shed): the accept below
		// cannot wait, so the event loops' accepts may wait for it.
		r.gate.Lock()
		defer r.gate.Unlock()
	}
	r.mu.Lock()
	if r.holdLocked() != nil {
		r.mu.Unlock()
		return sys.Addr{}, ErrNoReserve
	}
	fd := r.fd
	r.held = false
	r.mu.Unlock()
	// The lock is not held across the accept: on a blocking socket it may
	// wait, and another server in the process may need a reserve meanwhile
	// (it opens its own if it can, or backs off).
	sys.Close(fd)
	cfd, peer, err := sys.Accept4(lfd, flags)
	if err == nil {
		sys.Close(cfd)
	}
	r.Hold() // may fail if another thread took the slot; the next Shed retries
	return peer, err
}

// acceptBackoff is how long a server stops accepting when it can neither
// take a connection nor shed one: long enough not to spin, short enough
// that clients barely notice.
const acceptBackoff = 100 * time.Millisecond

// shedResult is what shed did.
type shedResult int

const (
	shedDone    shedResult = iota // a connection was turned away: accept again
	shedEmpty                     // nobody was waiting (EAGAIN): wait for the listening socket
	shedNoSpare                   // nothing to shed with: stop accepting for acceptBackoff
)

// shed turns away the connection that accept could not take for want of a
// descriptor (cause: EMFILE or ENFILE) with the process's spare, counting
// it as refused; flags are the accept4 flags of the model (SOCK_NONBLOCK
// for a nonblocking listening socket).
//
// Linux takes the new descriptor before it looks at the listen queue, so
// accept fails with EMFILE even when nobody is waiting: on a nonblocking
// socket the shed's own accept then says EAGAIN (shedEmpty), and the caller
// must wait for the listening socket to be readable rather than call
// accept again, or it spins. With no spare (shedNoSpare) the caller must
// stop accepting for a while: the listening socket stays readable and
// accept would fail again at once. Any other failure is the accept's own
// (ECONNABORTED; EINVAL after a stop) and is left to the caller's next
// accept.
func shed(cfg *Config, st *Stats, lfd, flags int, cause error) shedResult {
	peer, err := spare.Shed(lfd, flags)
	switch {
	case err == nil:
		st.Refused.Add(1)
		cfg.logf("Out of descriptors (%s): refused the connection from %s", unix.ErrnoName(sys.Errno(cause)), peer)
	case sys.IsTemporary(err):
		return shedEmpty
	case errors.Is(err, ErrNoReserve) || sys.ClassifyAccept(err) == sys.AcceptNoDescriptors:
		// AcceptNoDescriptors: the slot the spare left was taken by another
		// thread before our accept.
		cfg.logf("Out of descriptors (%s) and no spare to shed with: not accepting for %v", unix.ErrnoName(sys.Errno(cause)), acceptBackoff)
		return shedNoSpare
	}
	return shedDone
}

// shedBlocking is shed for a blocking model (iterative, thread), whose
// accept fails with EMFILE at once whether or not a connection waits: if
// one waits (poll(2) with no timeout says the listening socket is
// readable), it is shed; if none does, shedBlocking waits in poll until
// one comes and returns without shedding it, so that the caller's next
// accept takes it normally if descriptors were freed meanwhile. Either way
// the caller does not spin. A stop (shutdown of the listening socket)
// wakes the poll.
func shedBlocking(ctx context.Context, cfg *Config, st *Stats, lfd int, cause error) {
	fds := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
	if n, err := sys.Poll(fds, 0); err != nil || n == 0 {
		fds[0].Revents = 0
		if _, err := sys.Poll(fds, -1); err != nil {
			pause(ctx, acceptBackoff)
		}
		return
	}
	if shed(cfg, st, lfd, 0, cause) == shedNoSpare {
		pause(ctx, acceptBackoff)
	}
}

// pause sleeps for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
