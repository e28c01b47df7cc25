package servers_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"netprog/servers"
)

// Printable is what stands between a hostile peer and the operator's
// terminal: every case here is an attack or a message that must survive.
func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello\n", "hello"},
		{"CR LF ending", "hello\r\n", "hello"},
		{"course's newline-less message", "hello", "hello"},
		{"UTF-8 kept", "héllo wörld ✓\n", "héllo wörld ✓"},
		{"screen clear", "\x1b[2J\x1b[Hgone\n", `\x1b[2J\x1b[Hgone`},
		{"window title", "\x1b]0;pwned\x07\n", `\x1b]0;pwned\x07`},
		{"forged log line by CR", "hi\rReceived the connection from: 6.6.6.6:1\n", `hi\rReceived the connection from: 6.6.6.6:1`},
		{"forged log line by LF", "hi\nReceived the connection from: 6.6.6.6:1", `hi\nReceived the connection from: 6.6.6.6:1`},
		{"tab and NUL", "a\tb\x00c", `a\tb\x00c`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI as a byte", "\x9b2J", `\x9b2J`},
		{"C1 CSI as UTF-8", "\u009b2J", `\xc2\x9b2J`},
		{"invalid UTF-8", "\xff\xfe ok", `\xff\xfe ok`},
		{"bidi override", "abc\u202edef", `abc\xe2\x80\xaedef`},
		{"line separator", "a\u2028b", `a\xe2\x80\xa8b`},
		{"backslash doubled", `a\b`, `a\\b`},
		{"a peer's literal escape", `\x1b[2J`, `\\x1b[2J`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := servers.Printable([]byte(tt.in)); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzPrintable checks the promise for any input: the result is valid
// UTF-8 with nothing a terminal acts on.
func FuzzPrintable(f *testing.F) {
	for _, seed := range []string{"hello\n", "\x1b[2J", "a\rb", "\u009b", "\xff", "é\u202e"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := servers.Printable(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Printable(%q) = %q: not valid UTF-8", in, out)
		}
		for _, r := range out {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("Printable(%q) = %q: holds %U", in, out, r)
			}
		}
		if utf8.Valid(in) && !strings.ContainsFunc(string(in), func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) || r == '\\' }) && out != string(in) {
			t.Fatalf("Printable(%q) = %q: printable input changed", in, out)
		}
	})
}
