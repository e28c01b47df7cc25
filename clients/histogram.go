package clients

import (
	"math"
	"math/bits"
	"time"
)

// A latency histogram with fixed buckets, so that recording a request is a
// few instructions and no allocation however long the run (keeping every
// sample to sort it at the end would cost memory in proportion to the run,
// and the garbage collector's time with it).
//
// The buckets are log-linear, as in HdrHistogram: every power of two is cut
// into histSub equal parts, so a bucket is never wider than 1/histSub of the
// values in it. With histSub = 64 a reported quantile is within 1.6% of the
// true one, from nanoseconds up to the largest duration, and the whole table
// is under 32 KiB.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits // sub-buckets per power of two
	// Values below 2*histSub get a bucket each; above, value v with
	// bits.Len64(v) = k lands in bucket (k-histSubBits-1)*histSub + v>>shift.
	histBuckets = (64-histSubBits-1)*histSub + 2*histSub
)

// Histogram counts durations. The zero value is ready to use; it is not safe
// for concurrent use (the generator records from its one thread).
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds; float so a long run cannot overflow it
	min    int64
	max    int64
}

// histIndex is the bucket of a value in nanoseconds.
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return shift*histSub + int(v>>shift)
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	m := uint64(i - shift*histSub) // in [histSub, 2*histSub)
	return (m+1)<<shift - 1
}

// Record counts one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(uint64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count is how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min and Max are exact, not bucketed.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max is the longest duration recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the exact average.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.n)))
}

// Quantile returns the duration at or below which a fraction q of the
// recorded ones lie (q = 0.99 is p99), as the upper edge of the bucket that
// holds it, clamped to the exact minimum and maximum: it overstates the true
// value by at most 1/64 of it. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	// The rank of the wanted value, 1-based: the smallest one with at
	// least q of the values at or below it.
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := int64(histUpper(i))
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }
