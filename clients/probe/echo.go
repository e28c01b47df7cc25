package probe

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The probes of a stream echo server (echo-server and its kin, and the
// notes' echo servers), and the peers they are made of, which the
// reliability suite's fault tests use too.

// Hang bounds: how long a probe waits for what a server does in
// microseconds when it works. Past them it is a hang, never a judgement
// of speed.
const (
	replyWait = 5 * time.Second  // a reply
	quitWait  = 3 * time.Second  // the close after q or end of file
	probeWait = 10 * time.Second // a probe's whole conversation
)

func probeReply(s *Session) Result {
	switch s.T.Proto.Kind {
	case Greet:
		return greetReply(s)
	case UDP:
		return udpReply(s)
	case Chat:
		return chatReply(s)
	}
	p := s.T.Proto
	c, err := s.dial(time.Now().Add(replyWait), DialOptions{})
	if err != nil {
		s.noServer = fmt.Errorf("%w at %s: %v", ErrNoServer, s.T.Addr, err)
		return Result{}
	}
	defer c.Close()
	const msg = "hello\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return finding("sending %q: %v", msg, err)
	}
	r, err := c.Expect(p, []byte(msg))
	want := Quote([]byte(p.Prefix + msg))
	// Whether the server closes after q is the next probe's question: this
	// one leaves with q (or its end of file) and does not wait to see.
	leave := s.ending()
	leave.QuitCloses = false
	switch {
	case r.Whole && r.Count <= 1:
		s.protoOK = true
		c.End(leave)
		return pass("%q answered %s", msg, Quote(r.Raw))
	case r.Wrong:
		c.End(leave)
		return finding("%q answered %s, want %s: not this protocol (%s)", msg, Quote(r.Raw), want, p.Describe())
	case r.EOF:
		return finding("%q: the server closed the connection after %s, want %s", msg, Quote(r.Raw), want)
	case r.Whole:
		s.protoOK = true
		c.End(leave)
		return pass("%q answered %s (%s)", msg, Quote(r.Raw), plural(r.Count, "reply", "replies"))
	}
	return finding("%q: %s in %v, want %s (%v)", msg, Quote(r.Raw), replyWait, want, err)
}

// askFirst opens a conversation for a probe and has one exchange, so
// that the server is serving it (its child forked, its thread started)
// before the probe's own move.
func (s *Session) askFirst(msg string, opt DialOptions) (*Conn, Result, bool) {
	c, err := s.dial(time.Now().Add(probeWait), opt)
	if err != nil {
		return nil, lostServer(err), false
	}
	c.SetDeadline(time.Now().Add(replyWait))
	if err := c.Ask(s.T.Proto, msg); err != nil {
		c.Close()
		return nil, finding("%v", err), false
	}
	return c, Result{}, true
}

// probeQuitQ: q alone. The server must close: what it sends instead, or
// its silence past quitWait, is the finding. With the server watched, a
// connection left open after q is traced to whoever holds its socket.
func probeQuitQ(s *Session) Result {
	if s.T.Proto.Kind == Chat {
		return chatQuitQ(s)
	}
	if !s.T.Proto.Quit {
		return skip("the protocol has no quit: q is a message like any other")
	}
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	c, r, ok := s.askFirst("before q\n", DialOptions{})
	if !ok {
		return r
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(quitWait))
	if _, err := c.Write([]byte("q")); err != nil {
		return finding("sending q: %v", err)
	}
	got, err := c.firstOrClose()
	took := time.Since(start)
	switch {
	case len(got) > 0:
		s.quitIgnored = true
		c.End(s.ending())
		return Result{Status: Finding, Lesson: lessonQuit, Fact: fmt.Sprintf("q answered %s instead of a close: q taken for a message", Quote(got))}
	case err == nil:
		return pass("closed %s after q", ms(took))
	case !IsTimeout(err):
		return pass("closed after q (%v)", err)
	}
	s.quitCloses = false
	fact := fmt.Sprintf("the connection stayed open %v after q: no reply, no close", quitWait)
	if p := s.proc(); p != nil {
		fact += holdersFact(*p, s.T.Addr, c.Local)
	}
	c.drainNow()
	return finding("%s", fact)
}

// holdersFact says which of the server's processes still hold the
// server's end of a connection, and whether a child that served it is
// gone (the parent's copy keeps it open).
func holdersFact(p Proc, server, client sys.Addr) string {
	inode := connInode(server, client)
	if inode == "" {
		return ""
	}
	h := p.holders(inode)
	switch {
	case len(h) == 1 && h[0] == p.Pid:
		return fmt.Sprintf("; only the server process itself (pid %d) holds its socket: the child that served it is done, the parent's copy keeps it open", p.Pid)
	case len(h) > 0:
		return fmt.Sprintf("; processes %v hold its socket", h)
	}
	return ""
}

func probeQuitCRLF(s *Session) Result {
	if !s.T.Proto.Quit {
		return skip("the protocol has no quit")
	}
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	c, r, ok := s.askFirst("before q CR LF\n", DialOptions{})
	if !ok {
		return r
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(quitWait))
	if _, err := c.Write([]byte("q\r\n")); err != nil {
		return finding("sending q CR LF: %v", err)
	}
	got, err := c.firstOrClose()
	switch {
	case len(got) > 0:
		c.End(s.ending())
		return finding("\"q\\r\\n\" answered %s instead of a close: the line ending makes it a message", Quote(got))
	case err == nil || !IsTimeout(err):
		return pass("closed %s after \"q\\r\\n\"", ms(time.Since(start)))
	case !s.quitCloses:
		c.drainNow()
		return pass("no reply to \"q\\r\\n\" in %v (the connection stays open after any q: see quit/q)", quitWait)
	}
	c.drainNow()
	return finding("the connection stayed open %v after \"q\\r\\n\": no reply, no close", quitWait)
}

// probeTwoInOne: two messages in one send. With a prefix the replies are
// counted; without one, a line and q in one send show whether the q was
// seen as a message of its own.
func probeTwoInOne(s *Session) Result {
	p := s.T.Proto
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	if p.Prefix == "" && !p.Quit {
		return skip("pure echo without a prefix or a quit: one reply or two look the same on the wire")
	}
	c, err := s.dial(time.Now().Add(probeWait), DialOptions{})
	if err != nil {
		return lostServer(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(replyWait))
	if p.Prefix == "" {
		const two = "one\nq\n"
		if _, err := c.Write([]byte(two)); err != nil {
			return finding("sending %q: %v", two, err)
		}
		got, err := c.ReadUntil(func(got []byte) bool { return len(got) >= len(two) })
		closed := err == io.EOF
		switch {
		case string(got) == "one\n" && closed:
			return pass("%q in one segment: %q echoed, then the close (the q seen as a message of its own)", two, got)
		case string(got) == two:
			c.End(s.ending())
			return finding("%q in one segment came back whole, %s: the q was not seen as a message of its own (one read taken for one message)",
				two, map[bool]string{true: "then the close", false: "and the connection stayed open"}[closed])
		}
		c.End(s.ending())
		return finding("%q in one segment: %s (%v)", two, Quote(got), err)
	}
	const two = "one\ntwo\n"
	if _, err := c.Write([]byte(two)); err != nil {
		return finding("sending %q: %v", two, err)
	}
	r, err := c.Expect(p, []byte(two))
	if !r.EOF {
		c.End(s.ending())
	}
	switch {
	case r.Whole && r.Count == 2:
		return pass("2 lines in one segment, 2 replies")
	case r.Whole:
		return Result{Status: Finding, Fact: fmt.Sprintf("2 lines in one segment, %s (%s): one read taken for one message",
			plural(r.Count, "reply", "replies"), Quote(r.Raw)), Figures: figures("replies", r.Count)}
	}
	return finding("2 lines in one segment: %s (%v)", Quote(r.Raw), errOrClosed(err, r.EOF))
}

func errOrClosed(err error, eof bool) string {
	switch {
	case eof:
		return "then the close"
	case err != nil:
		return err.Error()
	}
	return "not the echo of what was sent"
}

// probePieces: one line in two sends, the first held by MSG_MORE so that
// they leave back to back.
func probePieces(s *Session) Result {
	p := s.T.Proto
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	if p.Prefix == "" {
		return skip("no prefix: one reply or two look the same on the wire")
	}
	c, err := s.dial(time.Now().Add(probeWait), DialOptions{})
	if err != nil {
		return lostServer(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(replyWait))
	if _, err := c.WriteMore([]byte("hel")); err != nil {
		return finding("sending \"hel\": %v", err)
	}
	if _, err := c.Write([]byte("lo\n")); err != nil {
		return finding("sending \"lo\\n\": %v", err)
	}
	r, err := c.Expect(p, []byte("hello\n"))
	if !r.EOF {
		c.End(s.ending())
	}
	switch {
	case r.Whole && r.Count == 1:
		return pass("\"hel\" and \"lo\\n\" sent back to back: 1 reply, %s", Quote(r.Raw))
	case r.Whole:
		return finding("\"hel\" and \"lo\\n\" sent back to back: %s (%s)", plural(r.Count, "reply", "replies"), Quote(r.Raw))
	}
	return finding("\"hel\" and \"lo\\n\" sent back to back: %s (%s)", Quote(r.Raw), errOrClosed(err, r.EOF))
}

// probeLong: a line longer than one small recv.
func probeLong(s *Session) Result {
	p := s.T.Proto
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	c, err := s.dial(time.Now().Add(probeWait), DialOptions{})
	if err != nil {
		return lostServer(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(replyWait))
	line := append(bytes.Repeat([]byte{p.filler()}, 4095), '\n')
	if _, err := c.Write(line); err != nil {
		return finding("sending a 4096-byte line: %v", err)
	}
	r, err := c.Expect(p, line)
	if !r.EOF {
		c.End(s.ending())
	}
	switch {
	case r.Whole && p.Prefix == "":
		return pass("a 4096-byte line came back whole (no prefix: how many reads it took cannot be seen)")
	case r.Whole && r.Count == 1:
		return pass("a 4096-byte line in one send: 1 reply")
	case r.Whole:
		return Result{Status: Finding, Figures: figures("replies", r.Count),
			Fact: fmt.Sprintf("a 4096-byte line in one send: %d replies%s: each read answered as a message", r.Count, pieceSizes(r.Raw, p.Prefix))}
	}
	return finding("a 4096-byte line: %s (%s)", Quote(r.Raw), errOrClosed(err, r.EOF))
}

// pieceSizes says how long the replies' pieces were: " of 512 bytes".
func pieceSizes(raw []byte, prefix string) string {
	parts := bytes.Split(raw, []byte(prefix))[1:]
	var sizes []int
	for _, part := range parts {
		if !slices.Contains(sizes, len(part)) {
			sizes = append(sizes, len(part))
		}
	}
	if len(sizes) == 0 {
		return ""
	}
	slices.Sort(sizes)
	if len(sizes) == 1 {
		return fmt.Sprintf(" of %d bytes", sizes[0])
	}
	if len(sizes) == 2 && len(parts) > 2 {
		return fmt.Sprintf(" of %d bytes and one of %d", sizes[1], sizes[0])
	}
	return fmt.Sprintf(" (pieces of %v bytes)", sizes)
}

// Concurrency is what the concurrency peers measured.
type Concurrency struct {
	Talkers      int           // clients that each sent a line and stayed
	Answered     int           // answered while the slow one stayed
	SlowAnswered int           // the slow client's round trips answered meanwhile
	Kept         bool          // a talker's line waited while the slow client was answered Rounds times
	Late         []string      // what became of those not answered even once the slow one had left
	SlowLast     error         // the slow client's last line, before it left: nil when answered
	SlowClosed   bool          // the server closed the slow client's connection when it left
	Closed       int           // talkers whose connection the server closed when they left
	AnsweredLate int           // of the rest, answered once the slow one had left
	Elapsed      time.Duration // until the verdict
	SlowErr      error         // the slow client's last failure
}

// ConcurrencyOptions shape the concurrency peers.
type ConcurrencyOptions struct {
	Talkers int           // 0: 7
	Rounds  int           // the slow client's round trips that make the verdict (0: 20)
	Every   time.Duration // between them (0: 100 ms), after a silence as long at first (0: 200 ms)
	Silence time.Duration
}

// MeasureConcurrency connects one slow client first (silent, then a line
// every Every), then Talkers clients that each send a line and stay
// connected. It returns as soon as every talker is answered, or once the
// slow client has been answered Rounds times while some talker still
// waits: a server that got to run that often and still left them waiting
// serves a bounded number of clients at once. A server that answers
// nobody is judged at the deadline. All clients are then ended politely,
// in order (the slow one first), each waiting for its reply: how many were
// answered late says whether the others were only waiting their turn.
func MeasureConcurrency(a sys.Addr, e Ending, opt ConcurrencyOptions, deadline time.Time) (Concurrency, error) {
	if opt.Talkers == 0 {
		opt.Talkers = 7
	}
	if opt.Rounds == 0 {
		opt.Rounds = 20
	}
	if opt.Every == 0 {
		opt.Every = 100 * time.Millisecond
	}
	if opt.Silence == 0 {
		opt.Silence = 200 * time.Millisecond
	}
	p := e.Proto
	m := Concurrency{Talkers: opt.Talkers}
	slow, err := Dial(a, deadline, DialOptions{})
	if err != nil {
		return m, err
	}
	type talker struct {
		c        *Conn
		msg, got []byte
		sent     bool
		sentAt   int // the slow client's round trips when the line went out
		answered bool
		err      error
	}
	ts := make([]*talker, opt.Talkers)
	start := time.Now()
	// The talkers' connects are started, not waited for: past a small
	// listen backlog the kernel drops a SYN and retries it a second or
	// three later, and those clients wait in the queue like the others.
	for i := range ts {
		t := &talker{msg: []byte(fmt.Sprintf("client %d\n", i+1))}
		ts[i] = t
		t.c, t.err = DialStart(a, deadline, DialOptions{})
	}
	// step sees each talker as far as it can go now: connected, line sent,
	// reply read.
	buf := make([]byte, 4096)
	step := func(t *talker) {
		if t.err != nil || t.answered || t.c == nil {
			return
		}
		if !t.sent {
			ok, err := t.c.Connected()
			if !ok {
				t.err = err
				return
			}
			if _, t.err = t.c.Write(t.msg); t.err != nil {
				return
			}
			t.sent, t.sentAt = true, m.SlowAnswered
		}
		n, err := t.c.TryRead(buf)
		t.got = append(t.got, buf[:n]...)
		r := p.parse(t.got, t.msg)
		switch {
		case r.Whole:
			t.answered = true
		case r.Wrong:
			t.err = fmt.Errorf("%s", Quote(t.got))
		case err != nil:
			t.err = fmt.Errorf("%s (%v)", Quote(t.got), errOrClosed(err, err == io.EOF))
		}
	}
	var failed error
	next := time.Now().Add(opt.Silence)
	for failed == nil {
		m.Answered = 0
		// A talker whose line the server has had while the slow client
		// was answered Rounds times makes the verdict; one whose SYN the
		// kernel dropped (a full listen queue) is not counted until its
		// retry gets it in.
		kept := false
		var fds []unix.PollFd
		for i, t := range ts {
			step(t)
			switch {
			case t.err != nil:
				failed = fmt.Errorf("client %d: %w", i+1, t.err)
			case t.answered:
				m.Answered++
			case !t.sent:
				fds = append(fds, unix.PollFd{Fd: int32(t.c.Fd()), Events: unix.POLLOUT})
			default:
				kept = kept || m.SlowAnswered-t.sentAt >= opt.Rounds
				fds = append(fds, unix.PollFd{Fd: int32(t.c.Fd()), Events: unix.POLLIN})
			}
		}
		m.Elapsed = time.Since(start)
		m.Kept = kept
		if failed != nil || m.Answered == opt.Talkers || kept || time.Now().After(deadline) {
			break
		}
		if !time.Now().Before(next) {
			slow.SetDeadline(deadline)
			if err := slow.Ask(p, fmt.Sprintf("slow %d\n", m.SlowAnswered+1)); err != nil {
				m.SlowErr = err
				next = deadline
			} else {
				m.SlowAnswered++
				next = time.Now().Add(opt.Every)
			}
			continue
		}
		sys.Poll(fds, max(time.Millisecond, time.Until(minTime(next, deadline))))
	}
	// Everyone leaves, the slow one first. Each of the others is ended
	// once its answer has come, so that its q comes alone; in whatever
	// order the server takes them (a connection whose handshake the
	// kernel finished while the listen queue was full joins the queue
	// later than its neighbours).
	// The slow client talks once more, the others still there: a server
	// that serves many at once has not forgotten it.
	slow.SetDeadline(time.Now().Add(replyWait))
	m.SlowLast = slow.Ask(p, "late but here\n")
	m.SlowClosed = slow.End(e)
	ended := make([]bool, len(ts))
	endBy := time.Now().Add(probeWait)
	for {
		var fds []unix.PollFd
		for i, t := range ts {
			if ended[i] || t.c == nil {
				continue
			}
			if failed == nil {
				step(t)
			}
			switch {
			case t.answered:
				if t.c.End(e) {
					m.Closed++
				}
				ended[i] = true
			case t.err != nil || failed != nil:
				t.c.Close()
				ended[i] = true
			case !t.sent:
				fds = append(fds, unix.PollFd{Fd: int32(t.c.Fd()), Events: unix.POLLOUT})
			default:
				fds = append(fds, unix.PollFd{Fd: int32(t.c.Fd()), Events: unix.POLLIN})
			}
		}
		if len(fds) == 0 || time.Now().After(endBy) {
			break
		}
		sys.Poll(fds, 50*time.Millisecond)
	}
	for i, t := range ts {
		switch {
		case t.answered:
		case t.err != nil:
			m.Late = append(m.Late, fmt.Sprintf("client %d: %v", i+1, t.err))
		case !t.sent:
			m.Late = append(m.Late, fmt.Sprintf("client %d: not connected in %v", i+1, probeWait))
		default:
			m.Late = append(m.Late, fmt.Sprintf("client %d: no answer in %v", i+1, probeWait))
		}
		if !ended[i] && t.c != nil {
			t.c.Close()
		}
	}
	total := 0
	for _, t := range ts {
		if t.answered {
			total++
		}
	}
	m.AnsweredLate = total - m.Answered
	return m, failed
}

func probeConcurrency(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	m, err := MeasureConcurrency(s.T.Addr, s.ending(), ConcurrencyOptions{}, time.Now().Add(probeWait))
	fig := figures("talkers", m.Talkers, "answered", m.Answered, "slow_answered", m.SlowAnswered, "answered_late", m.AnsweredLate)
	if err != nil {
		if refused(err) {
			return lostServer(err)
		}
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("%v", err)}
	}
	s.atOnce = m.Answered + 1
	switch {
	case m.Answered == m.Talkers && m.SlowLast != nil:
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("%d of %d clients answered while a slow one stayed connected, but then the slow one was not: %v", m.Answered, m.Talkers, m.SlowLast)}
	case m.Answered == m.Talkers:
		return Result{Status: Pass, Figures: fig, Fact: fmt.Sprintf("%d of %d clients answered in %s while a slow one stayed connected", m.Answered, m.Talkers, ms(m.Elapsed))}
	case m.Kept:
		fact := fmt.Sprintf("%d of %d clients answered while a slow one stayed connected (answered %d times meanwhile)", m.Answered, m.Talkers, m.SlowAnswered)
		if m.AnsweredLate == m.Talkers-m.Answered {
			if m.Answered == 0 {
				fact += fmt.Sprintf("; all %d once it left", m.AnsweredLate)
			} else {
				fact += fmt.Sprintf("; the other %d once it left", m.AnsweredLate)
			}
		} else {
			fact += fmt.Sprintf("; once it left, %d of the other %d (%s)", m.AnsweredLate, m.Talkers-m.Answered, strings.Join(m.Late, "; "))
		}
		if m.Answered == 0 {
			fact += ": one client at a time (an iterative server: by design)"
		} else {
			fact += fmt.Sprintf(": at most %d clients at a time (a pool of %d?)", m.Answered+1, m.Answered+1)
		}
		return Result{Status: Finding, Figures: fig, Fact: fact}
	}
	fact := fmt.Sprintf("%d of %d clients answered in %v; the slow client answered %d times", m.Answered, m.Talkers, probeWait, m.SlowAnswered)
	if m.SlowErr != nil {
		fact += fmt.Sprintf(", then: %v", m.SlowErr)
	}
	return Result{Status: Finding, Figures: fig, Fact: fact}
}

// Converse has one whole conversation with a fresh client: a line, its
// reply, the polite end; closed says whether the server closed its side
// then (see End). The reliability suite's clients, and the probes'.
func Converse(a sys.Addr, e Ending, msg string, deadline time.Time) (closed bool, err error) {
	c, err := Dial(a, deadline, DialOptions{})
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if err := c.Ask(e.Proto, msg); err != nil {
		return false, err
	}
	return c.End(e), nil
}

// sequentialN is how many conversations the sequential probe has.
const sequentialN = 100

// settle waits (up to 3 s) for a server's resources to come back within
// slack of before, once its clients have gone; it returns the last
// reading.
func settle(p Proc, before Usage, slack int) Usage {
	deadline := time.Now().Add(3 * time.Second)
	for {
		u := p.Usage()
		if u.FDs <= before.FDs+slack && u.Threads <= before.Threads+slack &&
			u.Children <= before.Children+slack && u.Zombies <= before.Zombies+slack {
			return u
		}
		if time.Now().After(deadline) {
			return u
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func probeSequential(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	p := s.proc()
	var before Usage
	if p != nil {
		before = p.Settled()
	}
	deadline := time.Now().Add(2 * probeWait)
	start := time.Now()
	for i := range sequentialN {
		var err error
		switch s.T.Proto.Kind {
		case Greet:
			err = greetOnce(s.T, deadline)
		case UDP:
			err = udpOnce(s.T.Addr, fmt.Sprintf("datagram %d", i+1), deadline)
		default:
			_, err = Converse(s.T.Addr, s.ending(), fmt.Sprintf("conversation %d\n", i+1), deadline)
		}
		if err != nil {
			if refused(err) && i > 0 {
				return finding("conversation %d of %d: %v (the server stopped answering)", i+1, sequentialN, err)
			}
			return finding("conversation %d of %d: %v", i+1, sequentialN, err)
		}
	}
	took := time.Since(start)
	what := "conversations"
	if s.T.Proto.Kind == UDP {
		what = "datagrams from as many sockets"
	}
	if p == nil {
		return pass("%d %s in %s, each answered (growth not measured: -pid or -- to watch the server)", sequentialN, what, ms(took))
	}
	const limit = sequentialN / 4
	after := settle(*p, before, limit/2)
	fig := figures("fds_before", before.FDs, "fds_after", after.FDs, "threads_before", before.Threads, "threads_after", after.Threads,
		"children_before", before.Children, "children_after", after.Children, "zombies_after", after.Zombies, "rss_before", before.RSS, "rss_after", after.RSS)
	var grew []string
	if d := after.FDs - before.FDs; d >= limit {
		grew = append(grew, fmt.Sprintf("%d descriptors more (a socket left open per conversation?)", d))
	}
	if d := after.Threads - before.Threads; d >= limit {
		grew = append(grew, fmt.Sprintf("%d threads more", d))
	}
	if d := after.Zombies - before.Zombies; d >= limit {
		grew = append(grew, fmt.Sprintf("%d zombies (children never reaped)", d))
	}
	if d := (after.Children - after.Zombies) - (before.Children - before.Zombies); d >= limit {
		grew = append(grew, fmt.Sprintf("%d children more, alive", d))
	}
	fact := fmt.Sprintf("%d %s in %s; the server before → after: descriptors %d → %d, threads %d → %d, children %d → %d (zombies %d), RSS %d → %d KiB",
		sequentialN, what, ms(took), before.FDs, after.FDs, before.Threads, after.Threads, before.Children, after.Children,
		after.Zombies, before.RSS>>10, after.RSS>>10)
	if len(grew) > 0 {
		return Result{Status: Finding, Figures: fig, Fact: fact + ": " + strings.Join(grew, ", ")}
	}
	return Result{Status: Pass, Figures: fig, Fact: fact}
}
