package raw

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// fuzzPinger is a Pinger without sockets that has sent requests 1..5 with
// identifier 0x1234 to 198.18.2.2 (fd00:2::2): enough state for classify.
func fuzzPinger(v6, dgram bool) *Pinger {
	dst := netip.MustParseAddr("198.18.2.2")
	if v6 {
		dst = netip.MustParseAddr("fd00:2::2")
	}
	p := &Pinger{cfg: Config{Dst: dst}, v6: v6, dgram: dgram, id: 0x1234, size: DefaultSize,
		interval: time.Second, fd: -1, wake: -1}
	p.buildRequest()
	p.st.Timing = true
	for seq := 1; seq <= 5; seq++ {
		p.seqs.clear(uint16(seq))
		p.st.Transmitted++
		p.seqs.sent(p.st.Transmitted)
	}
	return p
}

// FuzzClassify feeds arbitrary datagrams to the parser and the code that
// decides what counts. Malformed, truncated and foreign packets must never
// crash it, and must never be counted: everything counted is an echo reply
// (or an error quoting an echo request to our destination) carrying our
// identifier (on a raw socket) and a sequence number we sent.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, b []byte, mode byte) {
		v6, dgram := mode&2 != 0, mode&1 != 0
		p := fuzzPinger(v6, dgram)
		replies, errs := 0, 0
		p.cfg.OnReply = func(r *Reply) {
			replies++
			if r.Seq < 1 || r.Seq > 5 {
				t.Errorf("counted a reply to seq %d, never sent", r.Seq)
			}
		}
		p.cfg.OnError = func(e *ICMPError) {
			if e.Counted {
				errs++
			}
			if e.Seq < 1 || e.Seq > 5 {
				t.Errorf("counted an error for seq %d, never sent", e.Seq)
			}
		}
		var pk Packet
		if err := p.parse(&pk, b); err != nil {
			return
		}
		p.classify(&pk, pk.TTL, time.Now(), netip.Addr{})
		st := p.Stats()
		if got := st.Received + st.Duplicates + st.Corrupted; got != replies {
			t.Errorf("stats count %d replies, hooks saw %d", got, replies)
		}
		if st.Errors != errs {
			t.Errorf("stats count %d errors, hooks saw %d", st.Errors, errs)
		}
		if replies == 0 && errs == 0 {
			return
		}
		// Whatever counted must really be ours: look at the bytes again
		// without the parser.
		icmp := b
		if !v6 && !dgram {
			icmp = b[int(b[0]&0x0f)*4:]
		}
		wantReply := byte(ICMPEchoReply)
		if v6 {
			wantReply = ICMPv6EchoReply
		}
		if replies > 0 {
			if icmp[0] != wantReply {
				t.Errorf("counted ICMP type %d as an echo reply", icmp[0])
			}
			if !dgram && binary.BigEndian.Uint16(icmp[4:]) != 0x1234 {
				t.Errorf("counted a reply with identifier %#x", binary.BigEndian.Uint16(icmp[4:]))
			}
			if !v6 && Checksum(icmp) != 0 && st.Corrupted == 0 {
				t.Error("counted a reply with a bad checksum as good")
			}
		}
		if errs > 0 && (!pk.Quoted || pk.QuotedDst != p.cfg.Dst || (!dgram && pk.ID != 0x1234)) {
			t.Errorf("counted an error not about our requests: %+v", pk)
		}
	})
}

// The receive path allocates nothing per packet (flood ping depends on it).
func TestClassifyDoesNotAllocate(t *testing.T) {
	p := fuzzPinger(false, false)
	req := Echo{Type: ICMPEchoReply, ID: 0x1234, Seq: 3, Data: p.out[icmpHeaderLen:]}.Marshal(nil)
	b := append(ipv4Header(5, 64, protoICMP, netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.1"), len(req)), req...)
	from := netip.MustParseAddr("198.18.2.2")
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		var pk Packet
		if err := p.parse(&pk, b); err != nil {
			t.Fatal(err)
		}
		p.classify(&pk, pk.TTL, now, from)
	})
	if allocs != 0 {
		t.Errorf("parse+classify allocates %.1f times per packet", allocs)
	}
}
