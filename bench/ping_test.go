package main

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestPingScript runs bench/ping.sh once, briefly (one interleaved run of
// 300 packets each), under sh as `make bench` does, and checks that it
// prints every row: both modes beside iputils, the C floor alone, with idle
// threads, and with them and a private file table (bench/cref/ping.c, built
// by the script), and ping's own rate. It asserts nothing about speed.
func TestPingScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("flood ping needs root")
	}
	for _, tool := range []string{"ping", "cc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if out, _ := exec.Command("ping", "-V").CombinedOutput(); !regexp.MustCompile(`iputils`).Match(out) {
		t.Skip("the ping installed is not iputils'")
	}
	out, err := exec.Command("sh", "ping.sh", netprogBin, "1", "300").CombinedOutput()
	if err != nil {
		t.Fatalf("sh bench/ping.sh: %v\n%s", err, out)
	}
	for _, row := range []string{
		`ping -q -f +netprog +[\d.]+ ms \(best +[\d.]+\) +iputils +[\d.]+ ms .* [\d.]+x iputils \(run by run; medians [\d.]+x, best [\d.]+x`,
		`ping -f \(dots\) +netprog +[\d.]+ ms`,
		`C floor, -q +alone +[\d.]+ ms +with 6 idle threads +[\d.]+ ms \([+-][\d.]+ ms: a shared file table\)`,
		`with 6 idle threads and a table of its own +[\d.]+ ms \([+-][\d.]+ ms\)`,
		`netprog takes [\d.]+x the floor's time, iputils [\d.]+x`,
		`rate [\d.]+x iputils`,
		`runs cref6\.q \(wall_ms pps avg_us\): [\d.]+ \d+ [\d.]+;`,
		`runs cref6u\.q \(wall_ms pps avg_us\): [\d.]+ \d+ [\d.]+;`,
	} {
		if !regexp.MustCompile(row).Match(out) {
			t.Errorf("no line matching %q in:\n%s", row, out)
		}
	}
}
