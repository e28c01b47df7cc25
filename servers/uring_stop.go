package servers

import (
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// How the uring model ends its clients: the stop (a poll request on the
// eventfd written when ctx ends), which cancels every request, and the
// idle sweep, a timer request.

func (s *uringServer) armStop() {
	s.sqe().PrepPollAdd(s.efd, unix.POLLIN, userData(kindStop, 0, 0))
	s.stopArmed = true
}

// beginStop cancels every request and ends every connection; run returns
// once all their completions are in.
func (s *uringServer) beginStop() {
	if s.stopping {
		return
	}
	s.stopping = true
	if s.live > 0 {
		s.cfg.logf("Stopping: closing %s", count(s.live, "client", "clients"))
	}
	if s.acceptArmed {
		s.cancel(userData(kindAccept, 0, 0))
	}
	if s.stopArmed {
		s.cancel(userData(kindStop, 0, 0))
	}
	if s.sweepArmed {
		s.cancel(userData(kindSweep, 0, 0))
	}
	if s.pauseArmed {
		s.cancel(userData(kindPause, 0, 0))
	}
	if s.listenArmed {
		s.cancel(userData(kindListen, 0, 0))
	}
	for _, c := range s.conns {
		if c != nil {
			s.kill(c)
		}
	}
	s.graceTS = timespec(uringStopGrace)
	s.sqe().PrepTimeout(&s.graceTS, userData(kindGrace, 0, 0))
	s.graceArmed = true
}

// sweepEvery is how often the server looks for idle clients: a client
// silent for IdleTimeout is closed within 1.25 times it, as in the event
// loops.
func (s *uringServer) sweepEvery() time.Duration { return max(s.cfg.IdleTimeout/4, time.Millisecond) }

func (s *uringServer) armSweep() {
	s.sweepTS = timespec(s.sweepEvery())
	s.sqe().PrepTimeout(&s.sweepTS, userData(kindSweep, 0, 0))
	s.sweepArmed = true
}

// sweep ends the clients that moved no byte either way for IdleTimeout:
// silent ones, and those that neither send nor read their echo (even after
// their end of file: a reply stuck behind a peer that never reads).
//
// A send waiting for room is woken by the rule of POLLOUT (a third of the
// socket's send buffer free, see eventLoop.sweep), so a peer that reads
// slowly, or read while this process was not running, may be reading with
// no completion to show for it. For those the sweep looks at the socket's
// send queue: if it shrank since the last sweep, the peer is reading. The
// first look has nothing to compare with, so it judges at the next sweep:
// a client stuck sending is closed within 1.5 times the timeout.
func (s *uringServer) sweep() {
	for _, c := range s.conns {
		if c == nil || c.state == connDead {
			continue
		}
		firstLook := false
		if !c.sendBusy {
			c.outq = -1
		} else if q, err := sys.SendQueued(c.fd); err == nil {
			firstLook = c.outq < 0
			if !firstLook && q < c.outq {
				c.last = s.now
			}
			c.outq = q
		}
		if !firstLook && s.now-c.last >= s.cfg.IdleTimeout {
			s.cfg.logf("Client %s idle for %v: closing", c.name(), s.cfg.IdleTimeout)
			s.kill(c)
		}
	}
}
