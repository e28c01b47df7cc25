package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"netprog/internal/e2e"
)

// TestStraceUring proves the uring lesson's claim under `strace -f -yy`:
// the server's system calls are io_uring_setup, io_uring_register and
// io_uring_enter; a client socket is named in one system call only,
// getpeername, once, for the log line. Clients are accepted, read, written
// and closed by requests in the rings: no
// accept4, read, recvfrom, write, sendto, close or shutdown names a
// connected TCP socket (the listening socket's own setup and final close
// are ordinary calls), and no epoll_ctl adds one (the Go runtime's epoll
// for timers is there, and watches only its own eventfd). It also logs the
// io_uring_enter calls per echoed message, the figure the README compares
// with epoll's.
func TestStraceUring(t *testing.T) {
	t.Parallel()
	e2e.NeedUring(t)
	s := startStraced(t, "echo-server", "-model", "uring", "-raw", "-q", "-port", "0")

	const clients, rounds = 20, 50
	msg := bytes.Repeat([]byte("0123456789"), 10)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			got := make([]byte, len(msg))
			for range rounds {
				if _, err := c.Write(msg); err != nil {
					errs <- fmt.Errorf("client %d: %v", i, err)
					return
				}
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d: echo %q, %v", i, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	straceStopTracee(t, s)
	calls := s.Calls(t)
	if !strings.Contains(s.Out.String(), "served 20 connections") {
		t.Errorf("summary after SIGINT: %q", s.Out.String())
	}

	count := map[string]int{}
	for _, c := range calls {
		count[c.Name]++
	}
	for _, name := range []string{"io_uring_setup", "io_uring_register", "io_uring_enter"} {
		if count[name] == 0 {
			t.Errorf("no %s in the trace", name)
		}
	}
	pbuf := false
	for _, c := range calls {
		if c.Name == "io_uring_register" && strings.Contains(c.Args, "IORING_REGISTER_PBUF_RING") {
			pbuf = true
		}
	}
	if !pbuf {
		t.Error("no io_uring_register(IORING_REGISTER_PBUF_RING): recvs do not use a provided-buffer ring")
	}

	// A connected socket shows as 7<TCP:[127.0.0.1:port->127.0.0.1:port]>;
	// the listening one has no arrow.
	connected := func(s string) bool { return touchesTCP(s) && strings.Contains(s, "->") }
	forbidden := map[string]bool{
		"accept": true, "accept4": true, "read": true, "readv": true, "recvfrom": true, "recvmsg": true,
		"write": true, "writev": true, "sendto": true, "sendmsg": true, "close": true, "shutdown": true,
		"epoll_ctl": true, "poll": true, "ppoll": true, "select": true, "pselect6": true,
	}
	bad := 0
	for _, c := range calls {
		if !forbidden[c.Name] {
			continue
		}
		if connected(c.Args) || connected(c.Ret) || (c.Name != "close" && (touchesTCP(c.Args) || touchesTCP(c.Ret))) {
			if bad++; bad <= 5 {
				t.Errorf("the uring server made a system call on a TCP socket: %s", c.Line)
			}
		}
	}
	peers := 0
	for _, c := range calls {
		if c.Name == "getpeername" && connected(c.Args) {
			peers++
		}
	}
	if peers != clients {
		t.Errorf("%d getpeername calls on client sockets for %d clients, want one each", peers, clients)
	}
	requests := clients * rounds
	t.Logf("%d echoes: %d io_uring_enter calls (%.2f per echo) for %d connections; calls by name: %v",
		requests, count["io_uring_enter"], float64(count["io_uring_enter"])/float64(requests), clients, count)
}
