package probe

// The probes of a stream echo server (echo-server and its kin, and the
// notes' echo servers), and the peers they are made of, which the
// reliability suite's fault tests use too. This file: the first reply and
// the quit rule; framing.go, concurrency.go and sequential.go hold the
// others.

import (
	"fmt"
	"time"

	"netprog/sys"
)

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
