package raw

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"netprog/raw/netnstest"
)

func TestTracerouteThroughRouter(t *testing.T) {
	tp := netnstest.Line(t)
	startResponder(t, tp.B, false, "")
	startResponder(t, tp.B, true, "")
	for _, mode := range []SocketMode{RawSocket, DatagramSocket} {
		for _, tc := range []struct{ dst, router string }{
			{netnstest.AddrB, netnstest.AddrR1}, {netnstest.Addr6B, netnstest.Addr6R1},
		} {
			if mode == DatagramSocket {
				tp.Sysctl(tp.A, "net.ipv4.ping_group_range", "0 2147483647")
			}
			var tr *Tracer
			var err error
			netnstest.Do(t, tp.A, func() {
				// Wait is a hang bound: each probe ends with its answer.
				tr, err = NewTracer(TraceConfig{Dst: netip.MustParseAddr(tc.dst), Wait: 10 * time.Second, Socket: mode})
			})
			if err != nil {
				t.Fatal(err)
			}
			probes, err := tr.Run(context.Background())
			tr.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(probes) != 6 {
				t.Fatalf("%s (mode %d): %d probes, want 3 per hop for 2 hops: %+v", tc.dst, mode, len(probes), probes)
			}
			for i, p := range probes {
				hop, from := 1, tc.router
				if i >= 3 {
					hop, from = 2, tc.dst
				}
				if p.TTL != hop || p.N != i%3 || p.Timeout || p.From.String() != from || p.Reached != (hop == 2) || p.Annotation() != "" {
					t.Errorf("%s (mode %d) probe %d: %+v, want hop %d from %s", tc.dst, mode, i, p, hop, from)
				}
			}
		}
	}
}

// A flood ping's send-and-receive path allocates nothing per packet.
func TestFloodPathDoesNotAllocate(t *testing.T) {
	needRaw(t)
	p, err := NewPinger(Config{Dst: netip.MustParseAddr("127.0.0.1"), Flood: true, Socket: RawSocket})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	allocs := testing.AllocsPerRun(500, func() {
		p.send(time.Now())
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if n, _, err := p.drain(); err != nil || n > 0 {
				return
			}
		}
		t.Fatal("no reply on loopback within 10s")
	})
	if allocs != 0 {
		t.Errorf("send+receive allocates %.1f times per packet", allocs)
	}
	if st := p.Stats(); st.Received < 500 {
		t.Errorf("only %d replies of %d", st.Received, st.Transmitted)
	}
}

// Far hosts behind B, where B (a router now) has a route of the test's
// choosing: "unreachable", "blackhole", "prohibit", or back through R
// (where the probe's TTL runs out at B: "time exceeded").
const (
	far4, farNet4 = "198.18.4.1", "198.18.4.0/24"
	far6, farNet6 = "fd00:4::1", "fd00:4::/64"
)

// farTopology is netnstest.Line with B forwarding to farNet4 and farNet6 by
// way of a route setB changes.
func farTopology(t *testing.T) (tp *netnstest.Topology, setB func(v6 bool, kind string)) {
	t.Helper()
	tp = netnstest.Line(t)
	tp.IP("-n", tp.R, "route", "add", farNet4, "via", netnstest.AddrB)
	tp.IP("-n", tp.R, "-6", "route", "add", farNet6, "via", netnstest.Addr6B)
	// B's ICMP errors are not rate limited by type (icmp_ratemask 0): that
	// limiter shares a token bucket with "unreachable"'s own one per source
	// (route.error_burst: five at once, then one a second) and, with
	// icmp_ratelimit 0, empties it at the first "time exceeded" of a later
	// jiffy. What is left is route.error_burst: a source per IPv4 trace.
	for _, kv := range [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv6.conf.all.forwarding", "1"},
		{"net.ipv4.icmp_ratemask", "0"}, {"net.ipv6.icmp.ratelimit", "0"}} {
		tp.Sysctl(tp.B, kv[0], kv[1])
	}
	setB = func(v6 bool, kind string) {
		t.Helper()
		args := []string{"-n", tp.B, "route", "replace"}
		if v6 {
			args = []string{"-n", tp.B, "-6", "route", "replace"}
		}
		switch {
		case kind == "via R" && v6:
			args = append(args, farNet6, "via", "fd00:2::1")
		case kind == "via R":
			args = append(args, farNet4, "via", netnstest.AddrR2)
		case v6:
			args = append(args, kind, farNet6)
		default:
			args = append(args, kind, farNet4)
		}
		tp.IP(args...)
	}
	setB(false, "unreachable")
	setB(true, "unreachable")
	return tp, setB
}

// trace runs a Tracer from tp.A.
func trace(t *testing.T, tp *netnstest.Topology, cfg TraceConfig) []Probe {
	t.Helper()
	var tr *Tracer
	var err error
	netnstest.Do(t, tp.A, func() { tr, err = NewTracer(cfg) })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	probes, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return probes
}

// A router that answers "unreachable" for every probe ends the trace at its
// hop (traceroute 2.1 does; -m is not reached).
func TestTracerouteStopsAtUnreachable(t *testing.T) {
	tp, _ := farTopology(t)
	tp.Sysctl(tp.A, "net.ipv4.ping_group_range", "0 2147483647")
	for _, mode := range []SocketMode{RawSocket, DatagramSocket} {
		for _, tc := range []struct{ dst, hop1, hop2, mark string }{
			{far4, netnstest.AddrR1, netnstest.AddrB, "!H"},   // ip route add unreachable: host unreachable
			{far6, netnstest.Addr6R1, netnstest.Addr6B, "!N"}, // IPv6: no route to destination
		} {
			// Wait is a hang bound: every probe is answered.
			cfg := TraceConfig{Dst: netip.MustParseAddr(tc.dst), MaxTTL: 5, Wait: 10 * time.Second, Socket: mode}
			if cfg.Dst.Is4() {
				// B answers each source's first five errors at once, then one a
				// second (net.ipv4.route.error_burst): a source per trace.
				cfg.Source = netip.MustParseAddr(tp.Source())
			}
			probes := trace(t, tp, cfg)
			if len(probes) != 6 {
				t.Fatalf("%s (mode %d): %d probes, want 3 per hop for 2 hops: %+v", tc.dst, mode, len(probes), probes)
			}
			for i, p := range probes {
				hop, from, mark := 1, tc.hop1, ""
				if i >= 3 {
					hop, from, mark = 2, tc.hop2, tc.mark
				}
				if p.TTL != hop || p.Timeout || p.Reached || p.From.String() != from || p.Annotation() != mark || p.Final() != (hop == 2) {
					t.Errorf("%s (mode %d) probe %d: %+v (%q), want hop %d from %s %q", tc.dst, mode, i, p, p.Annotation(), hop, from, mark)
				}
			}
		}
	}
}

// Lost probes do not count, and one final answer makes its hop the last,
// whatever the hop's other probes got: traceroute 2.1 stops at "!H * !X"
// and at "x ms !H x ms" alike. B's route changes between the probes of hop 2
// (OnProbe runs before the next probe is sent).
func TestTracerouteStopsAtMixedHop(t *testing.T) {
	tp, setB := farTopology(t)
	for _, tc := range []struct {
		name   string
		routes [3]string // B's route for hop 2's probes 0, 1, 2
		marks  [3]string // their marks; "*" lost, "" time exceeded
		wait   time.Duration
	}{
		// The lost probe waits its whole Wait: long enough for the others' answers on a busy machine.
		{"lost", [3]string{"unreachable", "blackhole", "prohibit"}, [3]string{"UNREACH", "*", "!X"}, 2 * time.Second},
		{"time exceeded", [3]string{"via R", "unreachable", "via R"}, [3]string{"", "UNREACH", ""}, 10 * time.Second},
	} {
		for _, v6 := range []bool{false, true} {
			dst, hop1, hop2, unreach := far4, netnstest.AddrR1, netnstest.AddrB, "!H"
			if v6 {
				dst, hop1, hop2, unreach = far6, netnstest.Addr6R1, netnstest.Addr6B, "!N"
			}
			cfg := TraceConfig{Dst: netip.MustParseAddr(dst), MaxTTL: 5, Wait: tc.wait, Socket: RawSocket}
			if !v6 {
				cfg.Source = netip.MustParseAddr(tp.Source())
			}
			cfg.OnProbe = func(p Probe) {
				if p.TTL == 2 && p.N < 2 {
					setB(v6, tc.routes[p.N+1])
				}
			}
			setB(v6, tc.routes[0])
			probes := trace(t, tp, cfg)
			setB(v6, "unreachable")
			if len(probes) != 6 {
				t.Fatalf("%s %s: %d probes, want 3 per hop for 2 hops: %+v", tc.name, dst, len(probes), probes)
			}
			for i, p := range probes[:3] {
				if p.TTL != 1 || p.Timeout || p.From.String() != hop1 || p.Final() {
					t.Errorf("%s %s probe %d: %+v, want time exceeded from %s", tc.name, dst, i, p, hop1)
				}
			}
			for i, p := range probes[3:] {
				want := tc.marks[i]
				if want == "UNREACH" {
					want = unreach
				}
				got := p.Annotation()
				if p.Timeout {
					got = "*"
				} else if p.From.String() != hop2 {
					t.Errorf("%s %s hop 2 probe %d from %v, want %s", tc.name, dst, i, p.From, hop2)
				}
				if p.TTL != 2 || got != want || p.Final() != (want != "" && want != "*") {
					t.Errorf("%s %s hop 2 probe %d: %+v (%q), want %q", tc.name, dst, i, p, got, want)
				}
			}
		}
	}
}

// Annotation and Final follow traceroute 2.1's table.
func TestTracerouteAnnotation(t *testing.T) {
	for _, tc := range []struct {
		p     Probe
		mark  string
		final bool
	}{
		{Probe{Timeout: true}, "", false},
		{Probe{Type: ICMPEchoReply, Reached: true}, "", true},
		{Probe{Type: ICMPTimeExceeded}, "", false},
		{Probe{Type: ICMPTimeExceeded, Code: 1}, "!<11-1>", true}, // fragment reassembly time exceeded
		{Probe{Type: ICMPDestUnreach, Code: 0}, "!N", true},
		{Probe{Type: ICMPDestUnreach, Code: 1}, "!H", true},
		{Probe{Type: ICMPDestUnreach, Code: 2}, "!P", true},
		{Probe{Type: ICMPDestUnreach, Code: 3}, "", true},
		{Probe{Type: ICMPDestUnreach, Code: 4, Info: 1400}, "!F-1400", true},
		{Probe{Type: ICMPDestUnreach, Code: 5}, "!S", true},
		{Probe{Type: ICMPDestUnreach, Code: 6}, "!N", true},
		{Probe{Type: ICMPDestUnreach, Code: 7}, "!H", true},
		{Probe{Type: ICMPDestUnreach, Code: 8}, "!N", true},
		{Probe{Type: ICMPDestUnreach, Code: 9}, "!X", true},
		{Probe{Type: ICMPDestUnreach, Code: 10}, "!X", true},
		{Probe{Type: ICMPDestUnreach, Code: 11}, "!N", true},
		{Probe{Type: ICMPDestUnreach, Code: 12}, "!H", true},
		{Probe{Type: ICMPDestUnreach, Code: 13}, "!X", true},
		{Probe{Type: ICMPDestUnreach, Code: 14}, "!V", true},
		{Probe{Type: ICMPDestUnreach, Code: 15}, "!C", true},
		{Probe{Type: ICMPDestUnreach, Code: 16}, "!<16>", true},
		{Probe{Type: ICMPParameterProb}, "!<12-0>", true},
		{Probe{V6: true, Type: ICMPv6EchoReply, Reached: true}, "", true},
		{Probe{V6: true, Type: ICMPv6TimeExceeded}, "", false},
		{Probe{V6: true, Type: ICMPv6TimeExceeded, Code: 1}, "!<3-1>", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 0}, "!N", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 1}, "!X", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 2}, "!H", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 3}, "!H", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 4}, "", true},
		{Probe{V6: true, Type: ICMPv6DestUnreach, Code: 6}, "!<6>", true},
		{Probe{V6: true, Type: ICMPv6PacketTooBig, Info: 1280}, "!F-1280", true},
		{Probe{V6: true, Type: ICMPv6ParamProb, Code: 1}, "!<4-1>", true},
	} {
		if got := tc.p.Annotation(); got != tc.mark || tc.p.Final() != tc.final {
			t.Errorf("%+v: %q final %v, want %q final %v", tc.p, got, tc.p.Final(), tc.mark, tc.final)
		}
	}
}
