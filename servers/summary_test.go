package servers

import (
	"regexp"
	"strings"
	"testing"
)

// TestSummaryWords: every count in a summary agrees with its noun (1
// connection, 2 connections), and the greet server's speaks of greetings,
// not of echoes.
func TestSummaryWords(t *testing.T) {
	summary := func(st *Stats) string {
		var b strings.Builder
		st.Summary(&b)
		return strings.Split(b.String(), "\nCPU time")[0] // the times vary
	}
	stats := func(conns, bytes, children int64) *Stats {
		st := &Stats{}
		st.Conns.Store(conns)
		st.Bytes.Store(bytes)
		st.Children.Store(children)
		return st
	}
	greet := func(conns, greetings, bytes int64) *Stats {
		st := stats(conns, bytes, 0)
		st.greets = true
		st.Greetings.Store(greetings)
		return st
	}
	ring := stats(2, 10, 0)
	ring.Ring = &RingStats{Enters: 1, Completions: 1, BatchWaits: 1}
	ring2 := stats(2, 10, 0)
	ring2.Ring = &RingStats{Enters: 4, Completions: 10, BatchWaits: 0}
	for _, tc := range []struct {
		st   *Stats
		want string
	}{
		{stats(0, 0, 0), "served 0 connections, echoed 0 bytes"},
		{stats(1, 1, 0), "served 1 connection, echoed 1 byte"},
		{stats(2, 12, 0), "served 2 connections, echoed 12 bytes"},
		{stats(1, 6, 1), "served 1 connection, echoed 6 bytes, reaped 1 child"},
		{stats(3, 6, 4), "served 3 connections, echoed 6 bytes, reaped 4 children"},
		{greet(1, 1, 26), "served 1 connection, sent 1 greeting (26 bytes)"},
		{greet(3, 2, 52), "served 3 connections, sent 2 greetings (52 bytes)"},
		{greet(0, 0, 0), "served 0 connections, sent 0 greetings (0 bytes)"},
		{ring, "served 2 connections, echoed 10 bytes\nio_uring: 1 completion from 1 io_uring_enter call (1.0 each), 1 of them a batch wait"},
		{ring2, "served 2 connections, echoed 10 bytes\nio_uring: 10 completions from 4 io_uring_enter calls (2.5 each), 0 of them batch waits"},
	} {
		if got := summary(tc.st); got != tc.want {
			t.Errorf("Summary:\n got %q\nwant %q", got, tc.want)
		}
	}

	var b strings.Builder
	u := &UDPStats{}
	u.Summary(&b)
	u.Datagrams.Store(1)
	u.Bytes.Store(1)
	u.Summary(&b)
	u.Datagrams.Store(2)
	u.Bytes.Store(12)
	u.Summary(&b)
	if want := "received 0 datagrams (0 truncated), echoed 0 bytes\n" +
		"received 1 datagram (0 truncated), echoed 1 byte\n" +
		"received 2 datagrams (0 truncated), echoed 12 bytes\n"; b.String() != want {
		t.Errorf("UDP summaries:\n got %q\nwant %q", b.String(), want)
	}
	if m := regexp.MustCompile(`\b1 [a-z_]+s\b`).FindString(summary(greet(1, 1, 1))); m != "" {
		t.Errorf("greet summary has %q", m)
	}
}
