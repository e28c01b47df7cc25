package probe

// Many clients at once: whether a server answers the others while one slow
// client stays connected. The peers that measure it, and the probe.

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"netprog/sys"
)

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
