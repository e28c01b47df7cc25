package main

import (
	"fmt"

	"netprog/clients"
)

// target is one of the claims, checked side by side in one run.
type target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	// Met is nil when the claim is a figure to report rather than a bound,
	// or when a cell it needs was not measured.
	Met *bool `json:"met,omitempty"`
}

func evaluateTargets(r *results) []target {
	echo100 := load{clients.WorkloadEcho, 100, 64}
	var connect load
	for _, l := range r.Loads {
		if l.Workload == clients.WorkloadConnect {
			connect = l
		}
	}
	get := func(model string, l load) *sample {
		if c := r.cell(model, l); c != nil && c.Median != nil {
			return c.Median
		}
		return nil
	}
	bound := func(model string, l load) string {
		if c := r.cell(model, l); c != nil && c.ClientBound {
			return " (" + model + ": client-bound)" // say which side: both may be
		}
		return ""
	}
	var ts []target
	missing := func(name, want string) {
		ts = append(ts, target{Name: name, Want: want, Got: "not measured"})
	}
	// pairedTarget checks a model against its C reference by the median
	// of their ratios repeat by repeat (paired.go); it reports whether
	// both were measured.
	pairedTarget := func(name, want string, atLeast float64, model, cref string, l load) bool {
		a, b := r.cell(model, l), r.cell(cref, l)
		if a == nil || b == nil || a.Median == nil || b.Median == nil {
			return false
		}
		v, n := againstCRatio(r, a, b)
		if n == 0 {
			return false
		}
		ok := v >= atLeast
		medians := fmtNum(a.Median.RequestsPerSec, "/s") + " vs " + fmtNum(b.Median.RequestsPerSec, "/s")
		got := fmt.Sprintf("%.2f (%s)", v, medians)
		if r.Paired {
			got = fmt.Sprintf("%.2f (median of %d paired repeats; medians %s)", v, n, medians)
		}
		ts = append(ts, target{Name: name, Want: want, Met: &ok, Got: got})
		return true
	}
	ratio := func(name, want string, met func(float64) bool, a, b float64, unit string) {
		v := a / b
		ok := met(v)
		ts = append(ts, target{Name: name, Want: want, Got: fmt.Sprintf("%.2f (%s vs %s)", v, fmtNum(a, unit), fmtNum(b, unit)), Met: &ok})
	}

	ep, gn := get("epoll", echo100), get(baselineName, echo100)
	const n1, w1 = "epoll requests/s vs the Go net baseline, echo 100 conns x 64 B", ">= 1.00"
	const n2, w2 = "epoll p99 vs the Go net baseline, echo 100 conns x 64 B", "<= 1.10"
	if ep != nil && gn != nil {
		ratio(n1, w1, func(v float64) bool { return v >= 1 }, ep.RequestsPerSec, gn.RequestsPerSec, "/s")
		ts[len(ts)-1].Got += bound("epoll", echo100) + bound(baselineName, echo100)
		ratio(n2, w2, func(v float64) bool { return v <= 1.10 }, ep.P99us, gn.P99us, "µs")
	} else {
		missing(n1, w1)
		missing(n2, w2)
	}

	const n3, w3 = "epoll server syscalls per request, echo 100 conns x 64 B", "<= 3"
	if c := r.cell("epoll", echo100); c != nil && c.Syscalls != nil {
		ok := c.Syscalls.PerRequest <= 3
		ts = append(ts, target{Name: n3, Want: w3, Got: fmt.Sprintf("%.2f (%s)", c.Syscalls.PerRequest, c.Syscalls.Method), Met: &ok})
	} else {
		missing(n3, w3)
	}

	fk, pf := get("fork", connect), get("prefork", connect)
	const n4, w4 = "prefork vs fork requests/s under connect", ">= 3.00"
	if fk != nil && pf != nil {
		ratio(n4, w4, func(v float64) bool { return v >= 3 }, pf.RequestsPerSec, fk.RequestsPerSec, "/s")
	} else {
		missing(n4, w4)
	}
	const n5, w5 = "fork server CPU per connection under connect (user+sys, children included)", "report"
	if fk != nil {
		got := fmt.Sprintf("%.3f ms", fk.ServerCPUmsPer1k/1e3)
		if pf != nil {
			got += fmt.Sprintf(" (prefork %.3f ms)", pf.ServerCPUmsPer1k/1e3)
		}
		if it := get("iterative", connect); it != nil {
			got += fmt.Sprintf(" (iterative %.3f ms)", it.ServerCPUmsPer1k/1e3)
		}
		ts = append(ts, target{Name: n5, Want: w5, Got: got})
	} else {
		missing(n5, w5)
	}

	const n6, w6 = "generator syscalls per request vs the epoll server's, echo 100 conns x 64 B", "generator <= server"
	if c := r.cell("epoll", echo100); c != nil && c.Median != nil && c.Syscalls != nil {
		ok := c.Median.ClientSyscalls <= c.Syscalls.PerRequest+0.05
		ts = append(ts, target{Name: n6, Want: w6, Got: fmt.Sprintf("%.2f vs %.2f", c.Median.ClientSyscalls, c.Syscalls.PerRequest), Met: &ok})
	} else {
		missing(n6, w6)
	}
	// Issue 7: io_uring at least as fast as epoll where many connections
	// share one thread, both measured in this run.
	for _, conns := range []int{100, 1000} {
		for _, size := range []int{64, 4096} {
			l := load{clients.WorkloadEcho, conns, size}
			name := fmt.Sprintf("uring requests/s vs epoll, echo %d conns x %s", conns, sizeName(size))
			const want = ">= 1.00"
			ur, ep := get("uring", l), get("epoll", l)
			if ur == nil || ep == nil {
				missing(name, want)
				continue
			}
			ratio(name, want, func(v float64) bool { return v >= 1 }, ur.RequestsPerSec, ep.RequestsPerSec, "/s")
			ts[len(ts)-1].Got += bound("uring", l) + bound("epoll", l)
		}
	}
	// Issue 15: the Go models against the same designs in C.
	for _, conns := range []int{50, 100} {
		l := load{clients.WorkloadEcho, conns, 64}
		name := fmt.Sprintf("epoll requests/s vs C epoll (%s), echo %d conns x 64 B", crefEpoll, conns)
		const want = ">= 0.95"
		if !pairedTarget(name, want, 0.95, "epoll", crefEpoll, l) {
			missing(name, want)
			continue
		}
		ts[len(ts)-1].Got += bound("epoll", l) + bound(crefEpoll, l)
	}
	cf := get(crefFork, connect)
	const n7, w7 = "fork requests/s vs C fork (" + crefFork + ") under connect", ">= 0.67"
	if !pairedTarget(n7, w7, 0.67, "fork", crefFork, connect) {
		missing(n7, w7)
	}
	const n8, w8 = "C fork grown to the Go fork server's size (" + crefForkBig + ") vs C fork under connect: what the footprint costs", "report"
	big := get(crefForkBig, connect)
	if v, n := againstCRatio(r, r.cell(crefForkBig, connect), r.cell(crefFork, connect)); big != nil && cf != nil && n > 0 {
		got := fmt.Sprintf("%.2f (medians %s vs %s)", v, fmtNum(big.RequestsPerSec, "/s"), fmtNum(cf.RequestsPerSec, "/s"))
		if v, n := againstCRatio(r, r.cell("fork", connect), r.cell(crefForkBig, connect)); fk != nil && n > 0 {
			got += fmt.Sprintf("; fork vs it: %.2f", v)
		}
		ts = append(ts, target{Name: n8, Want: w8, Got: got})
	} else {
		missing(n8, w8)
	}
	fc, cc := r.cell("fork", connect), r.cell(crefFork, connect)
	const n9, w9 = "fork server system calls per connection vs C fork's, connect", "<= C + 5"
	const n10, w10 = "fork server page faults per connection vs C fork's, connect", "<= 1.5 x C"
	if fc != nil && cc != nil && fc.Syscalls != nil && cc.Syscalls != nil {
		a, b := fc.Syscalls.PerRequest, cc.Syscalls.PerRequest
		ok := a <= b+5
		ts = append(ts, target{Name: n9, Want: w9, Got: fmt.Sprintf("%.1f vs %.1f (%+.1f)", a, b, a-b), Met: &ok})
		if fa, fb := fc.Syscalls.PageFaultsPerRequest, cc.Syscalls.PageFaultsPerRequest; fc.Syscalls.PageFaults > 0 && cc.Syscalls.PageFaults > 0 {
			ok := fa <= 1.5*fb
			got := fmt.Sprintf("%.2f (%.1f vs %.1f)", fa/fb, fa, fb)
			if bc := r.cell(crefForkBig, connect); bc != nil && bc.Syscalls != nil && bc.Syscalls.PageFaults > 0 {
				got += fmt.Sprintf("; %s %.1f", crefForkBig, bc.Syscalls.PageFaultsPerRequest)
			}
			ts = append(ts, target{Name: n10, Want: w10, Got: got, Met: &ok})
		} else {
			missing(n10, w10)
		}
	} else {
		missing(n9, w9)
		missing(n10, w10)
	}
	return ts
}

func fmtNum(v float64, unit string) string {
	if unit == "µs" {
		return clients.FormatLatency(v)
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}
