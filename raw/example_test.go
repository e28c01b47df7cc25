package raw_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"netprog/raw"
)

// Ping 127.0.0.1 three times and print each reply as it comes, then the
// statistics iputils prints at the end (round trips vary, so this example
// prints only what does not).
func ExamplePing() {
	cfg := raw.Config{
		Dst:      netip.MustParseAddr("127.0.0.1"),
		Count:    3,
		Interval: 10 * time.Millisecond,
		OnReply: func(r *raw.Reply) {
			fmt.Printf("%d bytes from %v: icmp_seq=%d ttl=%d dup=%v\n", r.Bytes, r.From, r.Seq, r.TTL, r.Dup)
		},
	}
	st, err := raw.Ping(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // not root and no ping_group_range: see PermissionError
		return
	}
	fmt.Printf("%d packets transmitted, %d received, %g%% packet loss\n", st.Transmitted, st.Received, st.Loss())
	// Output:
	// 64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 dup=false
	// 64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 dup=false
	// 64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 dup=false
	// 3 packets transmitted, 3 received, 0% packet loss
}

func ExampleStats_WriteSummary() {
	st := raw.Stats{Transmitted: 4, Received: 3, Timing: true, MinUS: 38, MaxUS: 160,
		SumUS: 260, Sum2US: 160*160 + 38*38 + 62*62, Elapsed: 3004 * time.Millisecond}
	st.WriteSummary(os.Stdout, "127.0.0.1")
	// Output:
	//
	// --- 127.0.0.1 ping statistics ---
	// 4 packets transmitted, 3 received, 25% packet loss, time 3004ms
	// rtt min/avg/max/mdev = 0.038/0.086/0.160/0.052 ms
}

func ExampleFormatRTT() {
	for _, us := range []time.Duration{45, 1234, 12345, 123456} {
		fmt.Println(raw.FormatRTT(us * time.Microsecond))
	}
	// Output:
	// 0.045
	// 1.23
	// 12.3
	// 123
}

func ExampleEcho_Marshal() {
	b := raw.Echo{Type: raw.ICMPEcho, ID: 0x1234, Seq: 1, Data: []byte("hi")}.Marshal(nil)
	fmt.Printf("% x\nverifies: %v\n", b, raw.Checksum(b) == 0)
	// Output:
	// 08 00 7d 61 12 34 00 01 68 69
	// verifies: true
}
