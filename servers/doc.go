// Package servers holds the course's echo service served by every classic
// design, one file per model: iterative, fork, prefork, thread, select, poll,
// epoll and goroutine (the course's and UNP's), then uring, reuseport and
// passfd (where today's servers begin). goroutine.go compares Go's
// netpoller with the epoll model. All speak the same protocol (protocol.go) and take the
// same Config, so the only thing that changes from file to file is how the
// server waits for work, which is the lesson.
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
//     conversation, in the models that honour it.
//
// In raw mode (-raw, RFC 862 echo) there is no framing at all: every byte is
// sent back as it came, which is what benchmarks and byte-exact tests use.
//
// # Stopping
//
// Every model stops when its context is cancelled (SIGINT/SIGTERM in
// netprog): it stops accepting, closes its clients, ends and reaps its
// children, and prints a summary: connections served, bytes echoed, and CPU
// time of the server and its children from getrusage(2), as UNP's servers
// print it.
package servers
