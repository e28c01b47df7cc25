package raw

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Our encoding is checked against golang.org/x/net/icmp, an independent
// implementation.

func TestChecksumMatchesXNet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 56, 57, 1000, 1471} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		id, seq := uint16(r.Uint32()), uint16(r.Uint32())
		want, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(id), Seq: int(seq), Data: data}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		got := Echo{Type: ICMPEcho, ID: id, Seq: seq, Data: data}.Marshal(nil)
		if !bytes.Equal(got, want) {
			t.Errorf("%d data bytes: Marshal\n got %x\nwant %x (x/net/icmp)", n, got, want)
		}
		if Checksum(got) != 0 {
			t.Errorf("%d data bytes: a marshalled message does not verify: %#04x", n, Checksum(got))
		}
	}
}

func TestChecksumKnownValues(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want uint16
	}{
		{nil, 0xffff},
		{[]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0x220d}, // RFC 1071 §3 example: sum ddf2 -> ~0x220d
		{[]byte{0xff}, 0x00ff},
		{[]byte{0xff, 0xff}, 0x0000},
	} {
		if got := Checksum(tc.in); got != tc.want {
			t.Errorf("Checksum(%x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestParseEchoFromXNet(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	for _, tc := range []struct {
		name string
		v6   bool
		typ  icmp.Type
		want int
	}{
		{"v4 reply", false, ipv4.ICMPTypeEchoReply, ICMPEchoReply},
		{"v4 request", false, ipv4.ICMPTypeEcho, ICMPEcho},
		{"v6 reply", true, ipv6.ICMPTypeEchoReply, ICMPv6EchoReply},
	} {
		b, err := (&icmp.Message{Type: tc.typ, Body: &icmp.Echo{ID: 0xbeef, Seq: 513, Data: data}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseICMP(b, tc.v6)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.Type != tc.want || p.ID != 0xbeef || p.Seq != 513 || !bytes.Equal(p.Data, data) || !p.ChecksumOK || p.Len != len(b) {
			t.Errorf("%s: parsed %+v", tc.name, p)
		}
	}
}

// ipv4Header builds an IPv4 header with ihl 32-bit words (options zeroed).
func ipv4Header(ihl int, ttl byte, proto byte, src, dst netip.Addr, payload int) []byte {
	h := make([]byte, ihl*4)
	h[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+payload))
	h[8], h[9] = ttl, proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	binary.BigEndian.PutUint16(h[10:], Checksum(h))
	return h
}

func TestParseIPv4HonoursIHL(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.1")
	msg := Echo{Type: ICMPEchoReply, ID: 7, Seq: 9, Data: []byte("payload!")}.Marshal(nil)
	for _, ihl := range []int{5, 6, 15} { // no options, one word, the most
		b := append(ipv4Header(ihl, 57, protoICMP, src, dst, len(msg)), msg...)
		p, err := ParseIPv4(b)
		if err != nil {
			t.Fatalf("ihl %d: %v", ihl, err)
		}
		if p.TTL != 57 || p.ID != 7 || p.Seq != 9 || p.Len != len(msg) || !p.ChecksumOK {
			t.Errorf("ihl %d: parsed %+v", ihl, p)
		}
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.1.1")
	msg := Echo{Type: ICMPEchoReply, ID: 7, Seq: 9}.Marshal(nil)
	good := append(ipv4Header(5, 64, protoICMP, src, dst, len(msg)), msg...)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"half a header", good[:10]},
		{"header without ICMP", good[:20]},
		{"ICMP cut short", good[:24]},
		{"IHL below 5", func() []byte { b := bytes.Clone(good); b[0] = 0x44; return b }()},
		{"IHL past the end", func() []byte { b := bytes.Clone(good); b[0] = 0x4f; return b }()},
		{"IPv6 version", func() []byte { b := bytes.Clone(good); b[0] = 0x65; return b }()},
		{"UDP", append(ipv4Header(5, 64, 17, src, dst, 8), make([]byte, 8)...)},
	} {
		if p, err := ParseIPv4(tc.b); err == nil {
			t.Errorf("%s: parsed %+v, want an error", tc.name, p)
		}
	}
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0xff
	bad[len(bad)-3] ^= 0x01
	if p, err := ParseIPv4(bad); err != nil || p.ChecksumOK {
		t.Errorf("corrupted message: ChecksumOK = %v, err %v; want false, nil", p.ChecksumOK, err)
	}
}

func TestParseQuotedError(t *testing.T) {
	me, router, far := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.3.1")
	req := Echo{Type: ICMPEcho, ID: 0x4242, Seq: 3, Data: make([]byte, 56)}.Marshal(nil)
	quoted := append(ipv4Header(6, 1, protoICMP, me, far, len(req)), req[:8]...) // options in the quote too
	for _, tc := range []struct {
		typ, code int
	}{{ICMPDestUnreach, 1}, {ICMPTimeExceeded, 0}, {ICMPParameterProb, 0}} {
		body, _ := (&icmp.Message{Type: ipv4.ICMPType(tc.typ), Code: tc.code, Body: &icmp.DstUnreach{Data: quoted}}).Marshal(nil)
		b := append(ipv4Header(5, 64, protoICMP, router, me, len(body)), body...)
		p, err := ParseIPv4(b)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Quoted || p.QuotedDst != far || p.QuotedType != ICMPEcho || p.ID != 0x4242 || p.Seq != 3 || p.Type != tc.typ || p.Code != tc.code {
			t.Errorf("type %d: parsed %+v", tc.typ, p)
		}
	}
	// ICMPv6: time exceeded quoting an IPv6 header and our echo request.
	src6, dst6 := netip.MustParseAddr("fd00:1::1"), netip.MustParseAddr("fd00:3::1")
	ip6 := make([]byte, 40)
	ip6[0], ip6[6], ip6[7] = 0x60, protoICMPv6, 1
	s, d := src6.As16(), dst6.As16()
	copy(ip6[8:], s[:])
	copy(ip6[24:], d[:])
	req6 := Echo{V6: true, Type: ICMPv6Echo, ID: 0x99, Seq: 4}.Marshal(nil)
	body, _ := (&icmp.Message{Type: ipv6.ICMPTypeTimeExceeded, Body: &icmp.TimeExceeded{Data: append(ip6, req6...)}}).Marshal(nil)
	p, err := ParseICMP(body, true)
	if err != nil || !p.Quoted || p.QuotedDst != dst6 || p.QuotedType != ICMPv6Echo || p.ID != 0x99 || p.Seq != 4 {
		t.Errorf("ICMPv6 time exceeded: parsed %+v, %v", p, err)
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		v6        bool
		typ, code int
		info      uint32
		want      string
	}{
		{false, ICMPDestUnreach, 1, 0, "Destination Host Unreachable"},
		{false, ICMPDestUnreach, 0, 0, "Destination Net Unreachable"},
		{false, ICMPDestUnreach, 3, 0, "Destination Port Unreachable"},
		{false, ICMPDestUnreach, 4, 1400, "Frag needed and DF set (mtu = 1400)"},
		{false, ICMPDestUnreach, 99, 0, "Dest Unreachable, Bad Code: 99"},
		{false, ICMPTimeExceeded, 0, 0, "Time to live exceeded"},
		{false, ICMPTimeExceeded, 1, 0, "Frag reassembly time exceeded"},
		{false, ICMPParameterProb, 0, 20 << 24, "Parameter problem: pointer = 20"},
		{false, 42, 0, 0, "Bad ICMP type: 42"},
		{true, ICMPv6DestUnreach, 0, 0, "Destination unreachable: No route"},
		{true, ICMPv6DestUnreach, 3, 0, "Destination unreachable: Address unreachable"},
		{true, ICMPv6DestUnreach, 6, 0, "Destination unreachable: Reject route to destination"},
		{true, ICMPv6TimeExceeded, 0, 0, "Time exceeded: Hop limit"},
		{true, ICMPv6PacketTooBig, 0, 1280, "Packet too big: mtu=1280"},
	} {
		if got := Describe(tc.v6, tc.typ, tc.code, tc.info); got != tc.want {
			t.Errorf("Describe(v6=%v, %d, %d) = %q, want %q", tc.v6, tc.typ, tc.code, got, tc.want)
		}
	}
}

func TestParseScript(t *testing.T) {
	sc, err := ParseScript("2:drop 3:dup=2;4:delay=250ms,dup 5:badsum 6:wrongid 7:trunc=20")
	if err != nil {
		t.Fatal(err)
	}
	want := Script{2: {Drop: true}, 3: {Dups: 2}, 4: {Delay: 250e6, Dups: 1}, 5: {BadChecksum: true}, 6: {WrongID: true}, 7: {Truncate: 20}}
	for seq, f := range want {
		if sc[seq] != f {
			t.Errorf("seq %d: %+v, want %+v", seq, sc[seq], f)
		}
	}
	for _, bad := range []string{"x:drop", "2", "2:explode", "2:dup=-1", "2:delay=soon"} {
		if _, err := ParseScript(bad); err == nil {
			t.Errorf("ParseScript(%q) accepted", bad)
		}
	}
}
