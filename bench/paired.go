package main

import "slices"

// Paired repeats. A Go model and its C references take their turns at a
// load back to back, and which goes first alternates from one repeat to the
// next (runOrder), so that whatever slows the machine at that moment (the
// host's other guests, a busy spell of its own) hits both alike. Their ratio is then read repeat by repeat and
// the median of those ratios taken (pairedRatio), rather than the ratio of
// two medians, which can each come from a different spell: on this 2-core
// machine the client-bound cells' repeats fall into two groups about a
// fifth apart, and a median of five picks one group or the other.

// crefsOf are the C references that run beside a Go model.
var crefsOf = map[string][]string{
	"epoll": {crefEpoll},
	"fork":  {crefFork, crefForkBig},
}

// runOrder is the order in which models take their turns at a load in
// repeat rep: each Go model beside the C references of it that are in the
// run, its first reference right after it (before it in odd repeats) and a
// second one right before it (after it in odd repeats), so that the model
// is next to each; and these groups rotated by one from a repeat to the
// next, as the models were before, so that no model always follows the same
// one. A model named twice runs once.
func runOrder(models []string, rep int) []string {
	inRun := func(m string) bool { return slices.Contains(models, m) }
	var groups [][]string
	seen := map[string]bool{}
	for _, m := range models {
		if seen[m] || isCRef(m) && inRun(goModelOf(m)) {
			continue // named before, or runs in its Go model's group
		}
		seen[m] = true
		g := []string{m}
		for i, c := range crefsOf[m] {
			switch {
			case !inRun(c):
			case i == 0:
				g = append(g, c) // after the model
			default:
				g = append([]string{c}, g...) // before it
			}
		}
		if rep%2 == 1 {
			slices.Reverse(g)
		}
		groups = append(groups, g)
	}
	var order []string
	for i := range groups {
		order = append(order, groups[(i+rep)%len(groups)]...)
	}
	return order
}

// goModelOf is the Go model a C reference runs beside ("" if none).
func goModelOf(cref string) string {
	for m, cs := range crefsOf {
		if slices.Contains(cs, cref) {
			return m
		}
	}
	return ""
}

// pairedRatio is the median, over the repeats both cells measured, of a's
// requests per second divided by b's in the same repeat, and how many
// repeats that is (0: none to compare).
func pairedRatio(a, b *cell) (ratio float64, n int) {
	var rs []float64
	for _, s := range a.Samples {
		for _, t := range b.Samples {
			if s.Repeat == t.Repeat && t.RequestsPerSec > 0 {
				rs = append(rs, s.RequestsPerSec/t.RequestsPerSec)
			}
		}
	}
	if len(rs) == 0 {
		return 0, 0
	}
	return median(rs), len(rs)
}

// againstCRatio is a's requests per second against its C reference b's as
// the Against C table and the targets give it: paired repeat by repeat in a
// run that paired them (r.Paired), the ratio of the medians in one written
// before. n is how many repeats it rests on (0: nothing to compare).
func againstCRatio(r *results, a, b *cell) (ratio float64, n int) {
	if a == nil || b == nil {
		return 0, 0
	}
	if r.Paired {
		return pairedRatio(a, b)
	}
	if a.Median == nil || b.Median == nil || b.Median.RequestsPerSec == 0 {
		return 0, 0
	}
	return a.Median.RequestsPerSec / b.Median.RequestsPerSec, min(len(a.Samples), len(b.Samples))
}
