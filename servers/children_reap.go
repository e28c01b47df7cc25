package servers

import (
	"fmt"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Reaping the forking models' children (children.go says how): by pidfd,
// by the owner's word (passfd), or by wait4(PID, WNOHANG) for a child
// without a pidfd; and what a reaped child leaves: its counts, a log line.

// reap waits for the child pid, which the model knows is ending (ownerReaps).
func (c *children) reap(pid int) {
	for _, k := range c.order {
		if k.pid == pid {
			wpid, ws, err := sys.Wait4(pid, 0)
			c.unwatched--
			c.ended(k, ws, err == nil && wpid == pid)
			return
		}
	}
}

// orphan is for a child the model has given up on without knowing that it
// is ending (ownerReaps: passfd's channel failed with an error other than
// its end): it is reaped like a child without a pidfd, by the reapEvery
// timeout, which the model then polls for with reapUnwatched.
func (c *children) orphan(pid int) {
	for _, k := range c.order {
		if k.pid == pid && !k.lost {
			k.lost = true
			c.lost++
		}
	}
}

// reapPolled reaps the children whose pidfds poll reported in fds
// (entries that are not pidfds of ours are skipped), then tries the
// unwatched ones. It returns how many it reaped.
func (c *children) reapPolled(fds []unix.PollFd) int {
	n := 0
	for _, p := range fds {
		if p.Revents != 0 && c.reapPidfd(int(p.Fd)) {
			n++
		}
	}
	return n + c.reapUnwatched()
}

// reapPidfd reaps the child of a readable pidfd (one that is not ours is
// left alone) and closes the pidfd. The child has ended, so wait4 returns
// at once; under strace -f it may wait a moment, since the kernel shows a
// traced child's end to its tracer first.
func (c *children) reapPidfd(fd int) bool {
	k := c.byPidfd.get(fd)
	if k == nil {
		return false
	}
	pid, ws, err := sys.Wait4(k.pid, 0)
	c.byPidfd.del(fd)
	sys.Close(fd)
	if err != nil || pid != k.pid {
		// ECHILD: someone else in this process reaped it (wait4(-1)).
		c.ended(k, 0, false)
		return true
	}
	c.ended(k, ws, true)
	return true
}

// reapUnwatched tries wait4(PID, WNOHANG) for each child without a pidfd.
func (c *children) reapUnwatched() int {
	if c.unwatched == 0 {
		return 0
	}
	n := 0
	for _, k := range append([]*child(nil), c.order...) {
		if k.pidfd >= 0 || c.ownerReaps && !c.stopping && !k.lost {
			continue
		}
		pid, ws, err := sys.Wait4(k.pid, unix.WNOHANG)
		if err == nil && pid == 0 {
			continue // still running
		}
		c.unwatched--
		if k.lost {
			c.lost--
		}
		c.ended(k, ws, err == nil)
		n++
	}
	return n
}

// ended accounts for a reaped child (known: its status ws is known).
func (c *children) ended(k *child, ws unix.WaitStatus, known bool) {
	for i, o := range c.order {
		if o == k {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	if k.slot != c.overflowSlot() {
		c.harvest(k.slot)
		c.free = append(c.free, k.slot)
	}
	c.st.Children.Add(1)
	how, quiet := "", false
	switch {
	case !known:
		how = ": reaped by someone else in this process"
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
		c.cfg.logPid("Reaped child process: ", k.pid, how)
	}
	if k.slot >= len(c.recs) {
		c.spare = append(c.spare, k) // no longer in order or byPidfd: record may reuse it
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
