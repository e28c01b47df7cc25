package sys

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SendtoBuf and RecvmsgBuf over UDP on loopback (no privilege needed): the
// data, the sender, and the SO_TIMESTAMPNS control message.
func TestSendtoRecvmsgBuf(t *testing.T) {
	lo := Addr{Family: unix.AF_INET, IP: netip.MustParseAddr("127.0.0.1")}
	rfd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(rfd)
	if err := Bind(rfd, lo); err != nil {
		t.Fatal(err)
	}
	if err := SetsockoptInt(rfd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	to, err := Getsockname(rfd)
	if err != nil {
		t.Fatal(err)
	}
	sfd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(sfd)
	if err := Bind(sfd, lo); err != nil {
		t.Fatal(err)
	}
	from, _ := Getsockname(sfd)
	before := time.Now()
	if n, err := SendtoBuf(sfd, []byte("ping"), 0, NewSockaddrBuf(to)); err != nil || n != 4 {
		t.Fatalf("SendtoBuf = %d, %v", n, err)
	}
	m := &Msg{Data: make([]byte, 64), Control: make([]byte, 128)}
	if err := RecvmsgBuf(rfd, m, 0); err != nil {
		t.Fatal(err)
	}
	if string(m.Data[:m.N]) != "ping" || m.From() != from || m.FromIP() != from.IP {
		t.Errorf("got %q from %v (%v), want \"ping\" from %v", m.Data[:m.N], m.From(), m.FromIP(), from)
	}
	var stamp time.Time
	for oob := m.Control[:m.ControlN]; ; {
		c, rest, ok := NextControlMessage(oob)
		if !ok {
			break
		}
		oob = rest
		if c.IsTimestampNS() {
			stamp = c.TimestampNS()
		}
	}
	if stamp.Before(before.Add(-time.Second)) || stamp.After(time.Now().Add(time.Second)) {
		t.Errorf("SO_TIMESTAMPNS %v, sent at %v", stamp, before)
	}
	if err := RecvmsgBuf(rfd, m, unix.MSG_DONTWAIT); !IsTemporary(err) {
		t.Errorf("empty queue: %v, want EAGAIN", err)
	}
}

func TestNextControlMessageMalformed(t *testing.T) {
	for _, oob := range [][]byte{nil, make([]byte, 8), {0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}} {
		if c, _, ok := NextControlMessage(oob); ok {
			t.Errorf("NextControlMessage(%x) = %+v, want nothing", oob, c)
		}
	}
}
