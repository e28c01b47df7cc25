package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"netprog/internal/e2e"
)

// The README's excerpts of a server's summary under load (output blocks
// uring-summary and reuseport-summary): a real server, the project's own
// load generator (netprog bench) against it, SIGINT, and the summary lines
// it printed. The numbers differ from run to run; the lines may not.

// summaryAfter masks the server's run time, which Go prints as 706ms or
// 1.434s (or 2s), before the numbers are masked.
var summaryAfter = regexp.MustCompile(`server stopped after [^:]*:`)

// sameSummary compares two summaries with the run time and every number
// masked.
func sameSummary(readme, run string) bool {
	mask := func(s string) string {
		return maskNumbers(summaryAfter.ReplaceAllString(s, "server stopped after D:"))
	}
	return mask(readme) == mask(run)
}

// summaryLines runs `netprog args...` (a server on port 0), loads it with
// `netprog bench load... ADDR`, stops it with SIGINT and returns the lines
// of its output that start with the prefixes, in its order, each exactly
// once; it fails the test otherwise. The README's prose beside the block
// gives the load's command: it must be this one.
func summaryLines(t *testing.T, args, load []string, prefixes ...string) []string {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if cmd := "`./netprog bench " + strings.Join(load, " "); !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), cmd) {
		t.Errorf("README does not say the load is %s` (what this test runs)", cmd)
	}
	s := startServer(t, args...)
	out, errOut, code := runNetprog(t, "", append(append([]string{"bench"}, load...), s.Addr)...)
	if code != 0 || errOut != "" || !strings.Contains(out, "errors     none") {
		t.Fatalf("bench %v: exit %d, stderr %q:\n%s", load, code, errOut, out)
	}
	if err := s.Stop(t); err != nil {
		t.Fatalf("server after SIGINT: %v\nstderr: %s\n%s", err, s.Err, tail(s.Out.String(), 5))
	}
	var lines []string
	for _, p := range prefixes {
		var found []string
		for l := range strings.Lines(s.Out.String()) {
			if strings.HasPrefix(l, p) {
				found = append(found, strings.TrimRight(l, "\n"))
			}
		}
		if len(found) != 1 {
			t.Fatalf("server printed %d lines starting %q, want 1:\n%s", len(found), p, tail(s.Out.String(), 5))
		}
		lines = append(lines, found[0])
	}
	return lines
}

var uringSummaryRE = regexp.MustCompile(`^io_uring: (\d+) completions from (\d+) io_uring_enter calls \(\d+\.\d each\), (\d+) of them batch waits$`)

// TestReadmeUringSummary: the uring server's summary after one second of
// 400 busy clients, and what the README says of it: io_uring_enter reaps
// many completions per call under that load, and batch waits happen.
// Asserted: every client served, more than two completions per call (a
// single client's figure is about one: README, "With a single client it is
// 2"), at least two batch waits. Not asserted: how many (the README's
// "about fifty" at 1000 clients is a measurement, and a loaded machine
// moves it).
func TestReadmeUringSummary(t *testing.T) {
	t.Parallel()
	e2e.NeedUring(t)
	args := []string{"echo-server", "-model", "uring", "-raw", "-q", "-port", "0"}
	lines := summaryLines(t, args, []string{"-conns", "400", "-duration", "1s"}, "server stopped after ", "io_uring: ")
	if !strings.Contains(lines[0], ": served 400 connections, echoed ") {
		t.Errorf("the 400 clients are not all counted: %s", lines[0])
	}
	m := uringSummaryRE.FindStringSubmatch(lines[1])
	if m == nil {
		t.Fatalf("io_uring line not as expected: %s", lines[1])
	}
	completions, _ := strconv.ParseInt(m[1], 10, 64)
	enters, _ := strconv.ParseInt(m[2], 10, 64)
	batchWaits, _ := strconv.ParseInt(m[3], 10, 64)
	if completions <= 2*enters {
		t.Errorf("%d completions from %d io_uring_enter calls: not many per call under 400 busy clients", completions, enters)
	}
	if batchWaits < 2 || batchWaits > enters {
		t.Errorf("%d batch waits of %d io_uring_enter calls: want some (at least 2)", batchWaits, enters)
	}
	t.Logf("%s\n%s", lines[0], lines[1])
	checkReadmeOutput(t, "uring-summary", "cmd/netprog/readme_summary_test.go",
		outputBlock("./netprog "+strings.Join(args, " "), strings.Join(lines, "\n")), sameSummary)
}

var fourWorkersRE = regexp.MustCompile(`^connections per worker: (\d+) (\d+) (\d+) (\d+)$`)

// TestReadmeReuseportSummary: a reuseport server of 4 workers after 3000
// short connections (bench's connect workload, no warm-up: exactly 3000),
// and the spread the kernel chose: the summary counts all 3000, and they
// are shared by the four workers, each with some (the hash is even on
// average; how even one run is, is not asserted).
func TestReadmeReuseportSummary(t *testing.T) {
	t.Parallel()
	args := []string{"echo-server", "-model", "reuseport", "-workers", "4", "-raw", "-q", "-port", "0"}
	load := []string{"-workload", "connect", "-conns", "4", "-warmup", "0", "-requests", "3000"}
	lines := summaryLines(t, args, load, "server stopped after ", "connections per worker: ")
	if !strings.Contains(lines[0], ": served 3000 connections, echoed ") {
		t.Errorf("the 3000 connections are not all counted: %s", lines[0])
	}
	m := fourWorkersRE.FindStringSubmatch(lines[1])
	if m == nil {
		t.Fatalf("not four workers' counts: %s", lines[1])
	}
	sum := 0
	for _, f := range m[1:] {
		n, _ := strconv.Atoi(f)
		if n == 0 {
			t.Errorf("a worker got no connection of 3000: %s", lines[1])
		}
		sum += n
	}
	if sum != 3000 {
		t.Errorf("the workers' counts add up to %d, not 3000: %s", sum, lines[1])
	}
	t.Logf("%s\n%s", lines[0], lines[1])
	checkReadmeOutput(t, "reuseport-summary", "cmd/netprog/readme_summary_test.go",
		outputBlock("./netprog "+strings.Join(args, " "), strings.Join(lines, "\n")), sameSummary)
}
