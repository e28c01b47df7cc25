package raw

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/raw/netnstest"
	"netprog/sys"
)

// TestResponderDropsBadChecksums: a request whose ICMP checksum fails is
// dropped and counted, as the kernel's own responder drops it; a good one
// sent right behind it is answered. The responder takes requests in order,
// so the good one's reply proves the bad one was already judged.
func TestResponderDropsBadChecksums(t *testing.T) {
	netnstest.Need(t)
	n := netnstest.New(t)
	ns := n.Add("resp")
	n.Sysctl(ns, "net.ipv4.icmp_echo_ignore_all", "1") // only the responder answers

	var r *Responder
	var err error
	netnstest.Do(t, ns, func() { r, err = NewResponder(false, nil) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
	}()

	var fd int
	netnstest.Do(t, ns, func() { fd, err = sys.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP) })
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	sys.SetRecvTimeout(fd, 200*time.Millisecond)
	lo := sys.Addr{Family: unix.AF_INET, IP: netip.MustParseAddr("127.0.0.1")}
	const id = 0x4242
	bad := Echo{Type: ICMPEcho, ID: id, Seq: 1, Data: []byte("forged")}.Marshal(nil)
	binary.BigEndian.PutUint16(bad[2:], binary.BigEndian.Uint16(bad[2:])^0x00ff)
	good := Echo{Type: ICMPEcho, ID: id, Seq: 2, Data: []byte("honest")}.Marshal(nil)
	for _, b := range [][]byte{bad, good} {
		if _, err := sys.Sendto(fd, b, 0, lo); err != nil {
			t.Fatal(err)
		}
	}

	buf := make([]byte, 1500)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("no reply to the good request in 20 s")
		}
		n, _, _, err := sys.Recvfrom(fd, buf, 0)
		if sys.IsTemporary(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		pk, err := ParseIPv4(buf[:n])
		if err != nil || pk.Type != ICMPEchoReply || pk.ID != id {
			continue // our own requests, seen by a raw socket too
		}
		if pk.Seq == 1 {
			t.Fatal("the request with a bad checksum was answered")
		}
		if pk.Seq == 2 {
			break
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	served <- nil // for the deferred stop
	if r.BadChecksums != 1 {
		t.Errorf("BadChecksums = %d, want 1", r.BadChecksums)
	}
}

// TestPingImpossibleTimestamp: replies stamped 1970 (a forged duplicate
// among them) count as received but stay out of min/avg/max/mdev, and the
// summary says how many there were.
func TestPingImpossibleTimestamp(t *testing.T) {
	tp := netnstest.Line(t)
	startResponder(t, tp.B, false, "2:dup,oldstamp")
	st, c := pingIn(t, tp.A, Config{Dst: netip.MustParseAddr(netnstest.AddrB), Count: 3, Interval: 50 * time.Millisecond, Socket: RawSocket}, 3)
	if st.Transmitted != 3 || st.Received != 3 || st.Duplicates != 1 || st.BadTimes != 2 {
		t.Errorf("stats %+v, want 3 sent, 3 received, 1 duplicate, 2 impossible times", st)
	}
	if st.Max() > 10*time.Second || st.Avg() > 10*time.Second || st.Mdev() > 10*time.Second {
		t.Errorf("a 1970 stamp reached the round-trip statistics: max %v avg %v mdev %v", st.Max(), st.Avg(), st.Mdev())
	}
	for _, r := range c.replies {
		if r.Seq == 2 && r.HasRTT {
			t.Errorf("seq 2 (stamped 1970) reported a round trip: %+v", r)
		}
		if r.Seq != 2 && !r.HasRTT {
			t.Errorf("seq %d lost its round trip: %+v", r.Seq, r)
		}
	}
	var b strings.Builder
	st.WriteSummary(&b, netnstest.AddrB)
	if !strings.Contains(b.String(), "2 replies carried an impossible timestamp") || !strings.Contains(b.String(), "rtt min/avg/max/mdev") {
		t.Errorf("summary:\n%s", b.String())
	}
}
