package raw

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// Stats is what a ping run counted. Round-trip times are kept in whole
// microseconds, as iputils keeps them, so min/avg/max/mdev come out digit for
// digit the same.
type Stats struct {
	Transmitted int // requests sent (or attempted: a failed send counts, as in iputils)
	Received    int // distinct good replies
	Duplicates  int // replies to a sequence already answered
	Corrupted   int // replies with a bad ICMP checksum
	Errors      int // ICMP errors (unreachable, time exceeded) for our requests
	// BadTimes counts replies whose timestamp is impossible: sent before
	// the run began or after the reply came. A forged duplicate stamped
	// 1970 would otherwise make max, avg and mdev meaningless for the whole
	// run; such replies still count as received, but not in rtt.
	BadTimes int

	Timing bool  // the data was large enough (16 bytes) to carry a timestamp
	MinUS  int64 // shortest round trip, µs
	MaxUS  int64 // longest round trip, µs
	SumUS  float64
	Sum2US float64 // sum of squares, for mdev
	EWMA8  int64   // exponentially weighted moving average of the RTT, µs × 8

	Pipe    int           // most requests outstanding at once
	Elapsed time.Duration // from the start to the last request sent
	Flood   bool          // flood or zero interval: the summary shows ipg/ewma

	timed int64 // round trips added
}

// Min, Avg, Max and Mdev are the round-trip statistics; Avg and Mdev count
// duplicates too, as iputils does.
func (s Stats) Min() time.Duration { return time.Duration(s.MinUS) * time.Microsecond }
func (s Stats) Max() time.Duration { return time.Duration(s.MaxUS) * time.Microsecond }
func (s Stats) Avg() time.Duration { return time.Duration(s.avgUS()) * time.Microsecond }

// Mdev is the standard deviation of the round trips (iputils calls it mean
// deviation): sqrt(E[t²] − E[t]²), in integer microseconds, computed in the
// order iputils computes it so small times do not lose to rounding.
func (s Stats) Mdev() time.Duration { return time.Duration(s.mdevUS()) * time.Microsecond }

// total is how many round trips the averages divide by: iputils' nreceived
// + nrepeats, less the replies whose times were impossible.
func (s Stats) total() int64 { return int64(s.Received + s.Duplicates - s.BadTimes) }

func (s Stats) avgUS() int64 {
	if s.total() == 0 {
		return 0
	}
	return int64(s.SumUS / float64(s.total()))
}

func (s Stats) mdevUS() int64 {
	n := s.total()
	if n == 0 {
		return 0
	}
	var variance int64
	if s.SumUS < 1<<31-1 {
		variance = int64((s.Sum2US - (s.SumUS*s.SumUS)/float64(n)) / float64(n))
	} else {
		avg := s.avgUS()
		variance = int64(s.Sum2US/float64(n)) - avg*avg
	}
	return isqrt(variance)
}

// isqrt is Newton's integer square root (iputils' llsqrt).
func isqrt(a int64) int64 {
	if a <= 0 {
		return 0
	}
	x, prev := a, int64(1<<63-1)
	for x < prev {
		prev = x
		x = (x + a/x) / 2
	}
	return x
}

// Loss is the packet loss in percent.
func (s Stats) Loss() float64 {
	if s.Transmitted == 0 {
		return 0
	}
	return float64(s.Transmitted-s.Received) * 100 / float64(s.Transmitted)
}

// addRTT counts one round trip of us microseconds.
func (s *Stats) addRTT(us int64) {
	s.SumUS += float64(us)
	s.Sum2US += float64(us) * float64(us)
	if s.timed == 0 || us < s.MinUS {
		s.MinUS = us
	}
	s.timed++
	if us > s.MaxUS {
		s.MaxUS = us
	}
	if s.EWMA8 == 0 {
		s.EWMA8 = us * 8
	} else {
		s.EWMA8 += us - s.EWMA8/8
	}
}

// FormatRTT prints a round trip with iputils' precision: three decimals
// under 1 ms, two under 10, one under 100, none above (rounded the way
// iputils rounds, so 9.996 ms shows as 10.0).
func FormatRTT(d time.Duration) string {
	us := d.Microseconds()
	switch {
	case us >= 100000-50:
		return strconv.FormatInt((us+500)/1000, 10)
	case us >= 10000-5:
		return fmt.Sprintf("%d.%01d", (us+50)/1000, ((us+50)%1000)/100)
	case us >= 1000:
		return fmt.Sprintf("%d.%02d", (us+5)/1000, ((us+5)%1000)/10)
	}
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// ms3 prints microseconds as milliseconds with three decimals, truncated
// (the %ld.%03ld of iputils' summary).
func ms3(us int64) string {
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// WriteSummary writes iputils' closing block for host:
//
//	--- 127.0.0.1 ping statistics ---
//	3 packets transmitted, 3 received, 0% packet loss, time 2003ms
//	rtt min/avg/max/mdev = 0.038/0.086/0.160/0.052 ms
//
// It starts with the empty line iputils prints (in flood mode it ends the
// row of dots).
func (s Stats) WriteSummary(w io.Writer, host string) {
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", host)
	fmt.Fprintf(w, "%d packets transmitted, %d received", s.Transmitted, s.Received)
	if s.Duplicates > 0 {
		fmt.Fprintf(w, ", +%d duplicates", s.Duplicates)
	}
	if s.Corrupted > 0 {
		fmt.Fprintf(w, ", +%d corrupted", s.Corrupted)
	}
	if s.Errors > 0 {
		fmt.Fprintf(w, ", +%d errors", s.Errors)
	}
	if s.Transmitted > 0 {
		// iputils: printf("%g%%", (float)loss): six significant digits.
		loss := strconv.FormatFloat(float64(float32(s.Loss())), 'g', 6, 64)
		ms := (s.Elapsed + 500*time.Microsecond) / time.Millisecond
		fmt.Fprintf(w, ", %s%% packet loss, time %dms", loss, ms)
	}
	fmt.Fprintln(w)
	comma := ""
	if s.Received > 0 && s.Timing && s.total() > 0 {
		fmt.Fprintf(w, "rtt min/avg/max/mdev = %s/%s/%s/%s ms", ms3(s.MinUS), ms3(s.avgUS()), ms3(s.MaxUS), ms3(s.mdevUS()))
		comma = ", "
	}
	if s.Pipe > 1 {
		fmt.Fprintf(w, "%spipe %d", comma, s.Pipe)
		comma = ", "
	}
	if s.Received > 0 && s.Flood && s.Transmitted > 1 {
		ipg := s.Elapsed.Microseconds() / int64(s.Transmitted-1)
		fmt.Fprintf(w, "%sipg/ewma %s/%s ms", comma, ms3(ipg), ms3(s.EWMA8/8))
	}
	fmt.Fprintln(w)
	if s.BadTimes > 0 { // not iputils': it has no such check
		fmt.Fprintf(w, "%d %s an impossible timestamp (forged, or the clock stepped): not in rtt\n",
			s.BadTimes, map[bool]string{true: "reply carried", false: "replies carried"}[s.BadTimes == 1])
	}
}

// StatusLine is the one line iputils prints on stderr for SIGQUIT, without
// stopping: "\r2/2 packets, 0% loss, min/avg/ewma/max = ... ms".
func (s Stats) StatusLine() string {
	loss := 0
	if s.Transmitted > 0 {
		loss = (s.Transmitted - s.Received) * 100 / s.Transmitted
	}
	line := fmt.Sprintf("\r%d/%d packets, %d%% loss", s.Received, s.Transmitted, loss)
	if s.Received > 0 && s.Timing {
		line += fmt.Sprintf(", min/avg/ewma/max = %s/%s/%s/%s ms", ms3(s.MinUS), ms3(s.avgUS()), ms3(s.EWMA8/8), ms3(s.MaxUS))
	}
	return line + "\n"
}
