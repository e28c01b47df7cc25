package raw

import (
	"strings"
	"testing"
	"time"
)

func statsOf(rtts ...int64) Stats {
	var s Stats
	s.Timing = true
	for _, us := range rtts {
		s.addRTT(us)
		s.Received++
		s.Transmitted++
	}
	return s
}

// The expected numbers are what iputils ping printed for these round trips.
func TestStatsMatchIputils(t *testing.T) {
	for _, tc := range []struct {
		rtts []int64
		line string
	}{
		{[]int64{160, 38, 62}, "rtt min/avg/max/mdev = 0.038/0.086/0.160/0.052 ms"},
		{[]int64{106, 43}, "rtt min/avg/max/mdev = 0.043/0.074/0.106/0.031 ms"},
		{[]int64{708, 50}, "rtt min/avg/max/mdev = 0.050/0.379/0.708/0.329 ms"},
		{[]int64{15}, "rtt min/avg/max/mdev = 0.015/0.015/0.015/0.000 ms"},
		{[]int64{13, 48, 37, 38, 32}, "rtt min/avg/max/mdev = 0.013/0.033/0.048/0.011 ms"},
	} {
		var b strings.Builder
		statsOf(tc.rtts...).WriteSummary(&b, "h")
		if !strings.Contains(b.String(), tc.line+"\n") {
			t.Errorf("rtts %v:\n%s\nwant the line %q", tc.rtts, b.String(), tc.line)
		}
	}
}

func TestWriteSummary(t *testing.T) {
	s := statsOf(1000, 3000)
	s.Transmitted, s.Duplicates, s.Corrupted, s.Errors = 3, 1, 1, 2
	s.Elapsed = 2003*time.Millisecond + 600*time.Microsecond
	var b strings.Builder
	s.WriteSummary(&b, "198.18.2.2")
	want := "\n--- 198.18.2.2 ping statistics ---\n" +
		"3 packets transmitted, 2 received, +1 duplicates, +1 corrupted, +2 errors, 33.3333% packet loss, time 2004ms\n" +
		"rtt min/avg/max/mdev = 1.000/1.333/3.000/1.247 ms\n"
	// avg and mdev count the duplicate's RTT in the total, as iputils does.
	if b.String() != want {
		t.Errorf("summary:\n%q\nwant\n%q", b.String(), want)
	}
	var none Stats
	none.Transmitted = 4
	b.Reset()
	none.WriteSummary(&b, "x")
	if want := "\n--- x ping statistics ---\n4 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n"; b.String() != want {
		t.Errorf("no replies:\n%q\nwant\n%q", b.String(), want)
	}
	f := statsOf(10, 20)
	f.Flood, f.Pipe, f.Elapsed = true, 2, 30*time.Microsecond
	b.Reset()
	f.WriteSummary(&b, "x")
	if !strings.Contains(b.String(), "ms, pipe 2, ipg/ewma 0.030/0.011 ms\n") {
		t.Errorf("flood summary lacks pipe and ipg/ewma:\n%s", b.String())
	}
}

func TestFormatRTT(t *testing.T) {
	for _, tc := range []struct {
		us   int64
		want string
	}{
		{0, "0.000"}, {45, "0.045"}, {999, "0.999"}, {1000, "1.00"}, {1234, "1.23"},
		{1235, "1.24"}, {9994, "9.99"}, {9995, "10.0"}, {12345, "12.3"}, {99949, "99.9"},
		{99950, "100"}, {123456, "123"}, {2500000, "2500"},
	} {
		if got := FormatRTT(time.Duration(tc.us) * time.Microsecond); got != tc.want {
			t.Errorf("FormatRTT(%dµs) = %q, want %q", tc.us, got, tc.want)
		}
	}
}

func TestStatusLine(t *testing.T) {
	s := statsOf(100, 300)
	s.Transmitted = 3
	want := "\r2/3 packets, 33% loss, min/avg/ewma/max = 0.100/0.200/0.125/0.300 ms\n"
	if got := s.StatusLine(); got != want {
		t.Errorf("StatusLine = %q, want %q", got, want)
	}
}

func TestSeqTable(t *testing.T) {
	var st seqTable
	for seq := 1; seq <= 5; seq++ {
		st.clear(uint16(seq))
		st.sent(seq)
	}
	if n := st.inFlight(5, 0); n != 5 {
		t.Errorf("in flight with nothing acknowledged = %d, want 5", n)
	}
	st.acknowledge(2, 5)
	st.set(2)
	if !st.test(2) || st.test(3) {
		t.Error("bitmap does not remember exactly seq 2")
	}
	if n := st.inFlight(5, 1); n != 3 {
		t.Errorf("in flight after seq 2 = %d, want 3", n)
	}
	if st.pipe != 4 {
		t.Errorf("pipe = %d, want 4 (seq 2 answered with 5 sent)", st.pipe)
	}
	for _, tc := range []struct {
		seq  uint16
		sent int
		want bool
	}{{0, 5, false}, {1, 5, true}, {5, 5, true}, {6, 5, false}, {0, 70000, true}, {65535, 65535, true}} {
		if got := wasSent(tc.seq, tc.sent); got != tc.want {
			t.Errorf("wasSent(%d, %d) = %v, want %v", tc.seq, tc.sent, got, tc.want)
		}
	}
}
