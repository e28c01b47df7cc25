package servers

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// The parent's side of the forking models: fork children, know which are
// ours, reap them, count what they did, end them on stop.
//
// Reaping. A child that ends stays a zombie until its parent waits for it.
// A C server learns of the end from SIGCHLD: its handler loops on
// wait4(-1, WNOHANG), which interrupts the parent's accept (EINTR). A Go
// program cannot do that on one thread of its own choosing. The runtime
// owns every signal handler, and a signal sent to the process is taken by
// whichever of its threads gets to it first (often the runtime's monitor,
// not the thread blocked in accept, whose call is then silently
// restarted); signal.Notify hands it to a goroutine on yet another
// thread; and a signalfd sees only signals blocked in every thread, which
// Go's threads do not block. So the parent asks the kernel for a pidfd per
// child (pidfd_open(2), Linux 5.3): a descriptor that poll(2) reports
// readable once that child has ended. The parent sleeps in one poll over
// its listening socket (or its stop eventfd) and its children's pidfds,
// and when a pidfd is readable it reaps that child with wait4(PID) and
// closes the pidfd. No signal is involved, nothing is missed, and a
// zombie lives only until the parent's poll returns: at once when the
// parent is asleep, after its current accept and fork when it is not.
//
// A child whose pidfd cannot be opened (the parent is at its descriptor
// limit: EMFILE) is not lost: while there is one, the poll has a timeout
// of reapEvery, and each wake-up tries wait4(PID, WNOHANG) for it.
//
// passfd needs no pidfds: each worker holds the other end of a channel
// whose end of file the parent already waits for in its epoll set, and
// then reaps that worker with wait4(PID) (ownerReaps).
//
// Every call is made by the goroutine that runs the model: in netprog, the
// main goroutine, which keeps the process's first thread (cmd/netprog
// locks it in an init), so strace -f shows the parent's whole history
// under the process id. Children are reaped by pid, never with wait4(-1),
// so several forking servers in one process (the tests) never reap each
// other's children; os/exec beside them is safe too.

// reapEvery bounds the life of a zombie whose pidfd could not be opened.
const reapEvery = 100 * time.Millisecond

// forking serializes forks across the servers of a process: it guards
// childArgs and passfdArgs, the parent's message to the child being
// forked, from the moment they are written until the child has its copy.
var forking sync.Mutex

// child is one forked child, as its parent knows it.
type child struct {
	pid   int
	pidfd int  // -1: none could be opened; reaped by the reapEvery timeout
	slot  int  // its counters in children.counts
	lost  bool // ownerReaps: the model no longer hears from it (see orphan)
}

// children are the forked children of one server. One goroutine (the
// model's) uses it: nothing here is locked but the fork itself.
type children struct {
	cfg *Config
	st  *Stats

	order     []*child     // the live children, oldest first: the order of the poll set
	byPidfd   pidfdTable   // the watched ones, by pidfd
	recs      []child      // a record per slot (record says why)
	spare     []*child     // records of reaped children beyond the slots, for record
	unwatched int          // live children without a pidfd
	lost      int          // of those, ownerReaps children the model lost track of (orphan)
	free      []int        // slots of reaped children
	next      int          // first slot never used
	counts    []childCount // shared with the children (sys.MapShared)
	mem       []byte
	stopping  bool
	killed    int  // ended by a signal we did not send
	sentKill  bool // stop has sent SIGKILL
	stopped   int  // workers ended by stop's signals (workers only)
	noPidfd   bool // said once that a pidfd could not be opened

	// workers marks a pool's children (prefork, passfd): only a stop ends
	// them, so a stop reports them in one line, "Stopped 4 workers", not
	// one "killed by signal 15 (SIGTERM)" each, as if they had failed. A
	// worker that ended otherwise is still reported. Set before the first
	// spawn.
	workers bool

	// ownerReaps: the model learns of each child's end by other means
	// and calls reap (passfd: its channel's end of file), or orphan when
	// it loses track of one. No pidfds are opened until the stop, which
	// waits for every child the same way.
	ownerReaps bool
}

// overflowSlot is the index of the slot children share when every slot is
// in use: their counts then race and may lose updates, which is all it
// costs.
func (c *children) overflowSlot() int { return len(c.counts) - 1 }

// newChildren prepares for up to slots concurrent children (more share one
// slot).
func newChildren(cfg *Config, st *Stats, slots int) (*children, error) {
	size := (slots + 1) * int(unsafe.Sizeof(childCount{}))
	mem, err := sys.MapShared(size)
	if err != nil {
		return nil, err
	}
	return &children{
		cfg: cfg, st: st, mem: mem, recs: make([]child, slots),
		counts: unsafe.Slice((*childCount)(unsafe.Pointer(&mem[0])), slots+1),
	}, nil
}

// spawn forks a child that runs child (a nosplit function of forkchild.go)
// after args has filled childArgs for it, registers it and opens its pidfd.
func (c *children) spawn(child func() int, args func()) (int, error) {
	slot := c.overflowSlot()
	switch {
	case len(c.free) > 0:
		slot = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case c.next < c.overflowSlot():
		slot = c.next
		c.next++
	}
	if slot != c.overflowSlot() {
		c.counts[slot] = childCount{}
	}
	forking.Lock()
	args()
	childArgs.counts, childArgs.slot = c.counts, slot
	var pid, pidfd int
	var err error
	if c.ownerReaps {
		pid, err = sys.Fork(child)
		pidfd = -1
	} else {
		pid, pidfd, err = sys.ForkPidfd(child) // the pidfd from clone3 itself
	}
	forking.Unlock()
	if err != nil {
		if slot != c.overflowSlot() {
			c.free = append(c.free, slot)
		}
		return -1, err
	}
	c.add(pid, pidfd, slot)
	return pid, nil
}

// add registers a new child and its pidfd, opening one with pidfd_open
// where the fork gave none (clone instead of clone3). A child that has
// already ended is still ours (only its parent's wait removes it), so the
// pidfd cannot name another process.
func (c *children) add(pid, pidfd, slot int) {
	k := c.record(slot)
	*k = child{pid: pid, pidfd: -1, slot: slot}
	c.order = append(c.order, k)
	if c.ownerReaps {
		c.unwatched++
		return
	}
	fd, err := pidfd, error(nil)
	if fd < 0 {
		fd, err = sys.PidfdOpen(pid)
	}
	if err != nil {
		c.unwatched++
		if !c.noPidfd {
			c.noPidfd = true
			c.cfg.logf("Cannot watch child %d: %v: children without a pidfd are reaped within %v", pid, err, reapEvery)
		}
		return
	}
	k.pidfd = fd
	c.byPidfd.set(fd, k)
}

// record is the record for a child in slot. After each fork every page the
// parent writes is a copy-on-write fault (log.go says more), so the
// records are one array, a record per slot, allocated once: a reaped
// child's slot and record go to the next child, and its writes land on a
// page the last one wrote. Children beyond the slots (they share the
// overflow slot) get one a reaped one of them left, or a new one.
func (c *children) record(slot int) *child {
	if slot < len(c.recs) {
		return &c.recs[slot]
	}
	if n := len(c.spare); n > 0 {
		k := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return k
	}
	return new(child)
}

// pidfdTable finds a watched child by its pidfd: a slice indexed by the
// descriptor, which stays short (the kernel hands out the lowest free
// number), where a map assignment would write to more pages.
type pidfdTable []*child

func (t *pidfdTable) set(fd int, k *child) {
	for len(*t) <= fd {
		*t = append(*t, nil)
	}
	(*t)[fd] = k
}

// get is the child whose pidfd is fd, nil if none is.
func (t pidfdTable) get(fd int) *child {
	if fd < 0 || fd >= len(t) {
		return nil
	}
	return t[fd]
}

func (t pidfdTable) del(fd int) {
	if fd >= 0 && fd < len(t) {
		t[fd] = nil
	}
}

// count is how many children are running (or ended and not yet reaped).
func (c *children) count() int { return len(c.order) }

// pollFds appends a POLLIN entry for each live child's pidfd to fds.
func (c *children) pollFds(fds []unix.PollFd) []unix.PollFd {
	for _, k := range c.order {
		if k.pidfd >= 0 {
			fds = append(fds, unix.PollFd{Fd: int32(k.pidfd), Events: unix.POLLIN})
		}
	}
	return fds
}

// timeout is how long the parent may sleep as far as its children are
// concerned: forever (-1) while every one has a pidfd (or the model
// watches them), reapEvery otherwise.
func (c *children) timeout() time.Duration {
	if c.unwatched > 0 && (!c.ownerReaps || c.stopping) || c.lost > 0 {
		return reapEvery
	}
	return -1
}

// setChildProto writes the protocol into childArgs; forking is held.
func setChildProto(p protocol.Echo) {
	childArgs.proto.Set(p)
}

// checkChildProto rejects what a child could not send.
func checkChildProto(p protocol.Echo) error {
	if len(p.Prefix) > protocol.MaxChildPrefix {
		return fmt.Errorf("reply prefix of %d bytes: a forked child sends at most %d", len(p.Prefix), protocol.MaxChildPrefix)
	}
	return nil
}

// lockedWriter serializes log lines written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serializeLog makes cfg's log safe for concurrent lines.
func serializeLog(cfg *Config) {
	if cfg.Log != nil {
		cfg.Log = &lockedWriter{w: cfg.Log}
	}
}

// childProcesses renders "1 child process", "3 child processes".
func childProcesses(n int) string {
	if n == 1 {
		return "1 child process"
	}
	return fmt.Sprintf("%d child processes", n)
}
