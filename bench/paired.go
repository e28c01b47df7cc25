package main

import "slices"

// Paired repeats. A Go model and its C references take their turns at a
// load back to back, and which goes first alternates from one repeat to the
// next (runOrder), so that whatever the machine does at that moment (a
// spell when the generator and the server share a core, the host's other
// guests) hits both alike. Their ratio is then read repeat by repeat and
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
// repeat rep: each Go model with the C references of it that are in the
// run right after it (before it in odd repeats), and these groups rotated
// by one from a repeat to the next, as the models were before, so that no
// model always follows the same one.
func runOrder(models []string, rep int) []string {
	inRun := func(m string) bool { return slices.Contains(models, m) }
	var groups [][]string
	for _, m := range models {
		if isCRef(m) && inRun(goModelOf(m)) {
			continue // runs in its Go model's group
		}
		g := []string{m}
		for _, c := range crefsOf[m] {
			if inRun(c) {
				g = append(g, c)
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
	for i, s := range a.Samples {
		for j, t := range b.Samples {
			if a.repeatOf(i) == b.repeatOf(j) && t.RequestsPerSec > 0 {
				rs = append(rs, s.RequestsPerSec/t.RequestsPerSec)
			}
		}
	}
	if len(rs) == 0 {
		return 0, 0
	}
	return median(rs), len(rs)
}

// repeatOf is the repeat sample i was measured in. Results written before
// samples said so (every Repeat 0) are taken in order.
func (c *cell) repeatOf(i int) int {
	for _, s := range c.Samples {
		if s.Repeat != 0 {
			return c.Samples[i].Repeat
		}
	}
	return i
}
