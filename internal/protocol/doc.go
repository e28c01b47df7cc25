// Package protocol holds what the course's servers and clients both speak,
// and is neither: the message rule (MessageReader, Echo), the quit rule
// (IsQuit), what the user types (Input), the chat's turn-taking (Chat), the
// escaping of peer bytes for the terminal (Printable), and the forked
// child's allocation-free twin of Echo (ChildEcho). Package servers, package
// clients and netprog import it; they do not import each other.
//
// # The message rule
//
// TCP is a byte stream: it keeps the order of bytes, not the boundaries of
// the writes that sent them. One recv may return half a message, or three
// messages, or the end of one and the start of the next. The course's Python
// servers treat "what one recv returned" as a message; that works on an idle
// loopback and fails anywhere else. Here:
//
//   - a message is a line: the bytes up to and including a newline;
//   - a read that ends without a newline also ends a message, so the classic
//     clients, which send one message per send with no newline, keep working,
//     and so do telnet and nc, which send lines ending in CRLF;
//   - pipelined lines (several in one read) get one reply each;
//   - a message that is "q" or "Q" (after removing a trailing CR LF) ends the
//     conversation, in the models that honour it. The course's Python
//     programs compare a whole recv with 'q', so a client sends q alone, with
//     no newline, in a send of its own: both rules then agree.
//
// In raw mode (Echo.Raw, -raw, RFC 862 echo) there is no framing at all:
// every byte is sent back as it came, which is what benchmarks and
// byte-exact tests use.
//
// OneRead is the course's own framing, for a client that talks to the
// course's programs on their terms (-course): what one read returned is one
// message, newlines and all. It is wrong for TCP in general, which is why it
// is only a choice.
//
// # Printable
//
// Peer bytes never reach the terminal raw: anyone may connect and send an
// escape sequence that clears the operator's screen, or a CR that forges a
// log line. Every log line and screen that shows what a peer sent shows it
// through Printable; what goes back on the wire stays byte-exact.
package protocol
