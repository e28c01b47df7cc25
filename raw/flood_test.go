package raw

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A raw ICMP socket receives a copy of every ICMP packet of the host. A
// pinger must count its own replies and nothing else while other traffic
// floods in: another pinger flooding the same destination, and a sender of
// junk aimed at it (replies with another identifier, replies with ours but
// a sequence never sent, runts, errors quoting someone else's request,
// types ping does not know). Its statistics must be exactly those of a
// quiet loopback: every request answered once, nothing duplicated,
// corrupted or in error.

// junkKind is one kind of foreign packet: how to build it for a pinger
// with identifier id that pings dst.
type junkKind struct {
	name  string
	build func(b []byte, id uint16, dst netip.Addr, v6 bool) []byte
}

func echoType(v6, reply bool) int {
	switch {
	case v6 && reply:
		return ICMPv6EchoReply
	case v6:
		return ICMPv6Echo
	case reply:
		return ICMPEchoReply
	}
	return ICMPEcho
}

// quotedRequest is the IP header and the first 8 bytes of an echo request
// from us to dst with identifier id and sequence 1: what an ICMP error
// quotes.
func quotedRequest(b []byte, id uint16, dst netip.Addr, v6 bool) []byte {
	if v6 {
		h := make([]byte, 40)
		h[0] = 6 << 4
		binary.BigEndian.PutUint16(h[4:], 8)
		h[6], h[7] = protoICMPv6, 64
		src := netip.IPv6Loopback().As16()
		d := dst.As16()
		copy(h[8:], src[:])
		copy(h[24:], d[:])
		b = append(b, h...)
	} else {
		h := make([]byte, 20)
		h[0] = 4<<4 | 5
		binary.BigEndian.PutUint16(h[2:], 28)
		h[8], h[9] = 64, protoICMP
		src := [4]byte{127, 0, 0, 1}
		d := dst.As4()
		copy(h[12:], src[:])
		copy(h[16:], d[:])
		b = append(b, h...)
	}
	return Echo{V6: v6, Type: echoType(v6, false), ID: id, Seq: 1}.Marshal(b)
}

// icmpError wraps a quoted datagram in an ICMP destination unreachable.
func icmpError(b []byte, v6 bool, quoted []byte) []byte {
	typ := ICMPDestUnreach
	if v6 {
		typ = ICMPv6DestUnreach
	}
	start := len(b)
	b = append(b, byte(typ), 1, 0, 0, 0, 0, 0, 0)
	b = append(b, quoted...)
	if !v6 {
		binary.BigEndian.PutUint16(b[start+2:], Checksum(b[start:]))
	}
	return b
}

// otherDst is another loopback address of dst's family.
func otherDst(dst netip.Addr) netip.Addr {
	if dst.Is4() {
		return netip.MustParseAddr("127.0.0.2")
	}
	return netip.MustParseAddr("::2")
}

var junkKinds = []junkKind{
	{"reply, another identifier", func(b []byte, id uint16, _ netip.Addr, v6 bool) []byte {
		return Echo{V6: v6, Type: echoType(v6, true), ID: id ^ 0x5a5a, Seq: 1, Data: make([]byte, 56)}.Marshal(b)
	}},
	{"reply, our identifier, a sequence never sent", func(b []byte, id uint16, _ netip.Addr, v6 bool) []byte {
		return Echo{V6: v6, Type: echoType(v6, true), ID: id, Seq: 60000, Data: make([]byte, 56)}.Marshal(b)
	}},
	{"reply, our identifier, sequence 0", func(b []byte, id uint16, _ netip.Addr, v6 bool) []byte {
		return Echo{V6: v6, Type: echoType(v6, true), ID: id, Seq: 0, Data: make([]byte, 56)}.Marshal(b)
	}},
	{"request, another identifier (the kernel answers it)", func(b []byte, id uint16, _ netip.Addr, v6 bool) []byte {
		return Echo{V6: v6, Type: echoType(v6, false), ID: id ^ 0xa5a5, Seq: 7, Data: make([]byte, 56)}.Marshal(b)
	}},
	{"runt: a header cut to 4 bytes", func(b []byte, _ uint16, _ netip.Addr, v6 bool) []byte {
		return append(b, byte(echoType(v6, true)), 0, 0xff, 0xff)
	}},
	{"unreachable quoting our request to another host", func(b []byte, id uint16, dst netip.Addr, v6 bool) []byte {
		return icmpError(b, v6, quotedRequest(nil, id, otherDst(dst), v6))
	}},
	{"unreachable quoting another identifier's request", func(b []byte, id uint16, dst netip.Addr, v6 bool) []byte {
		return icmpError(b, v6, quotedRequest(nil, id^0x0ff0, dst, v6))
	}},
	{"unreachable quoting a truncated header", func(b []byte, id uint16, dst netip.Addr, v6 bool) []byte {
		return icmpError(b, v6, quotedRequest(nil, id, dst, v6)[:12])
	}},
	{"unknown type 42 full of noise", func(b []byte, id uint16, _ netip.Addr, v6 bool) []byte {
		start := len(b)
		b = append(b, 42, 0, 0, 0, byte(id>>8), byte(id), 0, 1)
		for i := range 48 {
			b = append(b, byte(i*37))
		}
		if !v6 {
			binary.BigEndian.PutUint16(b[start+2:], Checksum(b[start:]))
		}
		return b
	}},
}

// junkSender sends every kind of junk to dst, round after round, pausing
// between rounds so that the flood stays within what a receive buffer
// drained by a pinger holds; it counts what it sent.
func junkSender(t *testing.T, ctx context.Context, id uint16, dst netip.Addr) (sent *atomic.Int64, wait func()) {
	t.Helper()
	v6 := dst.Is6()
	var fd int
	var err error
	var sa unix.Sockaddr
	if v6 {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	} else {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	}
	if err != nil {
		t.Fatalf("junk sender: %v", err)
	}
	pkts := make([][]byte, len(junkKinds))
	for i, k := range junkKinds {
		pkts[i] = k.build(nil, id, dst, v6)
	}
	sent = &atomic.Int64{}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer unix.Close(fd)
		for ctx.Err() == nil {
			for range 4 {
				for _, p := range pkts {
					if unix.Sendto(fd, p, 0, sa) == nil {
						sent.Add(1)
					}
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	return sent, wg.Wait
}

func TestPingForeignFlood(t *testing.T) {
	needRaw(t)
	const count = 200
	for _, dst := range []string{"127.0.0.1", "::1"} {
		t.Run(dst, func(t *testing.T) {
			addr := netip.MustParseAddr(dst)
			var c collector
			cfg := Config{Dst: addr, Count: count, Interval: 2 * time.Millisecond, Socket: RawSocket}
			c.hook(&cfg)
			p, err := NewPinger(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Another pinger floods the same destination meanwhile.
			other, err := NewPinger(Config{Dst: addr, Flood: true, Socket: RawSocket})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var otherStats Stats
			var otherErr error
			otherDone := make(chan struct{})
			go func() {
				defer close(otherDone)
				otherStats, otherErr = other.Run(ctx)
			}()
			backlogBefore := backlogDrops(t)
			junk, junkWait := junkSender(t, ctx, p.ID(), addr)

			_, err = p.Run(context.Background())
			drops := socketDrops(t, p.fd, addr.Is6()) + backlogDrops(t) - backlogBefore
			cancel()
			junkWait()
			<-otherDone
			if err != nil {
				t.Fatal(err)
			}
			// A reply the floods held back past the pinger's wait is not
			// lost either: count those that turn up.
			st := lateReplies(t, p, func(st Stats) bool { return count-st.Received <= drops })
			if otherErr != nil {
				t.Fatalf("the other pinger: %v", otherErr)
			}
			t.Logf("during %d requests: %d junk packets sent at it, %d requests of a flooding pinger (identifier %#x, ours %#x)",
				count, junk.Load(), otherStats.Transmitted, other.ID(), p.ID())
			if junk.Load() < 10*count || otherStats.Transmitted < count {
				t.Errorf("the flood was too thin to prove anything: %d junk, %d foreign requests", junk.Load(), otherStats.Transmitted)
			}
			// A reply may be lost: the kernel drops what arrives while the
			// socket's receive buffer is full of junk, or while loopback's
			// backlog is (netdev_max_backlog), and counts it. A reply not
			// counted must be one of those, never a miscount.
			lost := count - st.Received
			t.Logf("%d replies lost; the kernel dropped %d packets (the pinger's full receive buffer, loopback's backlog)", lost, drops)
			if lost > drops {
				t.Errorf("%d replies not counted, but the kernel dropped only %d packets on their way", lost, drops)
			}
			if st.Transmitted != count || st.Duplicates != 0 || st.Corrupted != 0 || st.Errors != 0 || lost > count/10 {
				t.Errorf("stats %+v; want exactly %d sent, nothing duplicated, corrupted or in error", st, count)
			}
			seen := map[int]int{}
			for _, r := range c.replies {
				seen[r.Seq]++
				if r.From != addr || r.Dup || r.BadChecksum || r.Truncated || !r.HasRTT || r.RTT < 0 || r.RTT > 5*time.Second {
					t.Errorf("reply %+v", r)
				}
			}
			for seq := 1; seq <= count; seq++ {
				if seen[seq] > 1 || (seen[seq] == 0 && drops == 0) {
					t.Errorf("sequence %d reported %d times, want once", seq, seen[seq])
				}
			}
			if len(c.replies) != st.Received {
				t.Errorf("%d replies reported, %d counted", len(c.replies), st.Received)
			}
			if len(c.errs) != 0 {
				t.Errorf("%d ICMP errors reported, none of them ours: %+v", len(c.errs), c.errs[0])
			}
			if st.Min() > st.Avg() || st.Avg() > st.Max() || st.Max() > 5*time.Second {
				t.Errorf("RTTs min %v avg %v max %v", st.Min(), st.Avg(), st.Max())
			}
		})
	}
}

// socketDrops is the drops column of /proc/net/raw (raw6) for socket fd:
// packets the kernel discarded because its receive buffer was full.
func socketDrops(t *testing.T, fd int, v6 bool) int {
	t.Helper()
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	inode := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
	table := "/proc/net/raw"
	if v6 {
		table = "/proc/net/raw6"
	}
	b, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 12 && f[9] == inode {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	t.Fatalf("socket %s not in %s", inode, table)
	return 0
}

// backlogDrops is the sum over CPUs of the packets dropped because a CPU's
// input backlog was full (/proc/net/softnet_stat, second column): where a
// loopback flood loses packets before any socket sees them.
func backlogDrops(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			n, _ := strconv.ParseInt(f[1], 16, 64)
			total += int(n)
		}
	}
	return total
}
