package servers

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The parent's side of the forking models: fork children, know which are
// ours, reap them, count what they did, end them on stop.
//
// Reaping. A child that ends stays a zombie until its parent waits for it.
// The parent waits with wait4(-1, WNOHANG) in a loop (sys.Reap) after each
// accept and whenever SIGCHLD arrives (signal.Notify: a goroutine reaps), so
// no zombie outlives the next accept or signal. The loop matters: signals of
// one kind do not queue, and one SIGCHLD may announce several ended
// children.
//
// wait4(-1) takes any child of the process, so the table of whose child is
// whose (family) is process-wide: two forking servers in one process, as in
// the tests, reap for each other and hand each pid to its owner. The table's
// lock is held from fork to registration, so a child that ends at once is
// never reaped before it is known. The models own every child of the
// process: do not run them next to os/exec in one process.

// family is the process's table of forked children. Its mutex also guards
// childArgs, the parent's message to the child being forked.
var family struct {
	mu    sync.Mutex
	owner map[int]*children
}

// children are the forked children of one server.
type children struct {
	cfg *Config
	st  *Stats

	// Under family.mu:
	live     map[int]int  // pid -> slot in counts
	free     []int        // slots of reaped children
	next     int          // first slot never used
	counts   []childCount // shared with the children (sys.MapShared)
	mem      []byte
	stopping bool
	killed   int  // ended by a signal we did not send
	sentKill bool // stop has sent SIGKILL
	stopped  int  // workers ended by stop's signals (workers only)

	// workers marks a pool's children (prefork, passfd): only a stop ends
	// them, so a stop reports them in one line, "Stopped 4 workers", not
	// one "killed by signal 15 (SIGTERM)" each, as if they had failed. A
	// worker that ended otherwise is still reported. Set before the first
	// spawn.
	workers bool

	reaped chan struct{} // a child of ours was reaped (capacity 1)
	sigc   chan os.Signal
	done   chan struct{}
	wg     sync.WaitGroup
}

// overflowSlot is the index of the slot children share when every slot is
// in use: their counts then race and may lose updates, which is all it
// costs.
func (c *children) overflowSlot() int { return len(c.counts) - 1 }

// newChildren prepares for up to slots concurrent children (more share one
// slot) and starts reaping on SIGCHLD. cfg.Log must already be safe for
// concurrent use (lockedWriter).
func newChildren(cfg *Config, st *Stats, slots int) (*children, error) {
	size := (slots + 1) * int(unsafe.Sizeof(childCount{}))
	mem, err := sys.MapShared(size)
	if err != nil {
		return nil, err
	}
	c := &children{
		cfg: cfg, st: st, live: map[int]int{}, mem: mem,
		counts: unsafe.Slice((*childCount)(unsafe.Pointer(&mem[0])), slots+1),
		reaped: make(chan struct{}, 1),
		sigc:   make(chan os.Signal, 1),
		done:   make(chan struct{}),
	}
	// Ask for SIGCHLD before the first fork, so no child's end goes unheard.
	signal.Notify(c.sigc, unix.SIGCHLD)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			select {
			case <-c.sigc:
				reapChildren()
			case <-c.done:
				return
			}
		}
	}()
	return c, nil
}

// spawn forks a child that runs child (a nosplit function of forkchild.go)
// after args has filled childArgs for it, and registers it.
func (c *children) spawn(child func() int, args func()) (int, error) {
	family.mu.Lock()
	defer family.mu.Unlock()
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
	args()
	childArgs.counts, childArgs.slot = c.counts, slot
	pid, err := sys.Fork(child)
	if err != nil {
		if slot != c.overflowSlot() {
			c.free = append(c.free, slot)
		}
		return -1, err
	}
	if family.owner == nil {
		family.owner = map[int]*children{}
	}
	family.owner[pid] = c
	c.live[pid] = slot
	return pid, nil
}

// count is how many children are running (or ended and not yet reaped).
func (c *children) count() int {
	family.mu.Lock()
	defer family.mu.Unlock()
	return len(c.live)
}

// reapChildren reaps every ended child of the process and tells its owner.
func reapChildren() {
	family.mu.Lock()
	defer family.mu.Unlock()
	sys.Reap(func(pid int, ws unix.WaitStatus) {
		if c := family.owner[pid]; c != nil {
			delete(family.owner, pid)
			c.ended(pid, ws)
		}
	})
}

// ended accounts for a reaped child; family.mu is held.
func (c *children) ended(pid int, ws unix.WaitStatus) {
	slot := c.live[pid]
	delete(c.live, pid)
	if slot != c.overflowSlot() {
		c.harvest(slot)
		c.free = append(c.free, slot)
	}
	c.st.Children.Add(1)
	how, quiet := "", false
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
	case ws.Exited():
		how = ": " + c.childError(unix.Errno(ws.ExitStatus()))
	case c.workers && c.stopping && ws.Signaled() &&
		(ws.Signal() == unix.SIGTERM || ws.Signal() == unix.SIGKILL && c.sentKill):
		c.stopped++ // ended by the stop, as asked: said once, by stop
		quiet = true
	default:
		if ws.Signaled() && !c.stopping {
			c.killed++
		}
		how = ": " + sys.ExitDescription(ws)
	}
	if !quiet {
		c.cfg.logf("Reaped child process: %d%s", pid, how)
	}
	select {
	case c.reaped <- struct{}{}:
	default:
	}
}

// childError explains a child's exit status, which is the errno that ended
// its conversation (forkchild.go).
func (c *children) childError(e unix.Errno) string {
	if e == unix.EAGAIN {
		return fmt.Sprintf("client idle for %v: closed", c.cfg.IdleTimeout)
	}
	return fmt.Sprintf("exit status %d: %v", int(e), e)
}

// harvest adds a slot's counts to the server's and clears it.
func (c *children) harvest(slot int) {
	n := c.counts[slot]
	c.st.Conns.Add(int64(n.conns))
	c.st.Bytes.Add(int64(n.bytes))
	c.counts[slot] = childCount{}
}

// waitRoom returns when fewer than max children run (max 0: no limit), or
// false when ctx ends first: the -max-children bound. Meanwhile the
// connections wait in the listen queue.
func (c *children) waitRoom(ctx context.Context, max int) bool {
	for max > 0 {
		reapChildren()
		if c.count() < max {
			return true
		}
		select {
		case <-c.reaped:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// stopWait is how long stop waits for children to end after SIGTERM
// before it sends SIGKILL, and again after that.
const stopWait = 5 * time.Second

// stop ends every child (SIGTERM, then SIGKILL for those still there after
// stopWait), reaps them all, stops listening for SIGCHLD and releases the
// shared memory.
func (c *children) stop() {
	c.signalAll(unix.SIGTERM, true)
	timer := time.NewTimer(stopWait)
	defer timer.Stop()
	killed := false
wait:
	for {
		reapChildren()
		if c.count() == 0 {
			break
		}
		select {
		case <-c.reaped:
		case <-timer.C:
			if killed {
				c.cfg.logf("%s could not be reaped", childProcesses(c.count()))
				break wait
			}
			c.signalAll(unix.SIGKILL, false)
			killed = true
			timer.Reset(stopWait)
		}
	}
	close(c.done)
	signal.Stop(c.sigc)
	c.wg.Wait()

	family.mu.Lock()
	c.harvest(c.overflowSlot())
	if c.stopped > 0 {
		c.cfg.logf("Stopped %s", count(c.stopped, "worker", "workers"))
	}
	if c.killed > 0 {
		c.cfg.logf("%s crashed or killed (reaped and counted above)", childProcesses(c.killed))
	}
	family.mu.Unlock()
	sys.Unmap(c.mem)
}

// signalAll sends sig to every live child; with the lock held, so that no
// pid is reaped (and perhaps reused) between the look-up and the kill.
func (c *children) signalAll(sig unix.Signal, stopping bool) {
	family.mu.Lock()
	defer family.mu.Unlock()
	if stopping {
		c.stopping = true
		if n := len(c.live); n > 0 && !c.workers {
			c.cfg.logf("Stopping: ending %s", childProcesses(n))
		}
	}
	c.sentKill = c.sentKill || sig == unix.SIGKILL
	for pid := range c.live {
		sys.Kill(pid, sig)
	}
}

// setChildProto writes the protocol into childArgs; family.mu is held.
func setChildProto(p Protocol) {
	childArgs.prefixLen = copy(childArgs.prefix[:], p.Prefix)
	childArgs.quit, childArgs.raw = p.Quit, p.Raw
}

// checkChildProto rejects what a child could not send.
func checkChildProto(p Protocol) error {
	if len(p.Prefix) > maxPrefix {
		return fmt.Errorf("reply prefix of %d bytes: a forked child sends at most %d", len(p.Prefix), maxPrefix)
	}
	return nil
}

// lockedWriter serializes log lines written from several goroutines (the
// accept loop and the SIGCHLD reaper).
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
