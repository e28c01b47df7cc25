package probe

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// The chat server's probes. The server's user speaks first, so most of
// them need check to type for it: with `-- COMMAND`, check writes the
// server's lines on its standard input. Without, only the hang-up can be
// tried.

const needTyping = "the chat server speaks first: start it with -- so that check can type its lines"

// chatOpen connects and has the server say line (typed on its input); it
// returns once the line has come, with or without its newline.
func chatOpen(s *Session, line string, deadline time.Time) (*Conn, error) {
	l := s.T.Launcher
	if l == nil {
		return nil, fmt.Errorf("%s", needTyping)
	}
	c, err := s.dial(deadline, DialOptions{})
	if err != nil {
		return nil, err
	}
	if err := l.Type(line); err != nil {
		c.Close()
		return nil, fmt.Errorf("typing on the server's input: %w", err)
	}
	c.SetDeadline(minTime(deadline, time.Now().Add(replyWait)))
	got, err := c.ReadUntil(func(got []byte) bool {
		t := bytes.TrimRight(got, "\r\n")
		return string(t) == line || !strings.HasPrefix(line, string(t))
	})
	if string(bytes.TrimRight(got, "\r\n")) != line {
		c.Close()
		return nil, fmt.Errorf("the server's typed line %q came as %s (%v)", line, Quote(got), err)
	}
	return c, nil
}

// chatEnd quits in our turn (the server's line has come): q, then the
// server's close.
func chatEnd(s *Session, c *Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(quitWait))
	if _, err := c.Write([]byte("q")); err == nil {
		c.WaitClose()
	}
	c.drainNow()
}

func chatReply(s *Session) Result {
	l := s.T.Launcher
	if l == nil {
		c, err := s.dial(time.Now().Add(replyWait), DialOptions{})
		if err != nil {
			s.noServer = fmt.Errorf("%w at %s: %v", ErrNoServer, s.T.Addr, err)
			return Result{}
		}
		c.Close()
		return skip("%s", needTyping)
	}
	c, err := chatOpen(s, "hello from the server", time.Now().Add(probeWait))
	if err != nil {
		if refused(err) {
			s.noServer = fmt.Errorf("%w at %s: %v", ErrNoServer, s.T.Addr, err)
			return Result{}
		}
		return finding("%v", err)
	}
	mark := len(l.Output())
	const ours = "hello from check"
	if _, err := c.Write([]byte(ours + "\n")); err != nil {
		c.Close()
		return finding("sending %q: %v", ours, err)
	}
	deadline := time.Now().Add(replyWait)
	for !strings.Contains(l.Output()[min(mark, len(l.Output())):], ours) {
		if time.Now().After(deadline) {
			c.Close()
			return finding("the server's line came, but ours (%q) was not printed on its output in %v", ours, replyWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.protoOK = true
	// The server's turn again: its user quits.
	defer c.Close()
	l.Type("q")
	c.SetDeadline(time.Now().Add(quitWait))
	got, err := c.WaitClose()
	if err != nil || string(bytes.TrimRight(got, "\r\n")) != "q" {
		return finding("the server's typed line came, ours was printed; then its user's q came as %s (%v)", Quote(got), errOrClosed(err, false))
	}
	return pass("the server's typed line came, ours was printed on its output, and its user's q ended the conversation")
}

func chatQuitQ(s *Session) Result {
	if s.T.Launcher == nil {
		return skip("%s", needTyping)
	}
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	c, err := chatOpen(s, "your turn", time.Now().Add(probeWait))
	if err != nil {
		return finding("%v", err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(quitWait))
	if _, err := c.Write([]byte("q")); err != nil {
		return finding("sending q: %v", err)
	}
	got, err := c.WaitClose()
	switch {
	case len(got) > 0:
		return Result{Status: Finding, Lesson: lessonChat, Fact: fmt.Sprintf("q in our turn answered %s instead of a close", Quote(got))}
	case err != nil && IsTimeout(err):
		s.T.Launcher.Type("q")
		return Result{Status: Finding, Lesson: lessonChat, Fact: fmt.Sprintf("the connection stayed open %v after q in our turn", quitWait)}
	}
	return pass("closed %s after q in our turn", ms(time.Since(start)))
}

// chatEOF: we hang up while the server's user is to speak. A chat that
// watches the socket while its user types notices at once; one blocked
// reading its user's line does not.
func chatEOF(s *Session) Result {
	c, err := s.dial(time.Now().Add(probeWait), DialOptions{})
	if err != nil {
		return lostServer(err)
	}
	defer c.Close()
	run := EndOfFile(c, quitWait, s.proc())
	fig := figures("closed", run.Closed, "after", run.After, "cpu", run.CPU)
	if run.Closed && run.After == 0 {
		return Result{Status: Pass, Figures: fig, Fact: fmt.Sprintf("we hung up while the server's user was to speak: it closed %s later", ms(run.Took))}
	}
	if l := s.T.Launcher; l != nil {
		l.Type("q") // let a chat blocked on its user's line go on
		c.SetDeadline(time.Now().Add(quitWait))
		c.WaitClose()
	}
	if run.After > 0 {
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("we hung up; the server sent %s (%s) and %s", sizeOf(run.After), Quote(run.First),
			map[bool]string{true: "closed", false: "kept the connection open"}[run.Closed])}
	}
	return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("we hung up while the server's user was to speak: the connection stayed open %s (it waits for its user's line before it looks at the socket)", ms(run.Took))}
}
