package protocol

import "bytes"

// Echo is what an echo server says back. The zero value is pure echo with
// no quit message.
type Echo struct {
	Prefix string // put before every reply: "You Send:" in the course's echo server
	Quit   bool   // a message "q" or "Q" ends the conversation
	Raw    bool   // RFC 862: echo bytes as they come, no framing, no quit
}

// Respond appends to out the replies to one read's worth of input, following
// the message rule (see the package doc), and reports whether the client
// asked to quit. Replies to messages before a quit are still given; input
// after it is ignored.
func (p Echo) Respond(out, in []byte) ([]byte, bool) {
	if p.Raw {
		return append(out, in...), false
	}
	for len(in) > 0 {
		msg := in
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			msg = in[:i+1]
		}
		in = in[len(msg):]
		if p.Quit && IsQuit(msg) {
			return out, true
		}
		out = append(out, p.Prefix...)
		out = append(out, msg...)
	}
	return out, false
}

// IsQuit reports whether a message is the course's quit message, q or Q,
// with or without a line ending (LF or CR LF).
func IsQuit(msg []byte) bool {
	msg = bytes.TrimSuffix(msg, []byte("\n"))
	msg = bytes.TrimSuffix(msg, []byte("\r"))
	return len(msg) == 1 && (msg[0] == 'q' || msg[0] == 'Q')
}
