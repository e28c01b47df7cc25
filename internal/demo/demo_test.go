package demo

// In-process tests of the demos that need no process of their own: each
// writes to a buffer. Fork and Zombie fork, and Zombie's sleep needs the
// process's first thread: cmd/netprog tests them by running netprog.

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer takes writes from several goroutines, as thread-demo's two
// threads make.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNonblock: the four steps, in order, and the waits that must wait
// did (lower bounds, which no speed of machine can break).
func TestNonblock(t *testing.T) {
	var out bytes.Buffer
	if err := Nonblock(&out, NonblockOptions{Delay: 100 * time.Millisecond, RcvTimeout: 50 * time.Millisecond}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	steps := regexp.MustCompile(`(?s)^A connected pair of TCP sockets on loopback: fd \d+ \(127\.0\.0\.1:\d+\) reads, fd \d+ \(127\.0\.0\.1:\d+\) sends\.` +
		`.*1\. Blocking.*recvfrom slept (\S+) in the kernel, then returned 6 bytes: "hello\\n"` +
		`.*2\. Blocking.*SO_RCVTIMEO 50ms.*recvfrom slept (\S+), then failed with EAGAIN \(resource temporarily unavailable\): the timeout` +
		`.*3\. Nonblocking.*recvfrom came back at once \(\S+\) and failed with EAGAIN` +
		`.*4\. poll.*poll slept (\S+), then returned 1: revents=POLLIN` +
		`.*recvfrom then came back at once \(\S+\) and returned 6 bytes: "again\\n"\n$`).FindStringSubmatch(out.String())
	if steps == nil {
		t.Fatalf("output does not show the four steps:\n%s", out.String())
	}
	for i, min := range []time.Duration{100 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		d, err := time.ParseDuration(steps[i+1])
		if err != nil {
			t.Fatalf("wait %q: %v", steps[i+1], err)
		}
		if d < min-5*time.Millisecond {
			t.Errorf("step %d waited %v, less than the %v it must", []int{1, 2, 4}[i], d, min)
		}
	}
}

// TestPorts: the IANA table, this kernel's ranges as sysctl gives them,
// and a connect whose port is inside the ephemeral range.
func TestPorts(t *testing.T) {
	var out bytes.Buffer
	if err := Ports(&out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lo, hi, err := ephemeralRange()
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Port numbers (IANA, RFC 6335):\n  0-1023       well-known",
		"\nThis kernel:\n  ephemeral ports     " + strconv.Itoa(lo) + "-" + strconv.Itoa(hi) + " (net.ipv4.ip_local_port_range)",
		"  privileged ports    below ",
		"\nA connect just now:\n  127.0.0.1:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	m := regexp.MustCompile(`connect gave the socket port (\d+) \(getsockname\), inside the ephemeral range\n$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no connect inside the ephemeral range:\n%s", s)
	}
	if p, _ := strconv.Atoi(m[1]); p < lo || p > hi {
		t.Errorf("port %d said to be inside %d-%d", p, lo, hi)
	}
}

// TestThread: two named threads with their own ids, both say hello, the
// join waits for the thread, and the thread's increment is seen.
func TestThread(t *testing.T) {
	var out lockedBuffer
	before := threadDemoCounter
	if err := Thread(&out, ThreadOptions{Sleep: 20 * time.Millisecond}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"Before starting a new thread my name is: MainThread (process " + strconv.Itoa(os.Getpid()) + ", thread ",
		"Hello from new thread: My name is Childthread: (thread ",
		"Hello from main thread: My name is MainThread: (thread ",
		"Threads of process " + strconv.Itoa(os.Getpid()) + " (/proc/",
		"Counter: " + strconv.Itoa(before) + " before, " + strconv.Itoa(before+1) + " after the new thread incremented it",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "Hello from both of us:\n"); n != 2 {
		t.Errorf("%d \"Hello from both of us:\" lines, want 2:\n%s", n, s)
	}
	child := regexp.MustCompile(`My name is Childthread: \(thread (\d+)\)`).FindStringSubmatch(s)
	main := regexp.MustCompile(`My name is MainThread: \(thread (\d+)\)`).FindStringSubmatch(s)
	if child == nil || main == nil || child[1] == main[1] {
		t.Fatalf("want two different thread ids:\n%s", s)
	}
	for _, want := range []string{child[1] + "  Childthread", main[1] + "  MainThread"} {
		if !strings.Contains(s, want) {
			t.Errorf("thread list lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(s, "Joined Childthread: thread "+child[1]+" has ended") && !strings.Contains(s, "which Go keeps") {
		t.Errorf("no join:\n%s", s)
	}
}

// TestProcState: this process, reading its own stat, is running; the
// letters are named as proc(5) names them.
// TestProcState reads the state of a child that has exited and not been
// waited for: a zombie, as zombie-demo's is.
func TestProcState(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skipf("no true(1) to run: %v", err)
	}
	defer cmd.Wait()
	var c byte
	for deadline := time.Now().Add(10 * time.Second); c != 'Z'; time.Sleep(time.Millisecond) {
		var err error
		if c, err = procState(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d: state %q 10 s after it was started, want Z", cmd.Process.Pid, c)
		}
	}
	if _, err := procState(-1); err == nil {
		t.Error("procState(-1): no error")
	}
	for c, want := range map[byte]string{'Z': "Z (zombie)", 'S': "S (sleeping)", '?': "?"} {
		if got := describeState(c); got != want {
			t.Errorf("describeState(%q) = %q, want %q", c, got, want)
		}
	}
}
