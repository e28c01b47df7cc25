package raw

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/raw/netnstest"
	"netprog/sys"
)

// needRaw skips a test that needs a raw ICMP socket.
func needRaw(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("raw ICMP sockets need root (or CAP_NET_RAW)")
	}
}

// collector records what the hooks report.
type collector struct {
	mu      sync.Mutex
	replies []Reply
	errs    []ICMPError
	sent    []int
}

func (c *collector) hook(cfg *Config) {
	cfg.OnSend = func(seq int) { c.mu.Lock(); c.sent = append(c.sent, seq); c.mu.Unlock() }
	cfg.OnReply = func(r *Reply) {
		c.mu.Lock()
		r2 := *r
		r2.Data = nil
		c.replies = append(c.replies, r2)
		c.mu.Unlock()
	}
	cfg.OnError = func(e *ICMPError) { c.mu.Lock(); c.errs = append(c.errs, *e); c.mu.Unlock() }
}

// lateReplies reads what reaches p's socket after Run returned, until enough
// holds for p's counts or 10s have passed, and returns the counts then. Run
// gives up on a reply twice the longest round trip (at least one interval)
// after its last request, as iputils does; on a loaded machine a reply may
// be queued later than that (a responder goroutine, or the softirq work the
// kernel leaves to ksoftirqd, waiting for a CPU), and Run counts it lost,
// though the counting these tests are about is right. Run's own wait is
// TestPingCountsReplyQueuedInTime's business.
func lateReplies(t *testing.T, p *Pinger, enough func(Stats) bool) Stats {
	t.Helper()
	ran := p.Stats()
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	for deadline := time.Now().Add(10 * time.Second); !enough(p.Stats()) && time.Now().Before(deadline); {
		fds[0].Revents = 0
		if _, err := sys.Poll(fds, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if fds[0].Revents&unix.POLLERR != 0 {
			if err := p.drainErrors(); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := p.drain(); err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if late := st.Received + st.Errors - ran.Received - ran.Errors; late > 0 {
		t.Logf("%d replies or errors were queued after the pinger stopped waiting for them (a loaded machine): counted here", late)
	}
	return st
}

// repliesOrErrors is lateReplies' enough for a test that wants n replies
// or errors.
func repliesOrErrors(n int) func(Stats) bool {
	return func(st Stats) bool { return st.Received+st.Errors >= n }
}

func TestPingLoopback(t *testing.T) {
	needRaw(t)
	for _, dst := range []string{"127.0.0.1", "::1"} {
		t.Run(dst, func(t *testing.T) {
			var c collector
			cfg := Config{Dst: netip.MustParseAddr(dst), Count: 3, Interval: 20 * time.Millisecond, Socket: RawSocket}
			c.hook(&cfg)
			p, err := NewPinger(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if _, err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := lateReplies(t, p, repliesOrErrors(3))
			if st.Transmitted != 3 || st.Received != 3 || st.Duplicates != 0 || st.Errors != 0 {
				t.Errorf("stats %+v, want 3 sent and 3 received", st)
			}
			if len(c.replies) != 3 {
				t.Fatalf("%d replies reported, want 3", len(c.replies))
			}
			for i, r := range c.replies {
				if r.Seq != i+1 || r.From != cfg.Dst || r.Bytes != 64 || r.TTL != 64 || !r.HasRTT || r.Dup || r.Truncated || r.WrongByte >= 0 {
					t.Errorf("reply %d: %+v", i, r)
				}
				if r.RTT < 0 || r.RTT > 5*time.Second {
					t.Errorf("reply %d: RTT %v", i, r.RTT)
				}
			}
			if st.Min() > st.Avg() || st.Avg() > st.Max() {
				t.Errorf("min %v avg %v max %v out of order", st.Min(), st.Avg(), st.Max())
			}
		})
	}
}

func TestPingCancelled(t *testing.T) {
	needRaw(t)
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	cfg := Config{Dst: netip.MustParseAddr("127.0.0.1"), Interval: 50 * time.Millisecond}
	c.hook(&cfg)
	cfg.OnReply = func(r *Reply) {
		if r.Seq == 2 {
			cancel() // as SIGINT does: stop, with the statistics so far
		}
	}
	start := time.Now()
	st, err := Ping(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Received != 2 || st.Transmitted != 2 {
		t.Errorf("stats after cancel at seq 2: %+v", st)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
}

// Two pingers in one process, same destination, same time: each counts its
// own replies only (the BPF filter and the identifier check see to it).
func TestConcurrentPingersCountOwnReplies(t *testing.T) {
	needRaw(t)
	for _, dst := range []string{"127.0.0.1", "::1"} {
		t.Run(dst, func(t *testing.T) {
			var wg sync.WaitGroup
			counts := []int{40, 25}
			errs := make([]error, 2)
			cols := make([]collector, 2)
			ids := make([]uint16, 2)
			pingers := make([]*Pinger, 2)
			for i := range counts {
				cfg := Config{Dst: netip.MustParseAddr(dst), Count: counts[i], Interval: -1, Socket: RawSocket}
				cols[i].hook(&cfg)
				p, err := NewPinger(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				ids[i], pingers[i] = p.ID(), p
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = p.Run(context.Background())
				}()
			}
			wg.Wait()
			if ids[0] == ids[1] {
				t.Fatalf("both pingers got identifier %#x", ids[0])
			}
			for i := range counts {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				st := lateReplies(t, pingers[i], repliesOrErrors(counts[i]))
				if st.Transmitted != counts[i] || st.Received != counts[i] || st.Duplicates != 0 || st.Corrupted != 0 {
					t.Errorf("pinger %d: %+v, want exactly %d sent and received", i, st, counts[i])
				}
				if len(cols[i].replies) != counts[i] {
					t.Errorf("pinger %d reported %d replies, want %d", i, len(cols[i].replies), counts[i])
				}
			}
		})
	}
}

func TestNewPingerRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no destination", Config{}},
		{"too big", Config{Dst: netip.MustParseAddr("127.0.0.1"), Size: MaxSize + 1}},
		{"long pattern", Config{Dst: netip.MustParseAddr("127.0.0.1"), Pattern: make([]byte, 17)}},
		{"ttl", Config{Dst: netip.MustParseAddr("127.0.0.1"), TTL: 256}},
		{"source family", Config{Dst: netip.MustParseAddr("127.0.0.1"), Source: netip.MustParseAddr("::1")}},
	} {
		if p, err := NewPinger(tc.cfg); err == nil {
			p.Close()
			t.Errorf("%s: NewPinger accepted %+v", tc.name, tc.cfg)
		}
	}
}

// startResponder serves script in namespace ns until the test ends.
func startResponder(t *testing.T, ns string, v6 bool, script string) {
	t.Helper()
	sc, err := ParseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var r *Responder
	netnstest.Do(t, ns, func() { r, err = NewResponder(v6, sc) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("responder: %v", err)
		}
	})
}

// pingIn runs a ping whose sockets live in namespace ns, then waits for
// late replies until want replies or errors came (lateReplies).
func pingIn(t *testing.T, ns string, cfg Config, want int) (Stats, *collector) {
	t.Helper()
	c := &collector{}
	c.hook(&cfg)
	var p *Pinger
	var err error
	netnstest.Do(t, ns, func() { p, err = NewPinger(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return lateReplies(t, p, repliesOrErrors(want)), c
}

// Faults keyed by sequence number make every count exact.
func TestPingScriptedFaults(t *testing.T) {
	tp := netnstest.Line(t)
	for _, v6 := range []bool{false, true} {
		name, dst := "v4", netnstest.AddrB
		script := "2:drop 3:dup 4:delay=150ms 5:badsum 6:wrongid 7:trunc=20"
		if v6 {
			// The kernel computes ICMPv6 checksums, so no bad one reaches us.
			name, dst, script = "v6", netnstest.Addr6B, "2:drop 3:dup 4:delay=150ms 6:wrongid 7:trunc=20"
		}
		t.Run(name, func(t *testing.T) {
			received, corrupted := 5, 1 // 1 3 4 7 8 (truncated counts) ; 5
			if v6 {
				received, corrupted = 6, 0 // 1 3 4 5 7 8
			}
			startResponder(t, tp.B, v6, script)
			st, c := pingIn(t, tp.A, Config{Dst: netip.MustParseAddr(dst), Count: 8, Interval: 50 * time.Millisecond, Socket: RawSocket}, received)
			if st.Transmitted != 8 || st.Received != received || st.Duplicates != 1 || st.Corrupted != corrupted || st.Errors != 0 {
				t.Errorf("stats %+v, want 8 sent, %d received, 1 duplicate, %d corrupted", st, received, corrupted)
			}
			bySeq := map[int][]Reply{}
			for _, r := range c.replies {
				bySeq[r.Seq] = append(bySeq[r.Seq], r)
			}
			if len(bySeq[2]) != 0 || len(bySeq[6]) != 0 {
				t.Errorf("dropped or foreign replies were reported: %+v %+v", bySeq[2], bySeq[6])
			}
			if r := bySeq[3]; len(r) != 2 || r[0].Dup || !r[1].Dup {
				t.Errorf("seq 3 (dup): %+v", r)
			}
			if r := bySeq[4]; len(r) != 1 || r[0].RTT < 150*time.Millisecond || r[0].RTT > 5*time.Second {
				t.Errorf("seq 4 (delay 150ms): %+v", r)
			}
			if !v6 {
				if r := bySeq[5]; len(r) != 1 || !r[0].BadChecksum {
					t.Errorf("seq 5 (bad checksum): %+v", r)
				}
			}
			if r := bySeq[7]; len(r) != 1 || !r[0].Truncated || r[0].Bytes != 64-20 {
				t.Errorf("seq 7 (truncated by 20): %+v", r)
			}
			if r := bySeq[8]; len(r) != 1 || r[0].Dup || r[0].TTL != 63 {
				t.Errorf("seq 8 (normal, one router away): %+v", r)
			}
		})
	}
}

func TestPingUnreachableAndTTL(t *testing.T) {
	tp := netnstest.Line(t)
	for _, mode := range []SocketMode{RawSocket, DatagramSocket} {
		for _, tc := range []struct {
			name     string
			dst      string
			ttl      int
			typ      int
			code     int
			from     string
			wantText string
		}{
			{"unreachable", netnstest.Unreach, 0, ICMPDestUnreach, 1, netnstest.AddrR1, "Destination Host Unreachable"},
			{"ttl", netnstest.AddrB, 1, ICMPTimeExceeded, 0, netnstest.AddrR1, "Time to live exceeded"},
			{"unreachable6", netnstest.Unreach6, 0, ICMPv6DestUnreach, 0, netnstest.Addr6R1, "Destination unreachable: No route"},
			{"hoplimit6", netnstest.Addr6B, 1, ICMPv6TimeExceeded, 0, netnstest.Addr6R1, "Time exceeded: Hop limit"},
		} {
			name := tc.name
			if mode == DatagramSocket {
				name += "/dgram"
			}
			t.Run(name, func(t *testing.T) {
				if mode == DatagramSocket {
					tp.Sysctl(tp.A, "net.ipv4.ping_group_range", "0 2147483647")
				}
				cfg := Config{Dst: netip.MustParseAddr(tc.dst), Count: 2, TTL: tc.ttl,
					Interval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond, Socket: mode}
				if tc.dst == netnstest.Unreach {
					cfg.Source = netip.MustParseAddr(tp.Source())
				}
				st, c := pingIn(t, tp.A, cfg, 2)
				if st.Transmitted != 2 || st.Received != 0 || st.Errors != 2 {
					t.Errorf("stats %+v, want 2 sent, 0 received, 2 errors", st)
				}
				if len(c.errs) != 2 {
					t.Fatalf("%d errors reported, want 2: %+v", len(c.errs), c.errs)
				}
				for i, e := range c.errs {
					if e.Seq != i+1 || e.Type != tc.typ || e.Code != tc.code || e.From.String() != tc.from || e.Text() != tc.wantText {
						t.Errorf("error %d: %+v (%q), want type %d code %d from %s: %q", i, e, e.Text(), tc.typ, tc.code, tc.from, tc.wantText)
					}
				}
			})
		}
	}
}

// On a datagram socket the kernel chooses the identifier and hands back
// only this socket's replies, without an IP header; TTL comes by cmsg.
func TestPingDatagramSocket(t *testing.T) {
	tp := netnstest.Line(t)
	startResponder(t, tp.B, false, "2:dup")
	tp.Sysctl(tp.A, "net.ipv4.ping_group_range", "0 2147483647")
	st, c := pingIn(t, tp.A, Config{Dst: netip.MustParseAddr(netnstest.AddrB), Count: 3, Interval: 30 * time.Millisecond, Socket: DatagramSocket}, 3)
	if st.Received != 3 || st.Duplicates != 1 {
		t.Errorf("stats %+v, want 3 received, 1 duplicate", st)
	}
	for _, r := range c.replies {
		if r.TTL != 63 || r.Bytes != 64 || !r.HasRTT {
			t.Errorf("reply %+v: want ttl 63 (IP_RECVTTL), 64 bytes, an RTT", r)
		}
	}
}

func TestPingPermissionError(t *testing.T) {
	e := &PermissionError{Err: os.NewSyscallError("socket", errors.New("operation not permitted"))}
	want := "socket(SOCK_RAW): socket: operation not permitted — run as root, grant CAP_NET_RAW, or allow ping_group_range"
	if e.Error() != want {
		t.Errorf("%q\nwant %q", e.Error(), want)
	}
}

// TestPingCountsReplyQueuedInTime: the last reply arrives well within the
// exit wait, but the pinger gets the CPU only after that wait is over (here
// it sleeps in OnIdle; on a loaded machine it waits for a CPU). The reply
// was queued in time, so it counts: iputils too reads what is queued before
// it acts on its exit alarm.
func TestPingCountsReplyQueuedInTime(t *testing.T) {
	tp := netnstest.Line(t)
	startResponder(t, tp.B, false, "2:delay=20ms")
	var lastSent, slept bool
	var p *Pinger
	cfg := Config{Dst: netip.MustParseAddr(netnstest.AddrB), Count: 2, Interval: 100 * time.Millisecond, Socket: RawSocket}
	c := &collector{}
	c.hook(&cfg)
	onSend := cfg.OnSend
	cfg.OnSend = func(seq int) { onSend(seq); lastSent = seq == 2 }
	cfg.OnIdle = func() {
		if lastSent && !slept {
			slept = true
			time.Sleep(300 * time.Millisecond) // past the exit wait (100 ms: one interval)
			// The reply is due 20 ms after the request; on a loaded
			// machine the responder's goroutine may be later than that.
			// Go back to the pinger once it is queued (poll does not
			// read it), so that it is the late read this test is about.
			fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
			sys.Poll(fds, 10*time.Second)
		}
	}
	var err error
	netnstest.Do(t, tp.A, func() { p, err = NewPinger(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slept {
		t.Fatal("the pinger never idled after its last request")
	}
	if st.Transmitted != 2 || st.Received != 2 {
		t.Errorf("%d sent, %d received; want the late-read reply counted: 2 and 2", st.Transmitted, st.Received)
	}
}
