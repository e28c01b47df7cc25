package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The baseline: the echo server a Go programmer writes without thinking
// about system calls, with package net and a goroutine per connection. The
// runtime's netpoller turns it into an epoll loop with goroutine switches
// on top, which is what the hand-written models are measured against.
//
// It lives here, not in servers/, because it is the yardstick, not a lesson,
// and because servers/ never uses package net. The harness runs it by
// re-executing itself with baselineEnv set, so it is a process of its own
// whose CPU time is counted exactly as the models' is.

const (
	baselineName = "go-net"
	baselineEnv  = "NETPROG_BENCH_BASELINE" // the address to listen on
)

func serveBaseline(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-net baseline:", err)
		return 2
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return 0 // closed by the signal
		}
		if err != nil {
			// Out of descriptors, or a connection that died in the
			// queue: what net/http does, pause and go on.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go echoConn(c)
	}
}

// echoConn is the textbook loop: read what came, write it back. (io.Copy
// would do the same in one line, but on Linux it turns a TCP-to-TCP copy
// into splice(2) through a pipe: a different server.) The 16 KiB buffer is
// the models' own read size.
func echoConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
