// Package servers holds the course's echo service served by every classic
// design: iterative, fork, prefork, thread, select, poll, epoll and
// goroutine (the course's and UNP's), then uring, reuseport and passfd
// (where today's servers begin). goroutine.go compares Go's
// netpoller with the epoll model. All speak the same protocol (protocol.go) and take the
// same Config, and how a server waits for work is the lesson; but a model
// is not always one file, nor the waiting all that differs:
//
//   - iterative.go, thread.go and goroutine.go each hold their model. The
//     blocking accept that iterative, thread and fork (and greet.go and
//     chat.go) share is accept.go; the conversation of iterative, thread
//     and goroutine is conn.go's converse, over a blocking socket or Go's
//     netpoller.
//   - select.go, poll.go and epoll.go hold only the wait: the event loop
//     they share, with its nonblocking conversation, is eventloop.go;
//     reuseport.go runs epoll.go's loop once per worker.
//   - fork, prefork and passfd fork real processes: the parent's side is
//     fork.go, prefork.go or passfd.go with children.go, children_reap.go,
//     children_stop.go (fork, reap, stop) and brake.go (forking too fast);
//     the child's side, forkchild.go and passfd_child.go, converses again,
//     in raw system calls that never enter the Go runtime (sys/fork.go and
//     sys/child*.go say why and how).
//   - uring.go is the loop of the io_uring model; uring_setup.go,
//     uring_accept.go, uring_stop.go and uring_conn.go its ring, accepts,
//     stop and connections.
//
// What every model shares: config.go (Config), models.go (the registry:
// Lookup, Models), listen.go (the listening socket), stats.go (Stats and
// the summary), log.go, and reserve.go (accept when out of descriptors;
// what an accept failure means is sys.ClassifyAccept's to say).
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
