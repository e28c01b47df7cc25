package protocol

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
