package demo

// nonblock-demo: the course's "blocking and non-blocking sockets", shown
// with one connected pair of TCP sockets on loopback and the same
// recvfrom(2) on the same socket, with nothing queued:
//
//  1. blocking (the default): the call sleeps in the kernel until data
//     comes (the peer sends after -delay), however long that is;
//  2. blocking with SO_RCVTIMEO: it sleeps at most that long, then fails
//     with EAGAIN (how the thread model's -idle-timeout works);
//  3. nonblocking (fcntl O_NONBLOCK): it returns at once with EAGAIN
//     ("resource temporarily unavailable": try again later). Calling it
//     again and again until data comes is busy waiting, a CPU at 100%;
//  4. so a nonblocking program asks poll(2) (or select, or epoll) to sleep
//     until the socket is readable, then calls recvfrom, which now returns
//     at once with the data. That is the event-loop models in one call.
//
// strace -T shows the time spent in each call.

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// NonblockOptions are nonblock-demo's settings.
type NonblockOptions struct {
	Delay      time.Duration // how long the peer waits before it sends
	RcvTimeout time.Duration // the SO_RCVTIMEO of step 2 (at least 1ms: 0 would mean none)
}

// Nonblock runs nonblock-demo, writing to out (w is the sending socket).
func Nonblock(out io.Writer, o NonblockOptions) error {
	delay, rcvtimeo := o.Delay, o.RcvTimeout
	r, w, err := loopbackPair()
	if err != nil {
		return err
	}
	defer sys.Close(r)
	defer sys.Close(w)
	ra, _ := sys.Getsockname(r)
	wa, _ := sys.Getsockname(w)
	fmt.Fprintf(out, "A connected pair of TCP sockets on loopback: fd %d (%s) reads, fd %d (%s) sends.\n\n", r, ra, w, wa)
	buf := make([]byte, 64)

	// sendLater has the peer send msg, from another goroutine, delay after
	// start: the moment the wait is timed from, so that what the wait
	// shows is never less than delay, however late either goroutine runs.
	sendLater := func(msg string, start time.Time) <-chan error {
		done := make(chan error, 1)
		go func() {
			time.Sleep(time.Until(start.Add(delay)))
			_, err := sys.Send(w, []byte(msg), 0)
			done <- err
		}()
		return done
	}
	// recv is one recvfrom, timed from start; it says what it got.
	recv := func(start time.Time) (string, time.Duration) {
		n, err := sys.Recv(r, buf, 0)
		took := time.Since(start)
		if err != nil {
			return "failed with " + errnoLine(err), took
		}
		return fmt.Sprintf("returned %d bytes: %q", n, buf[:n]), took
	}

	fmt.Fprintf(out, "1. Blocking recvfrom(%d), nothing queued; the peer sends in %v.\n", r, delay)
	start := time.Now()
	sent := sendLater("hello\n", start)
	res, took := recv(start)
	fmt.Fprintf(out, "   recvfrom slept %v in the kernel, then %s\n\n", roundDuration(took), res)
	if err := <-sent; err != nil {
		return err
	}

	fmt.Fprintf(out, "2. Blocking recvfrom(%d) with SO_RCVTIMEO %v, nothing queued, nobody sends.\n", r, rcvtimeo)
	if err := sys.SetRecvTimeout(r, rcvtimeo); err != nil {
		return err
	}
	res, took = recv(time.Now())
	fmt.Fprintf(out, "   recvfrom slept %v, then %s: the timeout, not data\n\n", roundDuration(took), res)
	if err := sys.SetRecvTimeout(r, 0); err != nil {
		return err
	}

	fmt.Fprintf(out, "3. Nonblocking recvfrom(%d) (fcntl F_SETFL O_NONBLOCK), nothing queued.\n", r)
	if err := sys.SetNonblock(r, true); err != nil {
		return err
	}
	res, took = recv(time.Now())
	fmt.Fprintf(out, "   recvfrom came back at once (%v) and %s\n", roundDuration(took), res)
	fmt.Fprintf(out, "   Calling it again until data comes would be busy waiting; poll(2) sleeps instead.\n\n")

	fmt.Fprintf(out, "4. poll([{fd=%d, events=POLLIN}], 1, 10000); the peer sends in %v.\n", r, delay)
	fds := []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	start = time.Now()
	sent = sendLater("again\n", start)
	n, err := sys.Poll(fds, 10*time.Second)
	took = time.Since(start)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("poll: the peer's data did not come within 10s")
	}
	fmt.Fprintf(out, "   poll slept %v, then returned %d: revents=%s\n", roundDuration(took), n, pollEvents(fds[0].Revents))
	res, took = recv(time.Now())
	fmt.Fprintf(out, "   recvfrom then came back at once (%v) and %s\n", roundDuration(took), res)
	return <-sent
}

// loopbackPair makes a connected pair of TCP sockets on 127.0.0.1: a
// listener on an ephemeral port, a connect, an accept. It returns the
// accepted socket (r) and the connecting one (w).
func loopbackPair() (r, w int, err error) {
	addr, err := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	if err != nil {
		return -1, -1, err
	}
	lfd, bound, err := sys.Listener(addr, 1, false)
	if err != nil {
		return -1, -1, err
	}
	defer sys.Close(lfd)
	w, err = sys.Dial(bound, unix.SOCK_STREAM, 5*time.Second)
	if err != nil {
		return -1, -1, err
	}
	r, _, err = sys.Accept4(lfd, 0)
	if err != nil {
		sys.Close(w)
		return -1, -1, err
	}
	return r, w, nil
}

// errnoLine renders an error as "EAGAIN (resource temporarily unavailable)".
func errnoLine(err error) string {
	if e := sys.Errno(err); e != 0 {
		return unix.ErrnoName(e) + " (" + e.Error() + ")"
	}
	return err.Error()
}

// roundDuration shows waits in milliseconds and quick returns in
// microseconds.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func pollEvents(ev int16) string {
	var s string
	for _, f := range []struct {
		bit  int16
		name string
	}{{unix.POLLIN, "POLLIN"}, {unix.POLLOUT, "POLLOUT"}, {unix.POLLERR, "POLLERR"}, {unix.POLLHUP, "POLLHUP"}} {
		if ev&f.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += f.name
		}
	}
	if s == "" {
		return "0"
	}
	return s
}
