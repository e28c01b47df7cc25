package probe

// The message rule, probed: two messages in one segment, one message in
// pieces, one longer than a recv. A server that takes one recv for one
// message fails them.

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"time"
)

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
