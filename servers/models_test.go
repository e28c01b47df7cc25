package servers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
	"netprog/sys"
)

// The cross-model test: every registered model, run in this process through
// its Model func, serves the same clients on IPv4, IPv6 and a unix socket,
// in pure-echo, raw and prefix modes. The clients use package net: an
// independent peer, not our own sys layer.

// modelCase is one way of serving: a registered model, with the config it
// runs under.
type modelCase struct {
	name  string // subtest name
	model string
	edge  bool
}

// allModelCases is every registered model, plus epoll edge-triggered.
func allModelCases() []modelCase {
	var cases []modelCase
	for _, m := range servers.Models() {
		cases = append(cases, modelCase{name: m, model: m})
		if m == "epoll" {
			cases = append(cases, modelCase{name: "epoll-edge", model: m, edge: true})
		}
	}
	return cases
}

// concurrent reports whether a model serves clients at the same time; the
// iterative server serves them one after another.
func (mc modelCase) concurrent() bool { return mc.model != "iterative" }

// testFamily is where a test server listens.
type testFamily struct {
	name string
	addr func(t *testing.T) sys.Addr
}

var testFamilies = []testFamily{
	{"tcp4", func(t *testing.T) sys.Addr { return mustResolve(t, "127.0.0.1:0") }},
	{"tcp6", func(t *testing.T) sys.Addr {
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		ln.Close()
		return mustResolve(t, "[::1]:0")
	}},
	{"unix", func(t *testing.T) sys.Addr { return mustResolve(t, "unix:"+shortSocketPath(t)) }},
}

func mustResolve(t *testing.T, s string) sys.Addr {
	t.Helper()
	a, err := sys.ResolveAddr(s, sys.AnyFamily)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// shortSocketPath is a fresh unix socket path that fits in sun_path
// (t.TempDir's names can be too long for its 107 bytes).
func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "np")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// logBuffer collects a server's log lines while the test reads them.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log contains want, failing the test after 10s.
func (l *logBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	e2e.Until(t, e2e.Wait, func() bool { return strings.Contains(l.String(), want) },
		func() string { return fmt.Sprintf("server log lacks %q:\n%s", want, l) })
}

// modelServer is a model running in a goroutine of the test.
type modelServer struct {
	Addr       sys.Addr
	Log        *logBuffer
	name       string        // the model, in failure messages
	stopWithin time.Duration // how long stop waits for the model to return
	cancel     context.CancelFunc
	done       chan struct{}
	st         *servers.Stats
	err        error
}

// startModelServer runs the registered model with cfg (Addr, Proto and the
// model's own fields set by the caller) until the test ends or stop is
// called.
func startModelServer(t *testing.T, model string, cfg servers.Config) *modelServer {
	t.Helper()
	m, ok := servers.Lookup(model)
	if !ok {
		t.Fatalf("model %q is not registered", model)
	}
	if cfg.Backlog == 0 {
		cfg.Backlog = 512
	}
	return startServing(t, model, m, cfg)
}

// startServing runs m with cfg in a goroutine, stopped when the test ends
// if not before, and returns once it listens: cfg.Ready gives the bound
// address (port 0 becomes a real one). The log goes to the server's
// logBuffer unless cfg.Log is set, and the select model never reads the
// test's own standard input.
func startServing(t *testing.T, name string, m servers.Model, cfg servers.Config) *modelServer {
	t.Helper()
	s := &modelServer{Log: &logBuffer{}, name: name, stopWithin: 10 * time.Second, done: make(chan struct{})}
	if cfg.Log == nil {
		cfg.Log = s.Log
	}
	if cfg.Stdin == 0 {
		cfg.Stdin = -1 // never the test's own stdin
	}
	ready := make(chan sys.Addr, 1)
	cfg.Ready = func(a sys.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		s.st, s.err = m(ctx, cfg)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.Addr = <-ready:
	case <-s.done:
		t.Fatalf("%s returned before listening: %v\n%s", name, s.err, s.Log)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not listen within 10s", name)
	}
	return s
}

// stop cancels the server's context and waits (stopWithin) for the model
// to return; it returns the model's Stats.
func (s *modelServer) stop(t *testing.T) *servers.Stats {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(s.stopWithin):
		t.Fatalf("%s did not stop within %v of cancel\n%s", s.name, s.stopWithin, s.Log)
	}
	if s.err != nil {
		t.Errorf("%s returned %v\n%s", s.name, s.err, s.Log)
	}
	if s.st == nil {
		t.Fatalf("%s returned no Stats", s.name)
	}
	return s.st
}

// dial connects to the server with package net.
func (s *modelServer) dial() (net.Conn, error) {
	network, address := "tcp", s.Addr.String()
	if s.Addr.Path != "" {
		network, address = "unix", s.Addr.Path
	}
	return net.DialTimeout(network, address, 10*time.Second)
}

func (s *modelServer) mustDial(t *testing.T) net.Conn {
	t.Helper()
	c, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoMegabyte is one more client of s, with a connection of its own: it
// has 1 MiB echoed, sent in writes of 64 KiB.
func (s *modelServer) echoMegabyte() error {
	c, err := s.dial()
	if err != nil {
		return fmt.Errorf("megabyte client: dial: %v", err)
	}
	defer c.Close()
	if err := echoExact(c, randomBytes(1<<20), 64<<10); err != nil {
		return fmt.Errorf("megabyte client: %v", err)
	}
	return nil
}

// echoExact sends payload in writes of chunk bytes (1: a dribble) while
// reading concurrently, and checks that exactly the same bytes come back
// within 60s.
func echoExact(c net.Conn, payload []byte, chunk int) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return echoExactByDeadline(c, payload, chunk)
}

// echoExactByDeadline is echoExact within whatever deadline c already has.
// Reading while writing matters: a client that writes a megabyte before
// reading deadlocks with any echo server once the buffers fill.
func echoExactByDeadline(c net.Conn, payload []byte, chunk int) error {
	werr := make(chan error, 1)
	go func() {
		for p := payload; len(p) > 0; {
			n := min(chunk, len(p))
			if _, err := c.Write(p[:n]); err != nil {
				werr <- err
				return
			}
			p = p[n:]
		}
		werr <- nil
	}()
	got := make([]byte, len(payload))
	_, rerr := io.ReadFull(c, got)
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %v", err)
	}
	if rerr != nil {
		return fmt.Errorf("read: %v", rerr)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("echo differs from the %d bytes sent", len(payload))
	}
	return nil
}

// askLine sends one line and waits for its reply line.
func askLine(c net.Conn, line, want string) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, line); err != nil {
		return err
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reply to %q: %v", line, err)
	}
	if string(got) != want {
		return fmt.Errorf("reply to %q is %q, want %q", line, got, want)
	}
	return nil
}

// expectEOF checks that the server closes the connection (within 10s).
func expectEOF(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [64]byte
	n, err := c.Read(b[:])
	if err == io.EOF {
		return nil
	}
	if err != nil && isReset(err) {
		return nil
	}
	return fmt.Errorf("want end of file, got %d bytes %q, err %v", n, b[:n], err)
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// resetMidMessage sends half a message and vanishes with a reset
// (SO_LINGER 0 makes close send RST instead of FIN).
func resetMidMessage(c net.Conn) {
	io.WriteString(c, "half a mess")
	switch c := c.(type) {
	case *net.TCPConn:
		c.SetLinger(0)
	}
	c.Close()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// testModes are the protocols the cross-model test runs.
var testModes = []struct {
	name  string
	proto protocol.Echo
}{
	{"echo", protocol.Echo{}},
	{"raw", protocol.Echo{Raw: true}},
	{"prefix", protocol.Echo{Prefix: "You Send:", Quit: true}},
}

const concurrentClients = 200

// forkedFamilyClients is how many clients the forking models (a process
// per client or per worker: a fork of this -race test process each) meet
// at once on the families after the first: the 200 on tcp4, in every
// mode, are the load; tcp6 and unix prove the family's addresses and
// descriptors in the children, which 40 clients at once (still past the
// barrier together) do as well as 200.
const forkedFamilyClients = 40

// TestModelsServeConcurrentClients: every model, every family, every mode:
// 200 clients at once, some dribbling one byte per write, some resetting
// mid-message, one sending a megabyte (echo and raw modes); then one more
// client is served, so the server survived them all. Concurrent models must
// serve all 200 while all 200 are connected (a barrier between two
// exchanges); the iterative one serves them one after another.
//
// The models run side by side, in this process, but for two kinds, run
// one at a time first: the forking models (a child holds a copy of every
// descriptor the process had when it was forked, the other models'
// clients included, until it closes them: their ends of file would wait
// on it) and select (its descriptors must stay under FD_SETSIZE, which
// the others' 200 clients would pass). No other test runs beside them.
func TestModelsServeConcurrentClients(t *testing.T) {
	for _, mc := range allModelCases() {
		t.Run(mc.name, func(t *testing.T) {
			if !forks(mc.model) && mc.model != "select" {
				t.Parallel()
			}
			for i, fam := range testFamilies {
				n := concurrentClients
				if i > 0 && forks(mc.model) {
					n = forkedFamilyClients
				}
				t.Run(fam.name, func(t *testing.T) {
					for _, mode := range testModes {
						t.Run(mode.name, func(t *testing.T) {
							runClients(t, mc, fam.addr(t), mode.proto, n)
						})
					}
				})
			}
		})
	}
}

// forks reports whether a model serves clients in forked processes.
func forks(model string) bool { return model == "fork" || model == "prefork" || model == "passfd" }

func runClients(t *testing.T, mc modelCase, addr sys.Addr, proto protocol.Echo, concurrentClients int) {
	s := startModelServer(t, mc.model, servers.Config{Addr: addr, Proto: proto, Edge: mc.edge, Workers: concurrentClients + 2})
	framed := !proto.Raw && proto.Prefix != ""
	resets := 0
	for i := range concurrentClients {
		if i%10 == 0 {
			resets++
		}
	}
	var bar *e2e.Barrier
	if mc.concurrent() {
		bar = e2e.NewBarrier(concurrentClients - resets)
	}
	errs := make(chan error, concurrentClients+2)
	var wg sync.WaitGroup
	for i := range concurrentClients {
		wg.Go(func() {
			c, err := s.dial()
			if err != nil {
				errs <- fmt.Errorf("client %d: dial: %v", i, err)
				return
			}
			defer c.Close()
			if i%10 == 0 {
				resetMidMessage(c)
				return
			}
			if err := clientConversation(c, i, framed, bar); err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
			}
		})
	}
	if !framed {
		wg.Go(func() {
			if err := s.echoMegabyte(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 5 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d clients failed; server log tail:\n%s", failed, tail(s.Log.String(), 20))
	}
	// The server is still serving after all that.
	c := s.mustDial(t)
	if framed {
		if err := askLine(c, "still there?\n", "You Send:still there?\n"); err != nil {
			t.Fatalf("after the clients: %v", err)
		}
	} else if err := echoExact(c, []byte("still there?\n"), 64); err != nil {
		t.Fatalf("after the clients: %v", err)
	}
	c.Close()
	st := s.stop(t)
	want := int64(concurrentClients + 1)
	if !framed {
		want++
	}
	// A model that counts must count every connection (prefork's children
	// accept on their own and may leave the count to them).
	if n := st.Conns.Load(); n != 0 && n != want {
		t.Errorf("Stats.Conns = %d, want %d", n, want)
	}
}

// clientConversation is one well-behaved client: two exchanges, with the
// barrier (if any) between them.
func clientConversation(c net.Conn, i int, framed bool, bar *e2e.Barrier) error {
	exchange := func(round int) error {
		if framed {
			line := fmt.Sprintf("hello %d.%d\n", i, round)
			return askLine(c, line, "You Send:"+line)
		}
		chunk := 4096
		payload := randomBytes(100 + i*13%3000)
		if i%10 == 1 || i%10 == 2 {
			chunk, payload = 1, randomBytes(48)
		}
		return echoExact(c, payload, chunk)
	}
	if err := exchange(1); err != nil {
		return err
	}
	if bar != nil {
		if err := bar.Wait(60 * time.Second); err != nil {
			return err
		}
	}
	if err := exchange(2); err != nil {
		return err
	}
	if framed { // the course's quit message ends the conversation
		if err := quitAs(c, i); err != nil {
			return fmt.Errorf("quit form %d: %w", i%3, err)
		}
		return expectEOF(c)
	}
	return nil
}

// quitAs sends the quit in one of the forms a server must take, chosen by
// the client's number: "q\n"; "q" alone, as the course's clients send it;
// or "q" right behind another message in the same write, which must still
// be answered before the server closes.
func quitAs(c net.Conn, i int) error {
	switch i % 3 {
	case 0:
		_, err := io.WriteString(c, "q\n")
		return err
	case 1:
		_, err := io.WriteString(c, "q")
		return err
	}
	line := fmt.Sprintf("last %d\n", i)
	return askLine(c, line+"q", "You Send:"+line)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
