package raw

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"netprog/raw/netnstest"
	"netprog/sys"
)

// attachedFilter reads back the classic BPF program attached to fd
// (getsockopt SO_GET_FILTER, whose length is counted in instructions, not
// bytes); nil if none is.
func attachedFilter(t *testing.T, fd int) []unix.SockFilter {
	t.Helper()
	buf := make([]unix.SockFilter, 64)
	n := uint32(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_GET_FILTER,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		t.Fatalf("getsockopt(SO_GET_FILTER): %v", e)
	}
	if n == 0 {
		return nil
	}
	return buf[:n]
}

// TestFilterWaitsForForeignPacket: a raw socket's BPF filter is attached
// only once a packet that is not the pinger's own arrives, as iputils does
// it; alone on a host, a pinger runs none. Each case runs in a network
// namespace of its own, where no other test's ICMP reaches the socket.
func TestFilterWaitsForForeignPacket(t *testing.T) {
	needRaw(t)
	netnstest.Need(t)
	n := netnstest.New(t)
	cases := []struct {
		name    string
		dst     string
		foreign bool // an echo reply to another identifier is queued first
	}{
		{"alone v4", "127.0.0.1", false},
		{"alone v6", "::1", false},
		{"foreign v4", "127.0.0.1", true},
		{"foreign v6", "::1", true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := n.Add(string(rune('a' + i)))
			dst := netip.MustParseAddr(c.dst)
			var p *Pinger
			var err error
			netnstest.Do(t, ns, func() { p, err = NewPinger(Config{Dst: dst, Count: 3, Flood: true, Socket: RawSocket}) })
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if c.foreign {
				sendForeignReply(t, ns, dst, p.ID()^0x5a5a)
			}
			st, err := p.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Received != 3 {
				t.Errorf("%d of 3 replies", st.Received)
			}
			got := attachedFilter(t, p.fd)
			want := filterIPv4(p.ID())
			if dst.Is6() {
				want = filterIPv6(p.ID())
			}
			switch {
			case !c.foreign && got != nil:
				t.Errorf("a filter of %d instructions is attached, with no packet but our own seen", len(got))
			case c.foreign && !slices.Equal(got, want):
				t.Errorf("after another pinger's reply the filter is %v, want %v", got, want)
			}
		})
	}
}

// sendForeignReply queues an echo reply with identifier id to dst inside
// namespace ns: what another pinger's reply looks like to a raw socket.
// Loopback delivers it before sendto returns.
func sendForeignReply(t *testing.T, ns string, dst netip.Addr, id uint16) {
	t.Helper()
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if dst.Is6() {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	var fd int
	var err error
	netnstest.Do(t, ns, func() { fd, err = sys.Socket(family, unix.SOCK_RAW, proto) })
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	b := Echo{V6: dst.Is6(), Type: echoType(dst.Is6(), true), ID: id, Seq: 1, Data: make([]byte, 56)}.Marshal(nil)
	if _, err := sys.Sendto(fd, b, 0, sys.Addr{Family: family, IP: dst}); err != nil {
		t.Fatal(err)
	}
}
