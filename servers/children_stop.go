package servers

import (
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// How the forking models end their children on stop.

// stopWait is how long stop waits for children to end after SIGTERM
// before it sends SIGKILL, and again after that.
const stopWait = 5 * time.Second

// stop ends every child (SIGTERM, then SIGKILL for those still there after
// stopWait), reaps them all, and releases the shared memory. It waits for
// the children one after another, oldest first, each with a poll on its
// pidfd: they were all signalled at once, so this costs no time, and the
// stop reads the same in strace every time.
func (c *children) stop() {
	c.signalAll(unix.SIGTERM, true)
	// The children the model watched by other means (passfd's) are now
	// watched as the others are.
	for _, k := range c.order {
		if k.pidfd >= 0 {
			continue
		}
		if fd, err := sys.PidfdOpen(k.pid); err == nil {
			k.pidfd = fd
			c.byPidfd.set(fd, k)
			c.unwatched--
		}
	}
	deadline := time.Now().Add(stopWait)
	killed := false
	fds := make([]unix.PollFd, 1)
	for c.count() > 0 {
		now := time.Now()
		if !now.Before(deadline) {
			if killed {
				c.cfg.logf("%s could not be reaped", childProcesses(c.count()))
				break
			}
			c.signalAll(unix.SIGKILL, false)
			killed = true
			deadline = now.Add(stopWait)
		}
		wait := deadline.Sub(now)
		k := c.order[0]
		if k.pidfd < 0 {
			sys.Poll(nil, min(wait, reapEvery))
			c.reapUnwatched()
			continue
		}
		fds[0] = unix.PollFd{Fd: int32(k.pidfd), Events: unix.POLLIN}
		if _, err := sys.Poll(fds, wait); err != nil {
			c.cfg.logf("Stopping: %v", err)
			break
		}
		c.reapPolled(fds)
	}
	for _, k := range c.order { // only if some could not be reaped
		if k.pidfd >= 0 {
			sys.Close(k.pidfd)
		}
	}
	c.harvest(c.overflowSlot())
	if c.stopped > 0 {
		c.cfg.logf("Stopped %s", count(c.stopped, "worker", "workers"))
	}
	if c.killed > 0 {
		c.cfg.logf("%s crashed or killed (reaped and counted above)", childProcesses(c.killed))
	}
	sys.Unmap(c.mem)
}

// signalAll sends sig to every live child. Only this goroutine reaps
// them, so none can have been reaped (and its pid reused) meanwhile.
func (c *children) signalAll(sig unix.Signal, stopping bool) {
	if stopping {
		c.stopping = true
		if n := c.count(); n > 0 && !c.workers {
			c.cfg.logf("Stopping: ending %s", childProcesses(n))
		}
	}
	c.sentKill = c.sentKill || sig == unix.SIGKILL
	for _, k := range c.order {
		sys.Kill(k.pid, sig)
	}
}
