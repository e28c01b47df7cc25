package servers

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The uring model's ring: set up with the newest flags the kernel takes,
// with its provided-buffer ring if it can have one, and released after the
// loop (uring.go).

// teardown releases the ring after run. Normally every request has
// completed by then. After a failure some may still be pending: closing the
// ring cancels them, asynchronously, so the provided buffers stay mapped
// (the kernel could still pick one) and s stays reachable, with every
// buffer its connections handed to a request, until the ring is closed.
func (s *uringServer) teardown() {
	for _, c := range s.conns {
		if c != nil && !c.closing {
			sys.Close(c.fd)
		}
	}
	if s.bufs != nil && s.quiet() {
		s.bufs.Close()
	}
	s.ring.Close()
	runtime.KeepAlive(s)
}

// newRing sets the ring up, trying the newest setup flags first.
func (s *uringServer) newRing() error {
	base := uint32(sys.IORING_SETUP_CLAMP)
	flags := base
	if s.feat.deferTaskrun {
		flags |= sys.IORING_SETUP_SUBMIT_ALL | sys.IORING_SETUP_SINGLE_ISSUER | sys.IORING_SETUP_DEFER_TASKRUN
	}
	ring, err := sys.NewRing(uringEntries, uringCQ, flags)
	if sys.Errno(err) == unix.EINVAL && flags != base {
		s.cfg.logf("io_uring: this kernel refuses IORING_SETUP_DEFER_TASKRUN (%v): completions are processed as they come", sys.Errno(err))
		s.feat.deferTaskrun = false
		ring, err = sys.NewRing(uringEntries, uringCQ, base)
	}
	if err != nil {
		return uringUnavailable(err)
	}
	s.ring = ring
	probe, err := ring.Probe()
	if err != nil {
		ring.Close()
		return fmt.Errorf("io_uring on this kernel is too old for the uring model (Linux 5.6 or later): %w", err)
	}
	for _, op := range []uint8{sys.IORING_OP_ACCEPT, sys.IORING_OP_RECV, sys.IORING_OP_SEND, sys.IORING_OP_CLOSE,
		sys.IORING_OP_POLL_ADD, sys.IORING_OP_TIMEOUT, sys.IORING_OP_ASYNC_CANCEL} {
		if !probe.Supports(op) {
			ring.Close()
			return fmt.Errorf("this kernel's io_uring lacks %s, which the uring model needs (Linux 5.6 or later)", sys.OpName(op))
		}
	}
	if s.feat.batchWait && ring.Params.Features&sys.IORING_FEAT_MIN_TIMEOUT == 0 {
		s.cfg.logf("io_uring: this kernel has no batch wait (IORING_FEAT_MIN_TIMEOUT, Linux 6.12): each io_uring_enter waits for one completion")
		s.feat.batchWait = false
	}
	return nil
}

// uringUnavailable explains in one line why there is no io_uring.
func uringUnavailable(err error) error {
	switch sys.Errno(err) {
	case unix.ENOSYS:
		return fmt.Errorf("io_uring is not available: %w (a kernel without CONFIG_IO_URING, or a seccomp filter that forbids it)", err)
	case unix.EPERM:
		return fmt.Errorf("io_uring is not permitted: %w (sysctl kernel.io_uring_disabled, or a seccomp filter)", err)
	case unix.ENOMEM:
		return fmt.Errorf("io_uring: %w (before Linux 5.12 the rings count against RLIMIT_MEMLOCK: raise it with ulimit -l)", err)
	}
	return err
}

// registerBufRing sets up the provided-buffer ring, or notes why not.
func (s *uringServer) registerBufRing() {
	if !s.feat.bufRing {
		s.feat.multishotRecv = false
		return
	}
	bufs, err := s.ring.RegisterBufRing(uringBufs, uringBufSize, uringBgid)
	if err != nil {
		s.cfg.logf("io_uring: no provided-buffer ring (%v): each client gets its own %d-byte buffer and one recv per arrival", sys.Errno(err), bufSize)
		s.feat.bufRing, s.feat.multishotRecv = false, false
		return
	}
	s.bufs = bufs
}

func (s *uringServer) describe() string {
	d := "accept: multishot"
	if !s.feat.multishotAccept {
		d = "accept: one per connection"
	}
	switch {
	case s.feat.multishotRecv:
		d += fmt.Sprintf("; recv: multishot into %d shared buffers of %d bytes", uringBufs, uringBufSize)
	case s.feat.bufRing:
		d += fmt.Sprintf("; recv: one per arrival into %d shared buffers of %d bytes", uringBufs, uringBufSize)
	default:
		d += fmt.Sprintf("; recv: one per arrival into a %d-byte buffer per client", bufSize)
	}
	if s.feat.deferTaskrun {
		d += "; completions deferred to io_uring_enter"
	}
	if s.feat.batchWait {
		d += fmt.Sprintf("; when busy, waits up to %v for a batch of completions", uringMinWait)
	}
	return d
}
