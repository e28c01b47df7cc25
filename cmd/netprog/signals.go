package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// interruptible is the servers' stop: a context that SIGINT or SIGTERM
// cancels, so the server can close its sockets and say what it did. SIGHUP
// is ignored. Every server command uses it (chat-server, udp-server and
// the echo servers, through servercmd.go).
func interruptible() (context.Context, context.CancelFunc) {
	signal.Ignore(syscall.SIGHUP)
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
