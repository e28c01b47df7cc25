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
