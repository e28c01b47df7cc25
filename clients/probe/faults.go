package probe

// The faults a lab produces, as peers: the slow reader, the reset in the
// middle of a reply. The check's probes and the reliability suite's
// TestFaults run these same functions; each returns what it measured and
// leaves the verdict to its caller. The end of file is eof.go's; the
// restart probe, restart.go's.

import (
	"fmt"
	"strings"
	"time"

	"netprog/sys"
)

// SlowReaderOptions shape a slow-reader run.
type SlowReaderOptions struct {
	Proto Protocol
	// Lines floods lines of filler (a framed server's messages); false,
	// filler alone (a raw echo's bytes).
	Lines bool
	Flood int64 // bytes the measured reader offers (0: FloodSize())
	// WarmUp, if set, is echoed to a client that reads, first: with
	// FirstReader, so that what a server allocates once (a ring of
	// buffers, the heap's high-water mark) is in place before its memory
	// is measured.
	WarmUp      int64
	FirstReader bool
	// Between runs after the first reader has gone (a check that the
	// server still serves).
	Between func() error
	// Meanwhile clients each send a line and wait for its reply while the
	// measured reader is stalled, and are ended once it has gone.
	Meanwhile int
	Proc      *Proc // the server, for its memory; nil: not measured
	// Polite readers leave by reading back everything they sent (the
	// server is left nothing half-sent; the notes' servers die of a reset
	// mid-send) and ending the conversation; otherwise they close with
	// their echo unread (a reset).
	Polite bool
	// End is how the polite reader and the meanwhile clients leave (zero:
	// q where the protocol quits, then the server's close).
	End      Ending
	Deadline time.Time
}

// SlowReaderRun is what a slow-reader run measured.
type SlowReaderRun struct {
	Offered, Written int64 // the measured reader's flood, and what went out before it stalled
	Finished         bool  // all of it went out: the server read on without sending
	RSSBefore        int64 // the server's memory before and after the flood (bytes; 0 unmeasured)
	RSSAfter         int64
	Meanwhile        []error // per meanwhile client: nil when answered
	Blocked          []string
	Dropped          error // the server closed or reset the slow reader's connection (the write's error)
	Left             error // a polite leaving that failed
}

// SlowReader runs the slow reader: a client with a 4 KiB receive buffer
// sends opt.Flood bytes and never reads its echo. Its writes stall once
// the server has stopped reading it (backpressure) and every buffer on
// the way is full; a server that reads on without sending either buffers
// the echo (its memory grows) or drops it.
func SlowReader(a sys.Addr, opt SlowReaderOptions) (SlowReaderRun, error) {
	var run SlowReaderRun
	if opt.End == (Ending{}) {
		opt.End = Ending{Proto: opt.Proto, QuitCloses: true}
	}
	if opt.Flood == 0 {
		opt.Flood = FloodSize()
	}
	run.Offered = opt.Flood
	p := opt.Proto
	data := FloodData(p, opt.Lines)
	small := DialOptions{RcvBuf: 4096}
	if opt.WarmUp > 0 {
		if err := BulkEcho(a, p, opt.WarmUp, opt.Deadline); err != nil {
			return run, fmt.Errorf("warm-up: %w", err)
		}
	}
	if opt.FirstReader {
		first, err := Dial(a, opt.Deadline, small)
		if err != nil {
			return run, err
		}
		f := first.StartFlood(data, opt.Flood)
		_, _, err = Stalled(opt.Deadline, f)
		f.Stop()
		if err != nil {
			first.Close()
			return run, fmt.Errorf("first slow reader: %w", err)
		}
		if err := leave(first, f, opt); err != nil {
			return run, fmt.Errorf("first slow reader, leaving: %w", err)
		}
	}
	if opt.Between != nil {
		if err := opt.Between(); err != nil {
			return run, fmt.Errorf("after the first slow reader: %w", err)
		}
	}
	slow, err := Dial(a, opt.Deadline, small)
	if err != nil {
		return run, err
	}
	defer slow.Close()
	// Its echo says the server is serving it (its child forked, its
	// thread started) before memory is measured.
	ready := string(p.filler())
	if opt.Lines {
		ready += "\n"
	}
	if err := slow.Ask(p, ready); err != nil {
		return run, fmt.Errorf("the slow reader's first message: %w", err)
	}
	if opt.Proc != nil {
		run.RSSBefore = opt.Proc.RSS()
	}
	f := slow.StartFlood(data, opt.Flood)
	written, finished, err := Stalled(opt.Deadline, f)
	if opt.Proc != nil {
		run.RSSAfter = opt.Proc.RSS()
	}
	run.Written, run.Finished = written, finished
	// The writer is done with: the buffers stay full, the server stays
	// stuck on them, whether we go on trying to write or not. A write
	// that had failed says the server dropped the client.
	if werr := f.Stop(); werr != nil && !IsTimeout(werr) {
		run.Dropped = werr
	}
	if err != nil {
		return run, err
	}
	var others []*Conn
	for i := range opt.Meanwhile {
		c, err := Dial(a, opt.Deadline, DialOptions{})
		if err != nil {
			run.Meanwhile = append(run.Meanwhile, err)
			continue
		}
		others = append(others, c)
		err = askWatched(c, p, fmt.Sprintf("meanwhile %d\n", i+1), minTime(opt.Deadline, time.Now().Add(replyWait)), opt.Proc)
		if err != nil && opt.Proc != nil {
			run.Blocked = opt.Proc.Syscall()
		}
		run.Meanwhile = append(run.Meanwhile, err)
	}
	if run.Dropped == nil {
		run.Left = leave(slow, f, opt)
	}
	for _, c := range others {
		c.End(opt.End)
	}
	return run, nil
}

// askWatched is Ask, except that with the server watched it stops
// waiting as soon as the server cannot answer: every one of its threads
// is blocked sending (to a client that does not read), twice 200 ms
// apart, with nothing come meanwhile. Nothing but that client's reading
// can move it on.
func askWatched(c *Conn, p Protocol, msg string, deadline time.Time, proc *Proc) error {
	if proc == nil {
		c.SetDeadline(deadline)
		return c.Ask(p, msg)
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	var got []byte
	blocked := 0
	for {
		c.SetDeadline(minTime(deadline, time.Now().Add(200*time.Millisecond)))
		more, err := c.ReadUntil(func(b []byte) bool {
			r := p.parse(append(got[:len(got):len(got)], b...), []byte(msg))
			return r.Whole || r.Wrong
		})
		got = append(got, more...)
		r := p.parse(got, []byte(msg))
		switch {
		case r.Whole:
			return nil
		case r.Wrong || (err != nil && !IsTimeout(err)):
			return fmt.Errorf("reply to %s: %s (%v)", Quote([]byte(msg)), Quote(got), err)
		case time.Now().After(deadline):
			c.owed, c.got, c.proto = []byte(msg), got, p
			return fmt.Errorf("reply to %s: %w (got %s)", Quote([]byte(msg)), err, Quote(got))
		}
		if len(more) > 0 {
			blocked = 0
		} else if proc.AllSending() {
			blocked++
		} else {
			blocked = 0
		}
		if blocked >= 2 {
			c.owed, c.got, c.proto = []byte(msg), got, p
			return fmt.Errorf("no reply to %s: every thread of the server is blocked sending", Quote([]byte(msg)))
		}
	}
}

// leave ends a slow reader: politely (read back all it sent, then end the
// conversation) or not (close with the echo unread: a reset).
func leave(c *Conn, f *Flood, opt SlowReaderOptions) error {
	if !opt.Polite {
		return c.Close()
	}
	c.SetDeadline(opt.Deadline)
	got, err := c.DrainEcho(opt.Proto, f.Written.Load())
	if err != nil {
		c.Close()
		return fmt.Errorf("%s of %s echoed: %w", MiB(got), MiB(f.Written.Load()), err)
	}
	c.End(opt.End)
	return nil
}

// ResetMidReply has n clients (small receive windows) send without
// reading until the server is stuck writing to them, or has stopped
// reading them, and then reset (SO_LINGER 0, close): the server's write
// fails with ECONNRESET or EPIPE. It returns what the clients had written
// when they stalled.
func ResetMidReply(a sys.Addr, p Protocol, n int, lines bool, deadline time.Time) (int64, error) {
	var conns []*Conn
	var floods []*Flood
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	data := FloodData(p, lines)
	for range n {
		c, err := Dial(a, deadline, DialOptions{RcvBuf: 4096})
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		floods = append(floods, c.StartFlood(data, 64<<20))
	}
	written, _, err := Stalled(deadline, floods...)
	for _, f := range floods {
		f.Stop()
	}
	if err != nil {
		return written, err
	}
	for _, c := range conns {
		c.Reset()
	}
	return written, nil
}

func probeSlowReader(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	const rssBound = 24 << 20
	opt := SlowReaderOptions{
		Proto: s.T.Proto, Lines: true, Proc: s.proc(), FirstReader: s.proc() != nil,
		Polite: true, End: s.ending(), Deadline: time.Now().Add(2 * probeWait),
	}
	oneAtATime := s.atOnce == 1
	if !oneAtATime {
		opt.Meanwhile = 1
	}
	run, err := SlowReader(s.T.Addr, opt)
	fig := figures("offered", run.Offered, "written", run.Written, "rss_before", run.RSSBefore, "rss_after", run.RSSAfter)
	if err != nil {
		if refused(err) {
			return lostServer(err)
		}
		return Result{Status: Finding, Figures: fig, Fact: err.Error()}
	}
	fact := fmt.Sprintf("a client that never reads wrote %s of %s", MiB(run.Written), MiB(run.Offered))
	var bad []string
	switch {
	case run.Finished:
		fact += ": all of it"
		bad = append(bad, "the server read on without sending: it buffers (or drops) what the client does not read")
	case run.Dropped != nil:
		fact += fmt.Sprintf(" before the server closed its connection (%v)", run.Dropped)
	default:
		fact += " before the server stopped reading it"
	}
	if opt.Proc != nil {
		grew := run.RSSAfter - run.RSSBefore
		fact += fmt.Sprintf("; server RSS %+d KiB", grew>>10)
		if grew >= rssBound {
			bad = append(bad, fmt.Sprintf("its memory grew by %s", MiB(grew)))
		}
	}
	switch {
	case oneAtATime:
		fact += "; others not asked (it serves one client at a time: see concurrency)"
	case len(run.Meanwhile) > 0 && run.Meanwhile[0] == nil:
		fact += "; another client answered meanwhile"
	case len(run.Meanwhile) > 0:
		why := fmt.Sprintf("another client was not answered meanwhile (%v)", run.Meanwhile[0])
		if len(run.Blocked) > 0 && !strings.Contains(why, "blocked sending") {
			why += fmt.Sprintf(", the server blocked in %s", strings.Join(run.Blocked, ", "))
		}
		bad = append(bad, why+": one blocked send stalls every client")
	}
	if run.Left != nil {
		fact += fmt.Sprintf("; leaving: %v", run.Left)
	}
	if len(bad) > 0 {
		return Result{Status: Finding, Figures: fig, Fact: fact + ": " + strings.Join(bad, "; ")}
	}
	return Result{Status: Pass, Figures: fig, Fact: fact}
}

func probeReset(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	deadline := time.Now().Add(2 * probeWait)
	written, err := ResetMidReply(s.T.Addr, s.T.Proto, 3, true, deadline)
	if err != nil {
		if refused(err) {
			return lostServer(err)
		}
		return finding("%v", err)
	}
	fact := fmt.Sprintf("3 clients stalled after %s and reset", MiB(written))
	if l := s.T.Launcher; l != nil {
		// The notes' servers die of it: give the exception a moment to be
		// printed and the process to end, or the next client is answered
		// by a server on its way out. A live server is not waited for:
		// the next client's conversation below is the proof.
		l.WaitExit(time.Now().Add(200 * time.Millisecond))
		if l.Exited() {
			return finding("%s: the server died: %s%s", fact, l.Status(), l.lastWords())
		}
	}
	_, err = Converse(s.T.Addr, s.ending(), "after the resets\n", time.Now().Add(probeWait))
	if l := s.T.Launcher; l != nil && l.Exited() {
		return finding("%s: the server died: %s%s", fact, l.Status(), l.lastWords())
	}
	if p := s.proc(); p != nil && !p.Alive() {
		return finding("%s: the server (pid %d) died", fact, p.Pid)
	}
	if err != nil {
		if refused(err) {
			return finding("%s: then no server answered (%v): it died", fact, err)
		}
		return finding("%s; the next client: %v", fact, err)
	}
	return pass("%s; the next client answered", fact)
}
