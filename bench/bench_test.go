package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/clients"
	"netprog/clients/probe"
	"netprog/internal/e2e"
	"netprog/servers"
)

var netprogBin string

func TestMain(m *testing.M) {
	// The harness runs the Go baseline by re-executing itself; under
	// `go test` itself is this test binary.
	if addr := os.Getenv(baselineEnv); addr != "" {
		os.Exit(serveBaseline(addr))
	}
	// The binary the tests run: the one `make test` built (internal/e2e).
	e2e.Main(m, &netprogBin)
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
	if err := writeResults(out, "results", res); err != nil {
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

// TestInterruptWritesPartial runs the harness binary on a small
// configuration, interrupts it (SIGINT) once it has reported its first
// measured run, and checks that it writes what it measured to
// results-partial.*, marked partial, leaves a complete run's results alone,
// exits with 130, and leaves no process behind.
func TestInterruptWritesPartial(t *testing.T) {
	dir := t.TempDir()
	benchBin := filepath.Join(dir, "bench")
	if out, err := exec.Command("go", "build", "-o", benchBin, "netprog/bench").CombinedOutput(); err != nil {
		t.Fatalf("building the harness: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// Stand-ins for the committed results, which must not be touched.
	committed := map[string]string{}
	for _, ext := range []string{".md", ".json", ".svg"} {
		path := filepath.Join(out, "results"+ext)
		committed[path] = "a complete run's results" + ext
		if err := os.WriteFile(path, []byte(committed[path]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever the harness leaves behind, a server it did not stop or a
	// child it did not reap, is handed to this process when it exits.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	models := smokeModels()
	if !slices.Contains(models, baselineName) {
		models = append(models, baselineName) // a child that is the harness itself, re-executed
	}
	cmd := exec.Command(benchBin, "-bin", netprogBin, "-out", out, "-models", strings.Join(models, ","),
		"-conns", "1,10", "-sizes", "64", "-connect-workers", "2", "-repeats", "2", "-budget", "0",
		// A second per run, not less: the first must measure requests
		// on a loaded machine.
		"-duration", "1s", "-warmup", "1s", "-syscalls", "off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	var first string
	hang := time.After(2 * time.Minute) // a hang bound
	for first == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("the harness ended before its first run:\n%s", log.String())
			}
			log.WriteString(line + "\n")
			if strings.HasPrefix(line, "[  1/") {
				first = line
			}
		case <-hang:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no measured run within 2 minutes:\n%s", log.String())
		}
	}
	// The first run is the first model at the first load.
	if !strings.Contains(first, "echo 1 conns x 64 B") || !strings.Contains(first, models[0]) || !strings.Contains(first, "ETA ") {
		t.Errorf("first progress line %q: want the load, the model and an ETA", first)
	}
	// The harness's processes now, to be looked for once it has exited.
	type proc struct {
		pid   int
		start string
	}
	var started []proc
	for _, pid := range descendants(cmd.Process.Pid) {
		if st := procStart(pid); st != "" {
			started = append(started, proc{pid, st})
		}
	}
	if len(started) < len(models) {
		t.Errorf("%d processes under the harness, want at least its %d servers", len(started), len(models))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	hang = time.After(time.Minute) // a hang bound: it abandons one run and stops its servers
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				done = true
				break
			}
			log.WriteString(line + "\n")
		case <-hang:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("still running a minute after SIGINT:\n%s", log.String())
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	stray := children(os.Getpid())
	for _, p := range started {
		if procStart(p.pid) == p.start && !slices.Contains(stray, p.pid) {
			stray = append(stray, p.pid)
		}
	}
	for _, pid := range stray {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Errorf("left behind: pid %d, %s (%s), state %s (Z: exited, not reaped)", pid, strings.TrimSpace(string(comm)),
			strings.ReplaceAll(string(cmdline), "\x00", " "), procState(pid))
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil) // ours if reparented here; else ECHILD
	}

	partialMD := filepath.Join(out, "results-partial.md")
	if !strings.Contains(log.String(), partialMD) {
		t.Errorf("stderr does not say where the partial results went (%s):\n%s", partialMD, log.String())
	}
	for path, want := range committed {
		if b, err := os.ReadFile(path); err != nil || string(b) != want {
			t.Errorf("%s was touched: %q, %v", path, b, err)
		}
	}
	md, err := os.ReadFile(partialMD)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.HasPrefix(string(md), "# PARTIAL: interrupted by SIGINT after ") {
		t.Errorf("results-partial.md does not begin with the PARTIAL line:\n%.300s", md)
	}
	js, err := os.ReadFile(filepath.Join(out, "results-partial.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatalf("results-partial.json: %v", err)
	}
	if p := r.Partial; p == nil || p.RunsDone < 1 || p.RunsDone >= p.RunsTotal || p.CellsMeasured < 1 {
		t.Errorf("results-partial.json's partial: %+v", r.Partial)
	}
	c := r.cell(models[0], load{clients.WorkloadEcho, 1, 64})
	if c == nil || len(c.Samples) == 0 || c.Median == nil || c.Median.Requests == 0 {
		t.Errorf("results-partial.json lacks the first run (%s at echo 1 x 64 B): %+v", models[0], c)
	}
	if svg, err := os.ReadFile(filepath.Join(out, "results-partial.svg")); err != nil || !strings.Contains(string(svg), "PARTIAL") {
		t.Errorf("results-partial.svg not marked partial: %v", err)
	}
}

// procStart is a process's start time, which tells it from a later
// process given the same pid; "" if it is gone (e2e.StartTime).
func procStart(pid int) string { return e2e.StartTime(pid) }

// procState is a process's state letter, "gone" once it is.
func procState(pid int) string {
	if st := probe.State(pid); st != 0 {
		return string(st)
	}
	return "gone"
}

func TestETA(t *testing.T) {
	h := &harness{cfg: config{Window: time.Second, SyscallWindow: 300 * time.Millisecond, Repeats: 3},
		timedTotal: 30, countTotal: 10}
	planTimed, planCount := runOverhead+time.Second, 300*time.Millisecond+countOverhead
	if got, want := h.eta(), 30*planTimed+10*planCount; got != want {
		t.Errorf("before any run: %v, want the plan, %v", got, want)
	}
	// The timed runs took twice the plan: the rest of them, and the
	// counting runs, are estimated at twice too.
	h.timedDone, h.timedSpent = 10, 20*planTimed
	if got, want := h.eta(), 20*2*planTimed+10*2*planCount; got != want {
		t.Errorf("after 10 slow runs: %v, want %v", got, want)
	}
	// Faster than planned: the counting runs keep their plan.
	h.timedDone, h.timedSpent = 10, 5*planTimed
	if got, want := h.eta(), 20*planTimed/2+10*planCount; got != want {
		t.Errorf("after 10 fast runs: %v, want %v", got, want)
	}
	h.timedDone, h.timedSpent = 30, 60*planTimed
	h.countDone, h.countSpent = 4, 4*time.Second
	if got, want := h.eta(), 6*time.Second; got != want {
		t.Errorf("after 4 counting runs of 1s: %v, want %v", got, want)
	}
	// A cell failing at its first repeat takes its other runs, its
	// counting run included, out of the plan.
	h = &harness{cfg: config{Repeats: 3}, timedTotal: 6, countTotal: 2, total: 8, counter: &straceCounter{}}
	h.dropRuns(&cell{}, true)
	if h.timedTotal != 4 || h.countTotal != 1 || h.total != 5 {
		t.Errorf("after a failure: %d timed, %d counting, %d in all; want 4, 1, 5", h.timedTotal, h.countTotal, h.total)
	}
	for d, want := range map[time.Duration]string{0: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", 125 * time.Second: "2m05s"} {
		if got := fmtETA(d); got != want {
			t.Errorf("fmtETA(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPartialAndQuickNames(t *testing.T) {
	full, quick := &results{}, &results{Quick: true}
	part, quickPart := &results{Partial: &partial{}}, &results{Quick: true, Partial: &partial{}}
	tests := []struct {
		name    string
		nameSet bool
		r       *results
		want    string
	}{
		{"results", false, full, "results"},
		{"results", false, quick, "results-quick"},
		{"results", false, part, "results-partial"},
		{"results", false, quickPart, "results-quick-partial"},
		{"mine", true, quick, "mine"},
		{"mine", true, part, "mine-partial"},
		{"results-partial", false, part, "results-partial"}, // -from results-partial.json
	}
	for _, tt := range tests {
		if got := outputName(tt.name, tt.nameSet, tt.r); got != tt.want {
			t.Errorf("outputName(%q, %v, quick %v partial %v) = %q, want %q", tt.name, tt.nameSet, tt.r.Quick, tt.r.Partial != nil, got, tt.want)
		}
	}

	cfg := defaultConfig()
	conns, sizes := "1,10,100,1000", "64,4096"
	applyQuick(&cfg, map[string]bool{"repeats": true}, &conns, &sizes)
	if cfg.Repeats != defaultConfig().Repeats || cfg.Window >= defaultConfig().Window || conns != "1,10,50,100" || sizes != "64" {
		t.Errorf("-quick -repeats 3: repeats %d, window %v, conns %s, sizes %s", cfg.Repeats, cfg.Window, conns, sizes)
	}

	// The markdown of a partial run says so first, and tells a cell
	// measured in some repeats from one not measured.
	l1, l10 := load{clients.WorkloadEcho, 1, 64}, load{clients.WorkloadEcho, 10, 64}
	r := &results{Repeats: 2, Models: []string{"epoll"}, Loads: []load{l1, l10},
		Cells:   []*cell{{Model: "epoll", Load: l1, Samples: []sample{{RequestsPerSec: 1000, Requests: 1000}}}, {Model: "epoll", Load: l10}},
		Partial: &partial{Reason: "interrupted by SIGINT", RunsDone: 1, RunsTotal: 4, CellsMeasured: 1, CellsTotal: 2}}
	for _, c := range r.Cells {
		c.summarize()
	}
	md := markdown(r)
	for _, want := range []string{"epoll (1 of 2 repeats)", "| epoll | not measured |", "| epoll | 1000 | ? |"} {
		if !strings.Contains(md, want) {
			t.Errorf("partial markdown lacks %q", want)
		}
	}
	if want := "# PARTIAL: interrupted by SIGINT after 1 of 4 runs (1 of 2 cells measured, 0 with every repeat)\n"; !strings.HasPrefix(md, want) {
		t.Errorf("partial markdown begins %.120q, want %q", md, want)
	}
}

// TestCRefRows runs the C references beside the models they measure and
// checks that the table gains their rows, the ratios against C and the
// footprint of the fork servers. It asserts nothing about speed. Without a
// C compiler the rows must say so instead.
func TestCRefRows(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler (cc): TestCRefWithoutCompiler covers the rows' reason")
	}
	out := t.TempDir()
	cfg := defaultConfig()
	cfg.Bin, cfg.Out = netprogBin, out
	cfg.Models = []string{"epoll", "fork", crefEpoll, crefFork, crefForkBig}
	cfg.EchoConns, cfg.EchoSizes = []int{10}, []int{64}
	cfg.ConnectWorkers = 2
	cfg.Window, cfg.Repeats, cfg.Warmup = time.Second, 1, time.Second
	cfg.SyscallMethod = "off"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runHarness(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		bigEcho := c.Model == crefForkBig && c.Load.Workload == clients.WorkloadEcho
		switch {
		case bigEcho && c.Skipped == "":
			t.Errorf("%s ran %v: the footprint experiment is connect only", c.Model, c.Load)
		case bigEcho:
		case c.Skipped != "" || c.Failed != "":
			t.Errorf("%s %v: skipped %q, failed %q", c.Model, c.Load, c.Skipped, c.Failed)
		case c.Median == nil || c.Median.Requests == 0 || c.Median.Errors > 0:
			t.Errorf("%s %v: no clean measurement: %+v", c.Model, c.Load, c.Median)
		}
	}
	f, ok := res.Footprints[forkUnderConnect]
	if big := res.Footprints[crefForkBig]; !ok || big.Mappings < f.Mappings-3 || big.AnonKB < f.AnonKB*9/10 {
		t.Errorf("the grown C server does not match the Go fork server: %v against %v", big, f)
	}
	md := markdown(res)
	for _, want := range []string{"## Against C", "| epoll ÷ c-epoll |", "| fork ÷ c-fork |", "| c-fork-big ÷ c-fork |",
		"| " + crefEpoll + " |", "fork requests/s vs C fork", "- c-fork-big as it last started: "} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
}

// TestCRefWithoutCompiler: with no C compiler the C rows are skipped, with
// the reason, and the rest of the run goes on.
func TestCRefWithoutCompiler(t *testing.T) {
	t.Setenv("CC", filepath.Join(t.TempDir(), "no-such-cc"))
	bins, why := buildCRefs([]string{"epoll", crefEpoll}, t.TempDir(), io.Discard)
	if bins != nil || !strings.Contains(why, "no C compiler") {
		t.Fatalf("buildCRefs without a compiler: %v, %q", bins, why)
	}
	cfg := defaultConfig()
	cfg.Bin, cfg.Out = netprogBin, t.TempDir()
	cfg.Models = []string{"epoll", crefEpoll}
	cfg.EchoConns, cfg.EchoSizes, cfg.ConnectWorkers = []int{1}, []int{64}, 0
	cfg.Window, cfg.Repeats, cfg.Warmup, cfg.SyscallMethod = 300*time.Millisecond, 1, time.Second, "off"
	res, err := runHarness(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.cell("epoll", load{clients.WorkloadEcho, 1, 64}); c == nil || c.Median == nil {
		t.Errorf("epoll was not measured without a compiler: %+v", c)
	}
	if c := res.cell(crefEpoll, load{clients.WorkloadEcho, 1, 64}); c == nil || !strings.Contains(c.Skipped, "no C compiler") {
		t.Errorf("the C row does not say why it is missing: %+v", c)
	}
	if md := markdown(res); !strings.Contains(md, "**No C reference rows:**") || !strings.Contains(md, "| c-epoll | — |") {
		t.Errorf("results.md does not say the C rows are missing:\n%s", md)
	}
}
