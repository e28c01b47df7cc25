package main

import (
	"slices"
	"strings"
	"testing"
)

// TestRunOrder: a Go model and each of its C references run back to back,
// first one way and then the other, and every model runs once per repeat.
func TestRunOrder(t *testing.T) {
	all := []string{"epoll", "fork", "poll", "go-net", crefEpoll, crefFork, crefForkBig}
	for _, tc := range []struct {
		models []string
		rep    int
		want   string
	}{
		{all, 0, "epoll c-epoll | c-fork-big fork c-fork | poll | go-net"},
		{all, 1, "c-fork fork c-fork-big | poll | go-net | c-epoll epoll"},
		{all, 2, "poll | go-net | epoll c-epoll | c-fork-big fork c-fork"},
		{[]string{"epoll", crefEpoll, "epoll"}, 0, "epoll c-epoll"}, // named twice: once
		{[]string{crefEpoll, "epoll"}, 0, "epoll c-epoll"},
		{[]string{crefEpoll, "epoll"}, 1, "c-epoll epoll"},
		{[]string{crefFork, "poll"}, 1, "poll | c-fork"}, // no fork: c-fork on its own
		{[]string{"fork", crefForkBig}, 0, "c-fork-big fork"},
		{[]string{"fork", crefForkBig}, 1, "fork c-fork-big"},
	} {
		got := runOrder(tc.models, tc.rep)
		want := strings.Fields(strings.ReplaceAll(tc.want, "|", ""))
		if !slices.Equal(got, want) {
			t.Errorf("runOrder(%v, %d) = %v, want %v", tc.models, tc.rep, got, want)
		}
	}
}

// TestPairedRatio: samples are matched by repeat, and a repeat one side
// lacks is left out.
func TestPairedRatio(t *testing.T) {
	cellOf := func(rates []float64, reps []int) *cell {
		c := &cell{}
		for i, r := range rates {
			s := sample{RequestsPerSec: r}
			if reps != nil {
				s.Repeat = reps[i]
			}
			c.Samples = append(c.Samples, s)
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		a, b  *cell
		want  float64
		wantN int
	}{
		{"by repeat", cellOf([]float64{100, 180, 150}, []int{0, 1, 2}), cellOf([]float64{100, 200, 100}, []int{0, 1, 2}), 1.0, 3},
		// Repeats 0 and 1 in a slow spell, 3 and 4 in a fast one, and in
		// 2 the spell changed between the two: the medians alone (180 vs
		// 145) would say 1.24; repeat by repeat they are even.
		{"slow spells", cellOf([]float64{145, 145, 180, 180, 180}, []int{0, 1, 2, 3, 4}), cellOf([]float64{145, 145, 145, 180, 180}, []int{0, 1, 2, 3, 4}), 1.0, 5},
		{"a repeat missing", cellOf([]float64{90, 120}, []int{0, 2}), cellOf([]float64{100, 1, 100}, []int{0, 1, 2}), 1.05, 2},
		{"nothing to pair", cellOf(nil, nil), cellOf([]float64{100}, nil), 0, 0},
	} {
		got, n := pairedRatio(tc.a, tc.b)
		if n != tc.wantN || got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%s: pairedRatio = %.3f over %d, want %.3f over %d", tc.name, got, n, tc.want, tc.wantN)
		}
	}
}
