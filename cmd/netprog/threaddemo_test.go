package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestThreadDemo: two named threads with their own ids, both say hello,
// the join waits for the thread to end, and the thread's increment is seen
// by the main thread.
func TestThreadDemo(t *testing.T) {
	t.Parallel()
	out, errOut, code := runNetprog(t, "", "thread-demo", "-sleep", "100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Before starting a new thread my name is: MainThread",
		"Hello from new thread: My name is Childthread:",
		"Hello from main thread: My name is MainThread:",
		"Counter: 0 before, 1 after the new thread incremented it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Hello from both of us:\n"); n != 2 {
		t.Errorf("%d \"Hello from both of us:\" lines, want 2:\n%s", n, out)
	}
	m := regexp.MustCompile(`My name is Childthread: \(thread (\d+)\)`).FindStringSubmatch(out)
	mainTid := regexp.MustCompile(`My name is MainThread: \(thread (\d+)\)`).FindStringSubmatch(out)
	if m == nil || mainTid == nil || m[1] == mainTid[1] {
		t.Fatalf("want two different thread ids:\n%s", out)
	}
	// The thread list shows both names with their ids, and the runtime's.
	for _, want := range []string{m[1] + "  Childthread", mainTid[1] + "  MainThread", "(a Go runtime thread)"} {
		if !strings.Contains(out, want) {
			t.Errorf("thread list lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Joined Childthread: thread "+m[1]+" has ended") &&
		!strings.Contains(out, "which Go keeps") {
		t.Errorf("no join:\n%s", out)
	}
}

// TestNonblockDemo: the blocking recv waits for the peer, the one with
// SO_RCVTIMEO gives up with EAGAIN, the nonblocking one fails with EAGAIN
// without waiting, and poll waits for the data, which recv then returns.
func TestNonblockDemo(t *testing.T) {
	t.Parallel()
	out, errOut, code := runNetprog(t, "", "nonblock-demo", "-delay", "200ms", "-rcvtimeo", "100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	steps := regexp.MustCompile(`(?s)1\. Blocking.*recvfrom slept (\S+) in the kernel, then returned 6 bytes: "hello\\n"` +
		`.*2\. Blocking.*SO_RCVTIMEO.*recvfrom slept (\S+), then failed with EAGAIN` +
		`.*3\. Nonblocking.*recvfrom came back at once \(\S+\) and failed with EAGAIN` +
		`.*4\. poll.*poll slept (\S+), then returned 1: revents=POLLIN` +
		`.*recvfrom then came back at once \(\S+\) and returned 6 bytes: "again\\n"`).FindStringSubmatch(out)
	if steps == nil {
		t.Fatalf("output does not show the four steps:\n%s", out)
	}
	// The blocking waits really waited (for the peer, for the timeout):
	// lower bounds, which no speed of machine can break.
	for i, min := range []time.Duration{200 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		d, err := time.ParseDuration(steps[i+1])
		if err != nil {
			t.Fatalf("wait %q: %v", steps[i+1], err)
		}
		if d < min-5*time.Millisecond {
			t.Errorf("step %d waited %v, less than the %v it must", []int{1, 2, 4}[i], d, min)
		}
	}
}

// TestModelDemoBadFlags: negative durations are usage errors.
func TestModelDemoBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"thread-demo", "-sleep", "-1s"},
		{"nonblock-demo", "-delay", "-1s"},
		{"nonblock-demo", "extra"},
	} {
		_, errOut, code := runNetprog(t, "", args...)
		if code != 2 || !strings.Contains(errOut, "netprog "+args[0]+": ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, errOut)
		}
	}
}
