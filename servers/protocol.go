package servers

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Protocol is what a server says back. The zero value is pure echo with no
// quit message.
type Protocol struct {
	Prefix string // put before every reply: "You Send:" in the course's echo server
	Quit   bool   // a message "q" or "Q" ends the conversation
	Raw    bool   // RFC 862: echo bytes as they come, no framing, no quit
}

// Respond appends to out the replies to one read's worth of input, following
// the message rule (see the package doc), and reports whether the client
// asked to quit. Replies to messages before a quit are still given; input
// after it is ignored.
func (p Protocol) Respond(out, in []byte) ([]byte, bool) {
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

// Printable renders a message for a log line or a client's screen: without
// its line ending, as the course prints it, and with everything a terminal
// would act on escaped, because the bytes came from the network and anyone
// may have sent them. An ESC sequence would clear the operator's screen or
// retitle the window; a CR or an inner newline followed by text would forge
// a whole log line ("Received the connection from: 6.6.6.6:1"). So C0
// controls, DEL, C1 controls (U+0080-U+009F: 0x9b alone is CSI), other
// characters that are not printable (bidi overrides, line separators) and
// invalid UTF-8 are shown as \xNN, or \t \n \r as strace writes them, and a
// backslash as \\ (so that a peer's literal text "\x1b" cannot pass for an
// escaped ESC); printable UTF-8 is left as it is. Only the display changes:
// what is echoed on the wire stays byte-exact.
func Printable(msg []byte) string {
	msg = bytes.TrimRight(msg, "\r\n")
	clean := true
	for _, c := range msg {
		if c < ' ' || c >= 0x7f || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return string(msg) // the common case: plain ASCII, nothing to do
	}
	var b strings.Builder
	for len(msg) > 0 {
		r, size := utf8.DecodeRune(msg)
		switch {
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError && size <= 1, r != ' ' && !unicode.IsPrint(r):
			for _, c := range msg[:size] {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		default:
			b.Write(msg[:size])
		}
		msg = msg[size:]
	}
	return b.String()
}
