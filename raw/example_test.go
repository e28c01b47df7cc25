package raw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"testing"
	"time"

	"netprog/raw"
)

// Ping 127.0.0.1 three times and print each reply as it comes, then the
// statistics iputils prints at the end (round trips vary, so this example
// prints only what does not):
//
//	64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 dup=false
//	64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 dup=false
//	64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 dup=false
//	3 packets transmitted, 3 received, 0% packet loss
//
// It needs an ICMP socket (root, CAP_NET_RAW or ping_group_range), and an
// example cannot skip where there is none; so it has no "Output:" comment
// for go test to run it against, and TestExamplePing checks that output
// instead, or says why it skipped.
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
}

// TestExamplePing runs ExamplePing where an ICMP socket can be opened (raw,
// or the datagram socket Ping falls back to) and holds it to the output its
// comment shows.
func TestExamplePing(t *testing.T) {
	p, err := raw.NewPinger(raw.Config{Dst: netip.MustParseAddr("127.0.0.1")})
	var perm *raw.PermissionError
	if errors.As(err, &perm) {
		t.Skipf("no ICMP socket to ping with: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	stdout, stderr := captureOutput(t, ExamplePing)
	want := "" +
		"64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 dup=false\n" +
		"64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 dup=false\n" +
		"64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 dup=false\n" +
		"3 packets transmitted, 3 received, 0% packet loss\n"
	if stdout != want || stderr != "" {
		t.Errorf("ExamplePing printed:\n%s(stderr %q)\nwant:\n%s", stdout, stderr, want)
	}
}

// captureOutput runs fn with os.Stdout and os.Stderr on pipes, as go test
// does for an example, and returns what it wrote to each.
func captureOutput(t *testing.T, fn func()) (stdout, stderr string) {
	t.Helper()
	read := func(f **os.File) (restore func() string) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := *f
		*f = w
		got := make(chan string)
		go func() {
			b, _ := io.ReadAll(r)
			r.Close()
			got <- string(b)
		}()
		return func() string {
			*f = old
			w.Close()
			return <-got
		}
	}
	restoreOut, restoreErr := read(&os.Stdout), read(&os.Stderr)
	defer func() {
		stderr, stdout = restoreErr(), restoreOut()
	}()
	fn()
	return
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
