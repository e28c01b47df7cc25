// Package servers holds the course's echo service served by every classic
// design, one file per model: iterative, fork, prefork, thread, select, poll,
// epoll and goroutine (the course's and UNP's), then uring, reuseport and
// passfd (where today's servers begin). goroutine.go compares Go's
// netpoller with the epoll model. All speak the same protocol (internal/protocol) and take the
// same Config, so the only thing that changes from file to file is how the
// server waits for work, which is the lesson.
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
