package probe

// One conversation after another: the peer that holds one, and the probe
// that holds a hundred and watches what the server leaves behind.

import (
	"fmt"
	"strings"
	"time"

	"netprog/sys"
)

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
