// Package servers holds the course's echo service served by every classic
// design: iterative, fork, prefork, thread, select, poll, epoll and
// goroutine (the course's and UNP's), then uring, reuseport and passfd
// (where today's servers begin). goroutine.go compares Go's netpoller with
// the epoll model. All speak the same protocol (internal/protocol) and take
// the same Config, and how a server waits for work is the lesson; but a
// model is not always one file, nor the waiting all that differs:
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
//     sys/child*.go say why and how), its replies built by
//     protocol.ChildEcho, the allocation-free twin of protocol.Echo.
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
// A message is a line, a read that ends without a newline ends one too, and
// q or Q alone ends the conversation where Quit is set; raw mode echoes
// bytes as they come. The rule, and the code that follows it, is package
// internal/protocol's (its package doc says why): the servers and the
// clients share it.
//
// # Stopping
//
// Every model stops when its context is cancelled (SIGINT/SIGTERM in
// netprog): it stops accepting, closes its clients, ends and reaps its
// children, and prints a summary: connections served, bytes echoed, and CPU
// time of the server and its children from getrusage(2), as UNP's servers
// print it.
package servers
