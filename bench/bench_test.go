package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"netprog/clients"
	"netprog/servers"
)

var netprogBin string

func TestMain(m *testing.M) {
	// The harness runs the Go baseline by re-executing itself; under
	// `go test` itself is this test binary.
	if addr := os.Getenv(baselineEnv); addr != "" {
		os.Exit(serveBaseline(addr))
	}
	dir, err := os.MkdirTemp("", "netprog-bench-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	netprogBin = filepath.Join(dir, "netprog")
	build := exec.Command("go", "build", "-o", netprogBin, "netprog/cmd/netprog")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building netprog:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// smokeModels is iterative and one event-driven model, whichever exists,
// else iterative and the Go baseline.
func smokeModels() []string {
	models := []string{"iterative"}
	for _, m := range []string{"epoll", "goroutine"} {
		if slices.Contains(servers.Models(), m) {
			return append(models, m)
		}
	}
	return append(models, baselineName)
}

// TestHarnessSmoke runs the whole harness briefly against two models and
// checks that the report is produced and parses. It asserts nothing about
// speed.
func TestHarnessSmoke(t *testing.T) {
	out := t.TempDir()
	cfg := defaultConfig()
	cfg.Bin, cfg.Out = netprogBin, out
	cfg.Models = smokeModels()
	cfg.EchoConns, cfg.EchoSizes = []int{1, 10}, []int{64}
	cfg.ConnectWorkers = 2
	// A window of a second, not less: every cell must measure some
	// requests, and a loaded machine can leave the server or the
	// generator without a CPU for a good part of a second.
	cfg.Window, cfg.Repeats, cfg.Warmup = time.Second, 1, time.Second
	cfg.SyscallWindow = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runHarness(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeResults(out, res); err != nil {
		t.Fatal(err)
	}

	var parsed results
	js, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &parsed); err != nil {
		t.Fatalf("results.json does not parse: %v", err)
	}
	if parsed.Machine.Cores < 1 || parsed.Machine.Kernel == "" || parsed.Machine.Date == "" {
		t.Errorf("machine not recorded: %+v", parsed.Machine)
	}
	if want := len(cfg.Models) * len(cfg.loads()); len(parsed.Cells) != want {
		t.Fatalf("%d cells, want %d", len(parsed.Cells), want)
	}
	for _, c := range parsed.Cells {
		iterativeMany := c.Model == "iterative" && c.Load.Workload == clients.WorkloadEcho && c.Load.Conns > 1
		switch {
		case iterativeMany && c.Skipped == "":
			t.Errorf("iterative ran %v: it should be skipped, with the reason", c.Load)
		case iterativeMany:
		case c.Failed != "":
			t.Errorf("%s %v failed: %s", c.Model, c.Load, c.Failed)
		case c.Median == nil || len(c.Samples) != cfg.Repeats || c.Median.Requests == 0:
			t.Errorf("%s %v: no measurement: %+v", c.Model, c.Load, c)
		}
	}
	if len(parsed.Targets) == 0 {
		t.Error("no targets in results.json")
	}

	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"# Server designs compared", "## Requests per second", "## Targets", "iterative** is not run"}, cfg.Models...) {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, "results.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), cfg.Models[1]) {
		t.Errorf("results.svg is not an SVG naming the models (%d bytes)", len(svg))
	}
}

func TestParseStraceSummary(t *testing.T) {
	const out = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 52.10    0.010000           5      2000           read
 40.00    0.008000           4      2000           sendto
  7.90    0.001500           3       500        12 epoll_wait
------ ----------- ----------- --------- --------- ----------------
100.00    0.019500           4      4500        12 total
`
	total, by, err := parseStraceSummary(out)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4500 || by["read"] != 2000 || by["sendto"] != 2000 || by["epoll_wait"] != 500 || len(by) != 3 {
		t.Errorf("total %d, by name %v", total, by)
	}
	if _, _, err := parseStraceSummary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"); err == nil {
		t.Error("a summary without a total should be an error")
	}
}

func TestMedianAndSkips(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	skips := []struct {
		model string
		l     load
		skip  bool
	}{
		{"iterative", load{clients.WorkloadEcho, 1, 64}, false},
		{"iterative", load{clients.WorkloadEcho, 10, 64}, true},
		{"iterative", load{clients.WorkloadConnect, 10, 64}, false},
		{"prefork", load{clients.WorkloadEcho, preforkWorkers, 64}, false},
		{"prefork", load{clients.WorkloadEcho, 100, 64}, true},
		{"epoll", load{clients.WorkloadEcho, 1000, 4096}, false},
	}
	for _, s := range skips {
		if got := skipReason(s.model, s.l) != ""; got != s.skip {
			t.Errorf("skip %s at %v = %v, want %v", s.model, s.l, got, s.skip)
		}
	}
}
