package servers_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
)

// The reuseport model in this process: its sockets read back from
// /proc/net/tcp, its threads from /proc/self/task, its spread from Stats.
// Clients use package net.

// listeningSockets counts the IPv4 TCP sockets listening on port
// (/proc/net/tcp: state 0A is LISTEN, the local port is in hex).
func listeningSockets(t *testing.T, port int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			n++
		}
	}
	return n
}

// waitUntil polls cond until it holds or 10s have passed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	e2e.Until(t, e2e.Wait, cond, func() string { return what })
}

// TestReuseportSocketsThreadsSpread: with 4 workers on port 0, four
// sockets listen on the one port the first was given, four threads named
// reuseport-N run, and 200 connections are spread by the kernel over all
// four (a worker left with none out of 200 would take odds of 1 in 10^25).
// The summary shows the spread, which adds up to the connections served.
// After the stop, the sockets and the threads are gone.
func TestReuseportSocketsThreadsSpread(t *testing.T) {
	const workers, clients = 4, 200
	s := startModelServer(t, "reuseport", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"),
		Workers: workers, Proto: protocol.Echo{Raw: true}})
	if n := listeningSockets(t, s.Addr.Port); n != workers {
		t.Errorf("%d sockets listen on port %d, want %d (one per worker)", n, s.Addr.Port, workers)
	}
	// A worker whose goroutine landed on the process's main thread leaves
	// it unnamed (rare): allow one.
	waitUntil(t, "the workers' threads are not named", func() bool {
		return len(threadNames(t, "reuseport-")) >= workers-1
	})

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := s.dial()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := echoExact(c, []byte(fmt.Sprintf("client %d\n", i)), 64); err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st := s.stop(t)
	if len(st.PerWorker) != workers {
		t.Fatalf("PerWorker = %v, want %d entries", st.PerWorker, workers)
	}
	var sum int64
	for i, n := range st.PerWorker {
		sum += n
		if n == 0 {
			t.Errorf("worker %d accepted no connection of %d: %v", i, clients, st.PerWorker)
		}
	}
	if sum != st.Conns.Load() || sum != clients {
		t.Errorf("per worker %v adds up to %d; Conns %d; want %d", st.PerWorker, sum, st.Conns.Load(), clients)
	}
	var summary bytes.Buffer
	st.Summary(&summary)
	if want := "connections per worker: " + strings.Trim(fmt.Sprint(st.PerWorker), "[]") + "\n"; !strings.Contains(summary.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, summary.String())
	}
	for i := range workers {
		if !strings.Contains(s.Log.String(), fmt.Sprintf("worker %d: Got the connection from: ", i)) {
			t.Errorf("no log line of worker %d", i)
		}
	}
	waitUntil(t, "listening sockets left after the stop", func() bool { return listeningSockets(t, s.Addr.Port) == 0 })
	waitUntil(t, "reuseport threads left after the stop", func() bool { return len(threadNames(t, "reuseport-")) == 0 })
}

// TestReuseportProtocol: every family (a unix path is shared by dup'd
// descriptors, not SO_REUSEPORT), level- and edge-triggered: the message
// rule with a prefix and q, byte-exact raw echo of 1 MiB and of a one-byte
// dribble, a client that resets mid-message while the others go on, and
// the counts.
func TestReuseportProtocol(t *testing.T) {
	for _, edge := range []bool{false, true} {
		for _, fam := range testFamilies {
			t.Run(fmt.Sprintf("%s/edge=%v", fam.name, edge), func(t *testing.T) {
				framed := startModelServer(t, "reuseport", servers.Config{Addr: fam.addr(t), Workers: 3, Edge: edge,
					Proto: protocol.Echo{Prefix: "you send:", Quit: true}})
				c := framed.mustDial(t)
				if err := askLine(c, "one\ntwo\r\n", "you send:one\nyou send:two\r\n"); err != nil {
					t.Error(err)
				}
				if err := askLine(c, "three", "you send:three"); err != nil {
					t.Error(err)
				}
				if err := askLine(c, "four\nQ\r\nfive\n", "you send:four\n"); err != nil {
					t.Error(err)
				}
				if err := expectEOF(c); err != nil {
					t.Errorf("after Q: %v", err)
				}
				if st := framed.stop(t); st.Conns.Load() != 1 || st.Bytes.Load() != 27+14+14 {
					t.Errorf("framed: Conns %d Bytes %d, want 1 and %d", st.Conns.Load(), st.Bytes.Load(), 27+14+14)
				}

				raw := startModelServer(t, "reuseport", servers.Config{Addr: fam.addr(t), Workers: 3, Edge: edge,
					Proto: protocol.Echo{Raw: true}})
				resetMidMessage(raw.mustDial(t))
				if err := echoExact(raw.mustDial(t), randomBytes(1<<20), 64<<10); err != nil {
					t.Errorf("1 MiB: %v", err)
				}
				if err := echoExact(raw.mustDial(t), randomBytes(200), 1); err != nil {
					t.Errorf("dribble: %v", err)
				}
				if st := raw.stop(t); st.Conns.Load() != 3 || st.Bytes.Load() < 1<<20+200 {
					t.Errorf("raw: Conns %d Bytes %d, want 3 and at least %d", st.Conns.Load(), st.Bytes.Load(), 1<<20+200)
				}
			})
		}
	}
}

// TestReuseportIdleAndStop: a silent client is closed after the idle
// timeout while a talking one is served; a stop with clients connected
// (one mid-line, one never read from) closes them all and leaves no
// descriptor of the server behind.
func TestReuseportIdleAndStop(t *testing.T) {
	s := startModelServer(t, "reuseport", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 2,
		IdleTimeout: 300 * time.Millisecond, Proto: protocol.Echo{Raw: true}})
	start := time.Now() // before the dial: the server's clock cannot start earlier
	silent := s.mustDial(t)
	if err := expectEOF(silent); err != nil {
		t.Fatalf("silent client: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("silent client closed after %v, before the idle timeout", d)
	}
	if !strings.Contains(s.Log.String(), "idle for 300ms: closing") {
		t.Errorf("the log does not say why:\n%s", s.Log)
	}
	s.stop(t)
	silent.Close()

	// Counted after a first server: the process's spare descriptor
	// (reserve.go) and the runtime's poller stay open for good.
	before := descriptorsOpen(t)
	s = startModelServer(t, "reuseport", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 2,
		Proto: protocol.Echo{Prefix: ">", Quit: true}})
	var conns []net.Conn
	for range 4 {
		c := s.mustDial(t)
		if err := askLine(c, "hi\n", ">hi\n"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	io.WriteString(conns[0], "half a li")
	io.WriteString(conns[1], strings.Repeat("never read\n", 1<<16))
	st := s.stop(t)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Errorf("client %d after the stop: %v", i, err)
		}
	}
	if st.Conns.Load() != 4 {
		t.Errorf("Conns %d, want 4", st.Conns.Load())
	}
	for _, c := range conns {
		c.Close()
	}
	waitUntil(t, "descriptors left behind", func() bool { return descriptorsOpen(t) <= before })
}

// TestReuseportPortTaken: a port held by a socket without SO_REUSEPORT
// cannot be joined: the model fails with bind's error, having closed what
// it opened.
func TestReuseportPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before := descriptorsOpen(t)
	m, _ := servers.Lookup("reuseport")
	addr := mustResolve(t, "127.0.0.1:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	st, err := m(context.Background(), servers.Config{Addr: addr, Workers: 3})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || st != nil {
		t.Errorf("reuseport on a taken port: %v, %v; want bind's EADDRINUSE", st, err)
	}
	if after := descriptorsOpen(t); after != before {
		t.Errorf("%d descriptors open before, %d after", before, after)
	}
}
