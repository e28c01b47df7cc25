package protocol

import (
	"bytes"
	"strings"
	"testing"
)

// childConverse drives a ChildEcho as the forked child does
// (servers.respondChild): each read answered in rounds, out sent (here:
// kept) after each, until the read is answered or a quit. It returns the
// replies and the index of the read that quit (-1: none).
func childConverse(c *ChildEcho, reads []string, outSize func(read int) int) ([]byte, int) {
	var sent []byte
	for i, r := range reads {
		in := []byte(r)
		out := make([]byte, outSize(len(in)))
		for start := 0; ; {
			var n int
			var quit bool
			n, start, quit = c.Respond(out, in, start)
			sent = append(sent, out[:n]...)
			if quit {
				return sent, i
			}
			if start == len(in) {
				break
			}
		}
	}
	return sent, -1
}

// echoConverse drives Echo.Respond as converse (servers/conn.go) does.
func echoConverse(e Echo, reads []string) ([]byte, int) {
	var sent, out []byte
	for i, r := range reads {
		var quit bool
		out, quit = e.Respond(out[:0], []byte(r))
		sent = append(sent, out...)
		if quit {
			return sent, i
		}
	}
	return sent, -1
}

// TestChildEchoRespondsAsEcho: the forked child's allocation-free twin
// (ChildEcho) and Echo, fed the same reads, send the same replies and quit
// at the same read. The child's output buffer is as small as Respond allows
// (one prefix and the read, so that a read of many replies is sent in
// rounds) and as large as the child's.
func TestChildEchoRespondsAsEcho(t *testing.T) {
	long := strings.Repeat("x", 16<<10) // a whole read of the child's
	binary := string([]byte{0, 1, 0x1b, '[', '2', 'J', 0x7f, 0x80, 0x9b, 0xff, '\r'})
	tests := []struct {
		name  string
		reads []string
	}{
		{"one line", []string{"hello\n"}},
		{"newline-less message", []string{"hello"}},
		{"a message split over reads", []string{"hel", "lo\n"}},
		{"split CR LF", []string{"hello\r", "\n"}},
		{"several in one read", []string{"a\nb\nc\n"}},
		{"several and a partial", []string{"a\nb\nc", "d\n"}},
		{"q", []string{"q"}},
		{"Q", []string{"Q"}},
		{"q LF", []string{"q\n"}},
		{"q CR LF", []string{"q\r\n"}},
		{"q after a message in the same read", []string{"hi\nq"}},
		{"q CR LF after messages in the same read", []string{"a\nb\r\nq\r\nc\n"}},
		{"q after a newline-less message", []string{"hi", "q"}},
		{"input after q is ignored", []string{"q\n", "more\n"}},
		{"q split from its newline", []string{"q", "\n"}},
		{"q as part of a message", []string{"qq\n", "q \n", " q\n", "\rq\n", "q\r\r\n", "quit\n"}},
		{"lone CR and LF", []string{"\r", "\n", "\r\n"}},
		{"empty lines", []string{"\n", "\n\n\n", "a\n\nb\n"}},
		{"long line", []string{long, long, "\n"}},
		{"long lines in one read", []string{long[:8000] + "\n" + long[:8000] + "\n"}},
		{"many short lines", []string{strings.Repeat("ab\n", 5000)}},
		{"binary bytes", []string{binary, binary + "\n" + binary}},
		{"NUL and q", []string{"\x00\n", "q\x00\n", "q"}},
	}
	protos := []Echo{
		{},
		{Quit: true},
		{Prefix: "You Send:", Quit: true},
		{Prefix: "you send:"},
		{Prefix: strings.Repeat("p", MaxChildPrefix), Quit: true},
		{Raw: true},
		{Raw: true, Quit: true, Prefix: "ignored:"},
	}
	outSizes := map[string]func(int) int{
		"smallest out": func(n int) int { return n + MaxChildPrefix },
		"child's out":  func(int) int { return 16<<10 + MaxChildPrefix },
	}
	for _, tt := range tests {
		for _, e := range protos {
			want, wantQuit := echoConverse(e, tt.reads)
			var c ChildEcho
			c.Set(e)
			for size, outSize := range outSizes {
				got, gotQuit := childConverse(&c, tt.reads, outSize)
				if !bytes.Equal(got, want) || gotQuit != wantQuit {
					t.Errorf("%s, %+v, %s: the child sent %q (quit at read %d), Echo %q (quit at read %d)",
						tt.name, e, size, trim(got), gotQuit, trim(want), wantQuit)
				}
			}
		}
	}
}

// trim shortens a long reply for an error message.
func trim(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:100:100], "..."...)
	}
	return b
}
