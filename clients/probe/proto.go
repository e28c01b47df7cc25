package probe

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Kind is the shape of a server's conversation.
type Kind int

const (
	// Echo: the client sends messages, each answered with Prefix and the
	// message; q or Q ends it where Quit is set (echo-server, fork-server,
	// thread-server, select-server, and the notes' echo servers).
	Echo Kind = iota
	// Greet: the server sends Greeting and closes (greet-server).
	Greet
	// UDP: each datagram is echoed to its sender (udp-server).
	UDP
	// Chat: turn-taking lines, the server's user first; q or Q from either
	// side ends the conversation (chat-server).
	Chat
)

func (k Kind) String() string {
	return [...]string{"echo", "greet", "udp", "chat"}[k]
}

// Protocol is what a server is expected to speak.
type Protocol struct {
	Kind     Kind
	Prefix   string // put before every reply (Echo)
	Quit     bool   // q or Q ends the conversation (Echo, Chat)
	Greeting string // what the server says first (Greet)
}

// Describe says what the protocol is, for a finding: `"You Send:" and the
// message; q quits`.
func (p Protocol) Describe() string {
	switch p.Kind {
	case Greet:
		return fmt.Sprintf("the greeting %s, then the server's close", Quote([]byte(p.Greeting)))
	case UDP:
		return "each datagram echoed to its sender"
	case Chat:
		return "turn-taking lines, the server's first; q ends it"
	}
	s := "the message echoed"
	if p.Prefix != "" {
		s = fmt.Sprintf("%s and the message", strconv.Quote(p.Prefix))
	}
	if p.Quit {
		return s + "; q quits"
	}
	return s + "; q is a message like any other"
}

// filler is a byte that is not in the prefix and is no newline, for the
// bulk of long messages and floods: counting it in what comes back counts
// the echoed payload, whatever prefixes are around it.
func (p Protocol) filler() byte {
	for _, b := range []byte("xyzXYZ0123456789") {
		if !strings.ContainsRune(p.Prefix, rune(b)) {
			return b
		}
	}
	return '.'
}

// Replies is what came back for what was sent: the bytes, and, where the
// protocol has a prefix, how many replies they held.
type Replies struct {
	Raw   []byte
	Count int  // replies (prefixes) seen; -1 without a prefix
	Whole bool // the echoed payload adds up to exactly what was sent
	Wrong bool // what came is not this protocol's echo of what was sent
	EOF   bool // the server closed the connection
}

// parse judges raw against sent under the protocol's echo: raw must be a
// run of Prefix+piece whose pieces join to sent (or to its beginning, when
// more is still on its way).
func (p Protocol) parse(raw, sent []byte) Replies {
	r := Replies{Raw: raw, Count: -1}
	body := raw
	if p.Prefix != "" {
		pre := []byte(p.Prefix)
		// A prefix still arriving at the end is not payload.
		for k := min(len(pre)-1, len(body)); k > 0; k-- {
			if bytes.HasSuffix(body, pre[:k]) {
				body = body[:len(body)-k]
				break
			}
		}
		if len(body) > 0 && !bytes.HasPrefix(body, pre) {
			r.Wrong = true
			return r
		}
		parts := bytes.Split(body, pre)
		r.Count = len(parts) - 1
		body = bytes.Join(parts, nil)
	}
	switch {
	case bytes.Equal(body, sent):
		r.Whole = true
	case !bytes.HasPrefix(sent, body):
		r.Wrong = true
	}
	return r
}

// Expect reads the replies to sent until their payload is whole, what came
// is not this protocol's echo of it, the server closes, or the deadline.
// Nothing is waited for beyond the whole payload: the judgement never
// rests on a quiet period.
func (c *Conn) Expect(p Protocol, sent []byte) (Replies, error) {
	var r Replies
	raw, err := c.ReadUntil(func(got []byte) bool {
		r = p.parse(got, sent)
		return r.Whole || r.Wrong
	})
	r = p.parse(raw, sent)
	if err == io.EOF {
		r.EOF = true
		err = nil
	}
	return r, err
}

// Ask sends one message and checks its reply: nil when the payload came
// back whole in exactly one reply (or, without a prefix, whole).
func (c *Conn) Ask(p Protocol, msg string) error {
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("send %s: %w", Quote([]byte(msg)), err)
	}
	r, err := c.Expect(p, []byte(msg))
	if err != nil && IsTimeout(err) {
		c.owed, c.got, c.proto = []byte(msg), r.Raw, p
	}
	switch {
	case r.Whole && r.Count <= 1:
		return nil
	case err != nil:
		return fmt.Errorf("reply to %s: %w (got %s)", Quote([]byte(msg)), err, Quote(r.Raw))
	case r.EOF:
		return fmt.Errorf("reply to %s: the server closed the connection (got %s)", Quote([]byte(msg)), Quote(r.Raw))
	}
	return fmt.Errorf("reply to %s: %s, want %s", Quote([]byte(msg)), Quote(r.Raw), Quote([]byte(p.Prefix+msg)))
}

// Quote shows bytes from the network in a fact: Go-quoted, cut to 60
// bytes with the total.
func Quote(b []byte) string {
	const most = 60
	if len(b) <= most {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(string(b[:most])), len(b))
}

// Ending is how a probe leaves a conversation it has finished.
type Ending struct {
	Proto Protocol
	// QuitCloses: after q the server closes, so waiting for its end of
	// file costs nothing. Where it does not (the notes' fork server keeps
	// every connection open until its next accept), the client sends q and
	// closes without waiting.
	QuitCloses bool
	Wait       time.Duration // the most to wait for the server's close (0: closeWait)
}

// closeWait bounds how long a polite end waits for the server's close.
const closeWait = 3 * time.Second

// End leaves a conversation politely, the way the course's servers need:
// q (alone, in a send of its own) where the protocol quits, then our end
// of file, then whatever the server still sends is read until its close,
// for a bounded time; nothing is left unread, so the close is a FIN, not a
// reset (the notes' servers die of a reset mid-send). It closes c, and
// reports whether the server closed its side (end of file, or a reset)
// within the wait; false too where it is known not to (QuitCloses unset).
func (c *Conn) End(e Ending) (closed bool) {
	defer c.Close()
	wait := e.Wait
	if wait <= 0 {
		wait = closeWait
	}
	c.SetDeadline(time.Now().Add(wait))
	if c.owed != nil {
		// The reply to the last message is still to come: take it first.
		c.ReadUntil(func(b []byte) bool {
			r := c.proto.parse(append(c.got[:len(c.got):len(c.got)], b...), c.owed)
			return r.Whole || r.Wrong
		})
		c.owed = nil
	}
	if e.Proto.Quit {
		if _, err := c.Write([]byte("q")); err != nil {
			return sysPeerGone(err)
		}
		if !e.QuitCloses {
			// The server took the quit; it will not close: read what is
			// there (so that our close is a FIN) and go.
			c.drainNow()
			return false
		}
	} else if err := c.CloseWrite(); err != nil {
		return sysPeerGone(err)
	}
	_, err := c.WaitClose()
	c.drainNow()
	return err == nil || !IsTimeout(err)
}
