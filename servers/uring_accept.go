package servers

import (
	"fmt"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The uring model's accepts: one (multishot where the kernel has it)
// accept request, and what the server does when accept fails, as
// sys.ClassifyAccept says: skip, shed with the spare descriptor, or pause.

func (s *uringServer) armAccept() {
	s.sqe().PrepAccept(s.lfd, unix.SOCK_CLOEXEC, s.feat.multishotAccept, userData(kindAccept, 0, 0))
	s.acceptArmed = true
}

// accepted handles an accept's completion: a new connection, or why not.
func (s *uringServer) accepted(c sys.CQE) {
	if !c.More() {
		s.acceptArmed = false
	}
	err := c.Err()
	switch {
	case err == nil:
		if s.feat.multishotAccept {
			s.acceptProven = true
		}
		s.open(int(c.Res))
	case err == unix.ECANCELED:
	case err == unix.EINVAL && s.feat.multishotAccept && !s.acceptProven:
		s.cfg.logf("io_uring: this kernel refuses multishot accept (%v): one accept request per connection", err)
		s.feat.multishotAccept = false
	default:
		switch sys.ClassifyAccept(err) {
		case sys.AcceptNoDescriptors:
			s.shed(err)
		case sys.AcceptNoMemory:
			s.cfg.logf("accept: %v: not accepting for %v", err, acceptBackoff)
			s.pause()
		case sys.AcceptRetry:
		default:
			s.fail(fmt.Errorf("accept: %w", err))
			return
		}
	}
	if !s.acceptArmed && !s.stopping && !s.pauseArmed && !s.listenArmed {
		s.armAccept()
	}
}

// shed turns away a connection accept had no descriptor for, with the
// spare descriptor (reserve.go), then waits for the next connection to
// arrive before it tries accept again.
//
// The wait matters more here than anywhere else. accept(2) takes the new
// descriptor before it looks at the queue, so at the limit it fails with
// EMFILE whether or not anyone is waiting; an event loop only calls it when
// poll says the listening socket is readable, but an io_uring accept
// request tries at once when submitted. Armed again straight away it would
// fail again straight away, forever: a spin. So the server polls the
// listening socket (a POLL_ADD request) and accepts again only once a
// connection is there: either descriptors were freed and it is served, or
// it is shed too.
//
// Without a spare it stops accepting for acceptBackoff.
func (s *uringServer) shed(err error) {
	if shed(s.cfg, s.st, s.lfd, unix.SOCK_NONBLOCK, err) == shedNoSpare {
		s.pause()
		return
	}
	// Shed, or nobody was waiting after all (shedEmpty), or the accept's
	// own failure (a connection aborted in the queue): wait for the next.
	if s.acceptArmed {
		s.cancel(userData(kindAccept, 0, 0))
	}
	s.sqe().PrepPollAdd(s.lfd, unix.POLLIN, userData(kindListen, 0, 0))
	s.listenArmed = true
}

// pause stops accepting for acceptBackoff, with a timer request.
func (s *uringServer) pause() {
	if s.acceptArmed {
		s.cancel(userData(kindAccept, 0, 0))
	}
	s.pauseTS = timespec(acceptBackoff)
	s.sqe().PrepTimeout(&s.pauseTS, userData(kindPause, 0, 0))
	s.pauseArmed = true
}
