package clients

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBucketsTile(t *testing.T) {
	// Every bucket starts where the previous one ends, and a bucket's
	// width never exceeds 1/histSub of the values in it.
	for i := 0; i < histBuckets-1; i++ {
		up := histUpper(i)
		if got := histIndex(up); got != i {
			t.Fatalf("histIndex(histUpper(%d) = %d) = %d", i, up, got)
		}
		if got := histIndex(up + 1); got != i+1 {
			t.Fatalf("histIndex(%d) = %d, want %d", up+1, got, i+1)
		}
		if i >= 2*histSub {
			lo := histUpper(i-1) + 1
			if width := up - lo + 1; width*histSub > lo {
				t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, up, histSub)
			}
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() time.Duration
	}{
		{"constant", func() time.Duration { return 42 * time.Microsecond }},
		{"small exact", func() time.Duration { return time.Duration(rng.IntN(100)) }},
		{"uniform", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential", func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(50*time.Microsecond)) }},
		{"long tail", func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(rng.Int64N(int64(2 * time.Second)))
			}
			return time.Duration(rng.Int64N(int64(100 * time.Microsecond)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			var all []time.Duration
			for range 20000 {
				d := tt.gen()
				h.Record(d)
				all = append(all, d)
			}
			slices.Sort(all)
			if h.Count() != uint64(len(all)) || h.Min() != all[0] || h.Max() != all[len(all)-1] {
				t.Fatalf("count/min/max = %d/%v/%v, want %d/%v/%v", h.Count(), h.Min(), h.Max(), len(all), all[0], all[len(all)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				want := all[int(q*float64(len(all))+0.999999)-1]
				got := h.Quantile(q)
				// The histogram may overstate by one bucket width: at
				// most 1/histSub of the value; never understate.
				if got < want || float64(got-want) > float64(want)/histSub+1 {
					t.Errorf("q%.3f = %v, exact %v", q, got, want)
				}
			}
		})
	}
}

func TestHistogramEmptyMergeReset(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.99) != 0 || a.Mean() != 0 || a.Count() != 0 {
		t.Fatal("an empty histogram should report zeros")
	}
	for i := 1; i <= 100; i++ {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i) * time.Millisecond)
	}
	a.Merge(&b)
	if a.Count() != 200 || a.Min() != time.Microsecond || a.Max() != 100*time.Millisecond {
		t.Fatalf("merged count/min/max = %d/%v/%v", a.Count(), a.Min(), a.Max())
	}
	if p := a.Quantile(0.25); p < 50*time.Microsecond || p > 51*time.Microsecond {
		t.Errorf("merged p25 = %v, want about 50µs", p)
	}
	if p := a.Quantile(0.75); p < 50*time.Millisecond || p > 51*time.Millisecond {
		t.Errorf("merged p75 = %v, want about 50ms", p)
	}
	a.Record(-5) // counts as zero
	if a.Min() != 0 {
		t.Errorf("negative duration recorded as %v, want 0", a.Min())
	}
	a.Reset()
	if a.Count() != 0 || a.Max() != 0 {
		t.Fatal("Reset left counts")
	}
}

func TestHistogramRecordAllocatesNothing(t *testing.T) {
	h := new(Histogram)
	d := time.Duration(0)
	if n := testing.AllocsPerRun(1000, func() { d += 997; h.Record(d) }); n != 0 {
		t.Fatalf("Record allocates %v times per call", n)
	}
}

func ExampleHistogram() {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	fmt.Println(h.Count(), h.Quantile(0.5), h.Quantile(0.99), h.Max())
	// Output: 1000 503.807µs 991.231µs 1ms
}
