package clients

import (
	"fmt"
	"io"
	"sort"
)

// WriteText prints the report for a person:
//
//	echo: 100 connections x 64 B to 127.0.0.1:5090, 2.00s measured
//	requests   84120 (42060/s), 5383680 bytes echoed and verified
//	latency    p50 2.31ms  p90 2.60ms  p99 3.10ms  p99.9 4.02ms  max 5.5ms
//	errors     none
//	generator  97% of a core, 2.02 syscalls/request (client-bound)
func (r *BenchReport) WriteText(w io.Writer) {
	what := "connections"
	if r.Workload == WorkloadConnect {
		what = "workers"
	}
	fmt.Fprintf(w, "%s: %d %s x %d B to %s, %.2fs measured", r.Workload, r.Conns, what, r.Size, r.Target, r.Seconds)
	if r.WarmupSeconds >= 0.01 {
		fmt.Fprintf(w, " after %.2fs of warm-up", r.WarmupSeconds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "requests   %d (%.0f/s), %d bytes echoed and verified\n", r.Requests, r.RequestsPerSec, r.BytesVerified)
	if r.Requests > 0 {
		l := r.Latency
		fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			FormatLatency(l.P50), FormatLatency(l.P90), FormatLatency(l.P99), FormatLatency(l.P999), FormatLatency(l.Max))
	}
	if r.Starved > 0 {
		fmt.Fprintf(w, "starved    %d of %d %s finished no request (the server left them waiting)\n", r.Starved, r.Conns, what)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors     none")
	} else {
		kinds := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for i, k := range kinds {
			label := "errors    "
			if i > 0 {
				label = "          "
			}
			fmt.Fprintf(w, "%s %d  %s\n", label, r.Errors[k], k)
		}
	}
	fmt.Fprintf(w, "generator  %.0f%% of a core, %.2f syscalls/request", 100*r.ClientCPUShare, r.ClientSyscallsPerRequest)
	if r.ClientBound() {
		fmt.Fprint(w, " (client-bound: the generator, not the server, may be the limit)")
	}
	fmt.Fprintln(w)
}
