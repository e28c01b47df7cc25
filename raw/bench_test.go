package raw

import (
	"context"
	"net/netip"
	"os"
	"testing"
)

// BenchmarkFloodLoopback is ping -f on 127.0.0.1 through the API, b.N
// requests: packets per second and the average round trip. bench/ping.sh
// runs the command beside iputils ping for the comparison.
func BenchmarkFloodLoopback(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("flood ping needs root")
	}
	p, err := NewPinger(Config{Dst: netip.MustParseAddr("127.0.0.1"), Count: b.N, Flood: true, Socket: RawSocket})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ResetTimer()
	st, err := p.Run(context.Background())
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if st.Received != b.N {
		b.Fatalf("%d of %d replies", st.Received, b.N)
	}
	b.ReportMetric(float64(st.Transmitted)/b.Elapsed().Seconds(), "pps")
	b.ReportMetric(float64(st.Avg().Nanoseconds())/1000, "avg-rtt-µs")
}
