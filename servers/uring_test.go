package servers_test

import (
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

// The uring model's own tests. The cross-model test (models_test.go) runs
// it as the kernel allows (multishot everything here); these run each
// fallback as well, since a kernel that has every feature never takes them
// otherwise, and check what is particular to a server with requests in
// flight: a stop, an idle client, a client that never reads.

// uringVariants are the ways the model can run: everything this kernel
// has, and each fallback an older kernel would make it take.
var uringVariants = []struct {
	name  string
	model servers.Model
}{
	{"multishot", servers.Uring},
	{"single-accept", servers.UringWith(false, true, true, true)},
	{"single-recv", servers.UringWith(true, false, true, true)},
	{"no-bufring", servers.UringWith(true, false, false, true)},
	{"oldest", servers.UringWith(false, false, false, false)},
}

// startUring runs a uring variant (on 127.0.0.1 unless cfg.Addr says
// otherwise), skipping the test where io_uring is refused.
func startUring(t *testing.T, m servers.Model, cfg servers.Config) *modelServer {
	t.Helper()
	e2e.NeedUring(t)
	if cfg.Addr.Family == 0 {
		cfg.Addr = mustResolve(t, "127.0.0.1:0")
	}
	if cfg.Backlog == 0 {
		cfg.Backlog = 512
	}
	return startServing(t, "uring", m, cfg)
}

// TestUringVariants: every variant, in every mode, serves 200 clients at
// once (some dribbling one byte per write, some resetting mid-message) and
// a megabyte in one go, exact bytes back; then serves one more, and counts
// every connection.
func TestUringVariants(t *testing.T) {
	e2e.NeedUring(t)
	for _, v := range uringVariants {
		t.Run(v.name, func(t *testing.T) {
			for _, mode := range testModes {
				t.Run(mode.name, func(t *testing.T) {
					uringClients(t, v.model, mode.proto)
				})
			}
		})
	}
}

func uringClients(t *testing.T, m servers.Model, proto protocol.Echo) {
	s := startUring(t, m, servers.Config{Proto: proto})
	framed := proto.Prefix != ""
	const clients = 200
	errs := make(chan error, clients+1)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := s.dial()
			if err != nil {
				errs <- fmt.Errorf("client %d: dial: %v", i, err)
				return
			}
			defer c.Close()
			switch {
			case i%10 == 0:
				resetMidMessage(c)
				return
			case framed:
				for round := range 3 {
					line := fmt.Sprintf("hello %d.%d\n", i, round)
					if err := askLine(c, line, "You Send:"+line); err != nil {
						errs <- fmt.Errorf("client %d: %v", i, err)
						return
					}
				}
			case i%10 == 1:
				err = echoExact(c, randomBytes(64), 1)
			default:
				err = echoExact(c, randomBytes(100+i*37%5000), 1000)
			}
			if err != nil {
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
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.Fatalf("server log tail:\n%s", tail(s.Log.String(), 20))
	}
	c := s.mustDial(t)
	if framed {
		if err := askLine(c, "q\n", ""); err != nil {
			t.Fatal(err)
		}
		if err := expectEOF(c); err != nil {
			t.Fatalf("after q: %v", err)
		}
	} else if err := echoExact(c, []byte("still there?\n"), 64); err != nil {
		t.Fatalf("after the clients: %v", err)
	}
	c.Close()
	st := s.stop(t)
	want := int64(clients + 1)
	if !framed {
		want++
	}
	if n := st.Conns.Load(); n != want {
		t.Errorf("Stats.Conns = %d, want %d", n, want)
	}
}

// TestUringStop: a stop with clients connected (one idle, one whose echo
// is stuck because it never reads, one mid-conversation) closes every one
// of them, returns, and leaves no descriptor behind: the ring, its eventfd,
// the listening socket and every client socket are closed.
func TestUringStop(t *testing.T) {
	e2e.NeedUring(t)
	for _, v := range uringVariants {
		t.Run(v.name, func(t *testing.T) {
			// The Go runtime opens its poller's descriptors on first use
			// of package net: let that happen before counting.
			if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
				ln.Close()
			}
			before := descriptorsOpen(t)
			s := startUring(t, v.model, servers.Config{Proto: protocol.Echo{Raw: true}})
			idle := s.mustDial(t)
			talker := s.mustDial(t)
			if err := echoExact(talker, []byte("hello\n"), 64); err != nil {
				t.Fatal(err)
			}
			stuck := s.mustDial(t)
			go io.Copy(stuck, strings.NewReader(strings.Repeat("x", 4<<20))) // never reads its echo
			// Stop only once the server has taken all three in (on a
			// loaded machine it may not have got to the last one yet),
			// and let the stuck client's echo pile up a little.
			waitUntil(t, "the server did not accept all three clients", func() bool {
				return e2e.AcceptQueued(s.Addr.String()) == 0 // all three taken in
			})
			time.Sleep(50 * time.Millisecond)

			st := s.stop(t)
			for name, c := range map[string]net.Conn{"idle": idle, "talker": talker} {
				if err := expectEOF(c); err != nil {
					t.Errorf("%s client after the stop: %v", name, err)
				}
			}
			if n := st.Conns.Load(); n != 3 {
				t.Errorf("Stats.Conns = %d, want 3", n)
			}
			if _, err := net.DialTimeout("tcp", s.Addr.String(), time.Second); err == nil {
				t.Error("the listening socket still accepts after the stop")
			}
			for _, c := range []net.Conn{idle, talker, stuck} {
				c.Close()
			}
			// The stuck client's socket is closed for good only once its
			// writing goroutine has returned from its last write: wait.
			after := descriptorsOpen(t)
			for deadline := time.Now().Add(10 * time.Second); after > before && time.Now().Before(deadline); after = descriptorsOpen(t) {
				time.Sleep(5 * time.Millisecond)
			}
			if after > before {
				t.Errorf("%d descriptors open before the server, %d after it stopped", before, after)
			}
		})
	}
}

// TestUringIdleTimeout: a client silent for the idle timeout is closed by
// the sweep timer, and so is one stuck because it never reads its echo;
// one that keeps talking is not.
func TestUringIdleTimeout(t *testing.T) {
	e2e.NeedUring(t)
	// Generous against a loaded machine: the talker's pauses (idle/5) leave
	// 800ms of slack under the timeout.
	const idle = time.Second
	s := startUring(t, servers.Uring, servers.Config{Proto: protocol.Echo{Raw: true}, IdleTimeout: idle})
	silent := s.mustDial(t)
	tk := &talker{dial: s.mustDial, idle: idle, exchange: func(c net.Conn) error {
		return echoExact(c, []byte("tick\n"), 64)
	}}
	tk.say(t)
	// A client that sends without reading its echo: once the buffers fill,
	// no byte moves either way, and it is as idle as the silent one. Its
	// writes fail once the server has closed it.
	stuck := s.mustDial(t)
	stuckDone := make(chan error, 1)
	go func() {
		stuck.SetWriteDeadline(time.Now().Add(20 * time.Second))
		_, err := io.Copy(stuck, neverEnding{})
		stuckDone <- err
	}()
	tk.talkFor(t, idle/5, 3*idle)
	if err := expectEOF(silent); err != nil {
		t.Errorf("silent client: %v", err)
	}
	tk.exchange = func(c net.Conn) error { return echoExact(c, []byte("still here\n"), 64) }
	tk.say(t) // the talking client was not closed with the silent one
	select {
	case err := <-stuckDone:
		if !isReset(err) {
			t.Errorf("client that never reads: writes ended with %v, want a reset", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("a client that never reads was not closed within 10s")
	}
	if !strings.Contains(s.Log.String(), "idle for "+idle.String()) {
		t.Errorf("log does not say the silent client was idle:\n%s", s.Log)
	}
}

// neverEnding is an endless stream of x.
type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// sysctlInt reads the last number of a /proc/sys file (tcp_rmem's maximum).
func sysctlInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUringSlowReader: a client that sends without ever reading its echo
// is stopped by backpressure (the server cancels its recv once outLimit of
// echo waits, and TCP's window does the rest) rather than filling the
// server's memory, and another client is served meanwhile. The writer can
// get no further than the socket buffers on both sides (bounded by the
// tcp_rmem and tcp_wmem maxima) plus the server's bounded backlog; a server
// that buffered without bound would take everything.
func TestUringSlowReader(t *testing.T) {
	e2e.NeedUring(t)
	// The two ways of pausing a client: cancel its multishot recv, or do
	// not arm its next single-shot one.
	for _, v := range []struct {
		name  string
		model servers.Model
	}{uringVariants[0], uringVariants[3]} {
		t.Run(v.name, func(t *testing.T) {
			s := startUring(t, v.model, servers.Config{Proto: protocol.Echo{Raw: true}})
			bound := 2*(sysctlInt(t, "/proc/sys/net/ipv4/tcp_rmem")+sysctlInt(t, "/proc/sys/net/ipv4/tcp_wmem")) + 8<<20
			slow := s.mustDial(t)
			chunk := make([]byte, 1<<20)
			written := 0
			slow.SetWriteDeadline(time.Now().Add(time.Second))
			for written < bound+len(chunk) {
				n, err := slow.Write(chunk)
				written += n
				if err != nil {
					break
				}
			}
			t.Logf("a client that never reads got %d bytes in before it blocked", written)
			if written > bound {
				t.Errorf("a client that never reads got %d bytes in; buffers hold at most %d", written, bound)
			}
			other := s.mustDial(t)
			if err := echoExact(other, randomBytes(100<<10), 4096); err != nil {
				t.Errorf("another client while the slow one is stuck: %v", err)
			}
		})
	}
}

// TestUringBatchWait: with more clients than batchFrom (200) all busy, the
// server waits for batches of completions; between rounds every client
// pauses, so batch waits also end with nothing (ETIME) and the server goes
// back to waiting for one. Every echo is exact throughout, and the summary
// counts the batch waits.
func TestUringBatchWait(t *testing.T) {
	s := startUring(t, servers.Uring, servers.Config{Proto: protocol.Echo{Raw: true}, Backlog: 1024})
	const clients, rounds = 300, 10
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = s.mustDial(t)
	}
	errs := make(chan error, clients)
	for round := range rounds {
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() {
				if err := echoExact(c, []byte(fmt.Sprintf("client %d round %d\n", i, round)), 64); err != nil {
					errs <- fmt.Errorf("client %d, round %d: %v", i, round, err)
				}
			})
		}
		wg.Wait()
		time.Sleep(5 * time.Millisecond) // a lull: the next batch wait ends empty
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range conns {
		c.Close()
	}
	st := s.stop(t)
	r := st.Ring
	if r == nil || r.Enters == 0 {
		t.Fatalf("no ring counts in the Stats: %+v", r)
	}
	if r.BatchWaits == 0 {
		t.Errorf("%d clients busy, yet no batch wait (%d completions from %d io_uring_enter)", clients, r.Completions, r.Enters)
	}
	var summary strings.Builder
	st.Summary(&summary)
	if !strings.Contains(summary.String(), fmt.Sprintf("%d of them batch waits", r.BatchWaits)) {
		t.Errorf("summary does not count the batch waits:\n%s", summary.String())
	}
	t.Logf("%d completions from %d io_uring_enter, %d batch waits", r.Completions, r.Enters, r.BatchWaits)
}
