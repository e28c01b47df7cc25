package raw

import (
	"time"
)

// schedule is when a run sends and when it ends: the next request's
// time, and the two ends a run may have, the -w deadline and the wait for
// the last replies once Count requests are out.
type schedule struct {
	p          *Pinger
	linger     time.Duration // -W: how long to wait for a reply when none came
	deadlineAt time.Time     // -w: the run ends then, whatever happened (zero: no deadline)
	exitAt     time.Time     // the run ends then: the last request's replies had their time (zero: not yet)
	nextSend   time.Time     // the next request, at an interval
	lastSend   time.Time     // the last request, in flood mode
}

// newSchedule starts the schedule of a run that began at p.start.
func (p *Pinger) newSchedule() *schedule {
	s := &schedule{p: p, linger: p.cfg.Timeout, nextSend: p.start}
	if s.linger <= 0 {
		s.linger = DefaultTimeout
	}
	if p.cfg.Deadline > 0 {
		s.deadlineAt = p.start.Add(p.cfg.Deadline)
	}
	return s
}

// timeUp reports whether the run has reached one of its ends.
func (s *schedule) timeUp(now time.Time) bool {
	return (!s.deadlineAt.IsZero() && !now.Before(s.deadlineAt)) || (!s.exitAt.IsZero() && !now.Before(s.exitAt))
}

// sendDue sends the next request if it is due, and says how long until
// the one after it (-1: no more are coming) and whether it sent.
func (s *schedule) sendDue(now time.Time) (wait time.Duration, sent bool) {
	wait = -1
	switch {
	case s.p.allSent():
	case s.p.interval == 0:
		wait, sent = s.flood(now)
	default:
		wait, sent = s.atInterval(now)
	}
	if s.p.allSent() && s.exitAt.IsZero() {
		s.exitAt = now.Add(s.p.exitWait(s.linger))
	}
	return wait, sent
}

// flood sends as soon as nothing is in flight, or floodWait after the last
// request when a reply is late (ping -f, -i 0).
func (s *schedule) flood(now time.Time) (wait time.Duration, sent bool) {
	st := &s.p.st
	inFlight := s.p.seqs.inFlight(st.Transmitted, st.Received+st.Errors)
	if inFlight == 0 || now.Sub(s.lastSend) >= floodWait {
		s.p.send(now)
		s.lastSend, sent = now, true
	}
	return floodWait - now.Sub(s.lastSend), sent
}

// atInterval sends once the interval is up. The next send is an interval
// after this one was due, so a late turn does not shift every later
// request; after a stall longer than an interval it is an interval from
// now, so no burst makes up for the lost time.
func (s *schedule) atInterval(now time.Time) (wait time.Duration, sent bool) {
	if !now.Before(s.nextSend) {
		s.p.send(now)
		sent = true
		s.nextSend = s.nextSend.Add(s.p.interval)
		if !s.nextSend.After(now) {
			s.nextSend = now.Add(s.p.interval)
		}
	}
	return s.nextSend.Sub(now), sent
}

// until shortens a wait for the next send to the nearer of the run's ends,
// if it has any.
func (s *schedule) until(now time.Time, wait time.Duration) time.Duration {
	for _, t := range []time.Time{s.exitAt, s.deadlineAt} {
		if !t.IsZero() {
			if d := t.Sub(now); wait < 0 || d < wait {
				wait = max(d, 0)
			}
		}
	}
	return wait
}

// allSent reports whether Count requests are out and no -w deadline asks
// for more (with one, ping keeps sending until Count replies came).
func (p *Pinger) allSent() bool {
	return p.cfg.Count > 0 && p.st.Transmitted >= p.cfg.Count && p.cfg.Deadline == 0
}

// exitWait is how long to wait for replies after the last request: twice
// the longest round trip (at least one interval) if any reply came, else the
// -W timeout (iputils' __schedule_exit).
func (p *Pinger) exitWait(linger time.Duration) time.Duration {
	if p.st.Received == 0 {
		return linger
	}
	w := 2 * p.st.Max()
	if w < p.interval {
		w = p.interval
	}
	return w
}
