package servers_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
	"netprog/sys"
)

// Faults the thread, event-loop and goroutine models survive: slow readers,
// silent clients, peers that reset while the server holds their echo, and
// a stop with clients in every state.

// faultModelCases are the models these tests cover (iterative, fork and
// prefork have their own).
var faultModelCases = []modelCase{
	{name: "thread", model: "thread"},
	{name: "select", model: "select"},
	{name: "poll", model: "poll"},
	{name: "epoll", model: "epoll"},
	{name: "epoll-edge", model: "epoll", edge: true},
	{name: "goroutine", model: "goroutine"},
}

// dialSmallWindow connects with a 4 KiB receive buffer (e2e.SmallWindowDial).
func (s *modelServer) dialSmallWindow(t *testing.T) net.Conn {
	t.Helper()
	return e2e.SmallWindowDial(t, s.Addr.String())
}

// floodWithoutReading writes up to n bytes to c and never reads (e2e.Flood).
func floodWithoutReading(c net.Conn, n int, d time.Duration) (*atomic.Int64, <-chan error) {
	return e2e.Flood(c, int64(n), false, d)
}

// waitStalled waits until the counter stops moving for 500ms, or reaches
// limit (e2e.Stalled).
func waitStalled(t *testing.T, n *atomic.Int64, limit int64) int64 {
	t.Helper()
	return e2e.Stalled(t, limit, 500*time.Millisecond, n)
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// TestSlowReaderMemoryIsBounded: a client sends 10 MiB and never reads its
// echo. The server must stop reading it (backpressure) rather than buffer
// the echo, and go on serving others meanwhile.
func TestSlowReaderMemoryIsBounded(t *testing.T) {
	const flood = 10 << 20
	for _, mc := range faultModelCases {
		t.Run(mc.name, func(t *testing.T) {
			s := startModelServer(t, mc.model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Raw: true}, Edge: mc.edge})
			before := heapInUse()
			slow := s.dialSmallWindow(t)
			written, _ := floodWithoutReading(slow, flood, 60*time.Second)
			got := waitStalled(t, written, flood)

			// Others are still served while the slow reader is stuck.
			c := s.mustDial(t)
			if err := echoExact(c, []byte("are you there?\n"), 64); err != nil {
				t.Fatalf("another client while the slow reader is stuck: %v", err)
			}
			grown := heapInUse() - before
			t.Logf("slow reader wrote %d bytes before stalling; server heap grew %d bytes", got, grown)
			if grown > 4<<20 {
				t.Errorf("heap grew by %d bytes with a slow reader that sent %d: the echo is buffered without bound", grown, got)
			}
			slow.Close()
			c.Close()
			st := s.stop(t)
			if n := st.Conns.Load(); n != 2 {
				t.Errorf("Stats.Conns = %d, want 2", n)
			}
		})
	}
}

// TestIdleTimeoutClosesSilentAndNonReadingClients: with an idle timeout, a
// client that sends nothing is closed, and so is one that sends but never
// reads its echo (nothing moves either way); a client that talks is not.
func TestIdleTimeoutClosesSilentAndNonReadingClients(t *testing.T) {
	// Generous against a loaded machine: the talker's pauses (idle/5) leave
	// 800ms of slack under the timeout.
	const idle = time.Second
	cases := append([]modelCase{{name: "iterative", model: "iterative"}}, faultModelCases...)
	for _, mc := range cases {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			s := startModelServer(t, mc.model, servers.Config{
				Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Prefix: "You Send:"},
				Edge: mc.edge, IdleTimeout: idle,
			})
			silent := s.mustDial(t)
			if err := expectEOF(silent); err != nil {
				t.Fatalf("silent client: %v", err)
			}
			s.Log.waitFor(t, "idle for "+idle.String())

			slow := s.dialSmallWindow(t)
			_, done := floodWithoutReading(slow, 64<<20, 30*time.Second)
			if mc.concurrent() {
				// A client that talks more often than the timeout stays.
				tk := &talker{dial: s.mustDial, idle: idle, exchange: func(c net.Conn) error {
					return askLine(c, "tick\n", "You Send:tick\n")
				}}
				tk.talkFor(t, idle/5, 8*idle/5)
				tk.c.Close()
			}
			select {
			case err := <-done:
				if err == nil || os.IsTimeout(err) {
					t.Fatalf("a client that never reads was not closed by the idle timeout: write error %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a client that never reads was not closed in 30s")
			}
			s.stop(t)
		})
	}
}

// talker is a client that talks more often than the server's idle timeout,
// and so must stay connected. On a loaded machine the test's own goroutine
// may miss its turn for longer than the timeout between two exchanges: the
// server is then right to close it. So a failure right after such a lapse
// (half the timeout or more since the previous exchange began: the server
// has nothing to do with a pause that long) starts the talk over on a new
// connection, a few times at most; any other failure fails the test.
type talker struct {
	dial     func(*testing.T) net.Conn
	exchange func(net.Conn) error
	idle     time.Duration
	c        net.Conn
	last     time.Time // when the previous exchange (or the dial) began
	lapses   int
}

// say has one exchange; it reports whether it had to start over on a new
// connection after a lapse of the test's own.
func (tk *talker) say(t *testing.T) (restarted bool) {
	t.Helper()
	if tk.c == nil {
		tk.last = time.Now()
		tk.c = tk.dial(t)
	}
	began := time.Now()
	err := tk.exchange(tk.c)
	if err == nil {
		tk.last = began
		return false
	}
	gap := began.Sub(tk.last)
	if gap < tk.idle/2 || tk.lapses == 3 {
		t.Fatalf("talking client, %v after its previous exchange (idle timeout %v): %v", gap, tk.idle, err)
	}
	tk.lapses++
	t.Logf("talking client closed after a lapse of %v of the test's own (a loaded machine): starting over", gap)
	tk.c.Close()
	tk.c = nil
	tk.say(t)
	return true
}

// talkFor has the talker say something every pause, for at least d on one
// connection.
func (tk *talker) talkFor(t *testing.T, pause, d time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < d; time.Sleep(pause) {
		if tk.say(t) {
			start = time.Now()
		}
	}
}

// TestHangupWhileBackpressuredNoBusyLoop: the event loops stop asking for
// POLLIN from a client that does not read; if that peer then resets, poll
// and epoll report POLLHUP|POLLERR whatever was asked. The loop must close
// the client, not wake up for it forever: count the waits it makes.
func TestHangupWhileBackpressuredNoBusyLoop(t *testing.T) {
	for _, mc := range faultModelCases {
		if mc.model == "thread" || mc.model == "goroutine" {
			continue
		}
		t.Run(mc.name, func(t *testing.T) {
			s := startModelServer(t, mc.model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Raw: true}, Edge: mc.edge})
			slow := s.dialSmallWindow(t)
			written, _ := floodWithoutReading(slow, 64<<20, 60*time.Second)
			waitStalled(t, written, 64<<20)

			var waits atomic.Int64
			restore := countSyscalls(t, []string{"select(", "poll(", "epoll_wait("}, &waits)
			defer restore()
			slow.(*net.TCPConn).SetLinger(0)
			slow.Close() // reset
			s.Log.waitFor(t, "connection reset by peer")
			// The window is the next client's five exchanges, 100 ms
			// apart: the loop ran through it (it answered each), so a loop
			// that woke for the hung-up socket again and again would have
			// done so hundreds of times, even one that paused a
			// millisecond between its waits. One that waits for events
			// makes a few per exchange.
			const exchanges = 5
			c := s.mustDial(t)
			start := time.Now()
			for i := range exchanges {
				time.Sleep(100 * time.Millisecond)
				if err := echoExact(c, []byte(fmt.Sprintf("next %d\n", i)), 64); err != nil {
					t.Fatalf("after the reset, exchange %d: %v", i, err)
				}
			}
			if n := waits.Load(); n > 10+4*exchanges {
				t.Errorf("%d waits in the %v after a reset, for %d exchanges: the loop spins on the hung-up socket", n, time.Since(start).Round(time.Millisecond), exchanges)
			}
		})
	}
}

// TestStopWithClientsInEveryState: a stop while a client is silent, one is
// mid-line, one is stuck writing to a slow reader ends the model promptly,
// closes every client, and leaves no goroutine or descriptor behind.
func TestStopWithClientsInEveryState(t *testing.T) {
	for _, mc := range faultModelCases {
		t.Run(mc.name, func(t *testing.T) {
			// A first run opens what stays open for the process (the spare
			// descriptor, the runtime's poller).
			warm := startModelServer(t, mc.model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Edge: mc.edge})
			warm.mustDial(t).Close()
			warm.stop(t)
			baseG, baseFD := settledGoroutines(0), descriptorsOpen(t)

			s := startModelServer(t, mc.model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Raw: true}, Edge: mc.edge})
			silent := s.mustDial(t)
			half := s.mustDial(t)
			io.WriteString(half, "half a li")
			slow := s.dialSmallWindow(t)
			written, _ := floodWithoutReading(slow, 64<<20, 60*time.Second)
			waitStalled(t, written, 64<<20)
			waitUntil(t, "3 clients not all accepted", func() bool {
				return e2e.AcceptQueued(s.Addr.String()) == 0 // all three taken in
			})
			st := s.stop(t)
			if n := st.Conns.Load(); n != 3 {
				t.Errorf("Stats.Conns = %d, want 3", n)
			}
			if st.Bytes.Load() == 0 {
				t.Errorf("Stats.Bytes = 0, but the slow reader and the half line were echoed")
			}
			for name, c := range map[string]net.Conn{"silent": silent, "half": half} {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadAll(c); err != nil && !isReset(err) {
					t.Errorf("%s client after the stop: %v (want end of file)", name, err)
				}
				c.Close()
			}
			slow.Close()
			if g := settledGoroutines(baseG); g > baseG {
				t.Errorf("%d goroutines after the stop, %d before: a leak", g, baseG)
			}
			// The slow client's socket is closed for good only once its
			// flooding goroutine has returned from its last write: wait.
			n := descriptorsOpen(t)
			for deadline := time.Now().Add(10 * time.Second); n > baseFD && time.Now().Before(deadline); n = descriptorsOpen(t) {
				time.Sleep(5 * time.Millisecond)
			}
			if n > baseFD {
				t.Errorf("%d descriptors open after the stop, %d before: a leak", n, baseFD)
			}
		})
	}
}

// settledGoroutines waits up to 10s for the goroutine count to come down to
// want and returns it (want 0: just let things settle for a moment).
func settledGoroutines(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if (want > 0 && n <= want) || time.Now().After(deadline) {
			return n
		}
		if want == 0 {
			time.Sleep(50 * time.Millisecond)
			return runtime.NumGoroutine()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descriptorsOpen counts this process's open descriptors.
func descriptorsOpen(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory's own descriptor
}

// syscallCounter counts the trace lines (one per system call, from the sys
// trace hook) that start with one of its prefixes.
type syscallCounter struct {
	prefixes []string
	n        *atomic.Int64
}

func (c *syscallCounter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		for _, pre := range c.prefixes {
			if strings.HasPrefix(line, pre) {
				c.n.Add(1)
			}
		}
	}
	return len(p), nil
}

// countSyscalls counts the calls named by prefixes ("poll(") that package
// sys makes from now on, in the whole process; the returned func stops.
func countSyscalls(t *testing.T, prefixes []string, n *atomic.Int64) (restore func()) {
	t.Helper()
	sys.SetTrace(&syscallCounter{prefixes: prefixes, n: n})
	return func() { sys.SetTrace(nil) }
}
