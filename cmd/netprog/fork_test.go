package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/e2e"
	"netprog/internal/forkcheck"
)

// The fork and prefork servers and the process demos, as real processes:
// the built binary, its children found in /proc, signals sent with kill.

// waitChildren polls /proc until pid has exactly n children, none of them
// a zombie, and returns them; it fails the test after 10s.
func waitChildren(t *testing.T, pid, n int) map[int]byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		kids := childStates(pid)
		zombies := 0
		for _, st := range kids {
			if st == 'Z' {
				zombies++
			}
		}
		if len(kids) == n && zombies == 0 {
			return kids
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d has children %v (state letters), want %d and no zombie", pid, kidsString(kids), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// converse has one conversation with a server that answers "you send:"
// (prefix) and quits on q: a line, its reply, q, end of file.
func converse(addr, prefix string, i int) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return converseOn(c, prefix, i, true)
}

func converseOn(c net.Conn, prefix string, i int, quit bool) error {
	line := fmt.Sprintf("hello %d\n", i)
	if _, err := io.WriteString(c, line); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	got, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reply to %q: %v", line, err)
	}
	if got != prefix+line {
		return fmt.Errorf("reply %q, want %q", got, prefix+line)
	}
	if !quit {
		return nil
	}
	io.WriteString(c, "q\n")
	if b, err := r.ReadByte(); err != io.EOF {
		return fmt.Errorf("after q: want end of file, got %q %v", b, err)
	}
	return nil
}

// conversations runs n conversations, width at a time.
func conversations(t *testing.T, addr, prefix string, n, width int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, width)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := converse(addr, prefix, i); err != nil {
				errs <- fmt.Errorf("conversation %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

var reapedRE = regexp.MustCompile(`(?m)^Reaped child process: (\d+)`)

// TestForkServerNoZombiesNoFdLeak: 500 conversations in three rounds, for
// fork and prefork, with the plain binary and with a -race build of it
// (the child code must stay out of the race runtime); after each round the
// server has no zombie (fork: no child at all; prefork: its workers, alive),
// and its descriptors do not grow from the second round to the third (the
// first warms the runtime up: Go keeps idle threads, and the spare
// descriptor is opened at the first accept). On SIGINT it exits 0 and its
// summary counts all 500; with fork, each reaped child is logged once.
func TestForkServerNoZombiesNoFdLeak(t *testing.T) {
	t.Parallel()
	bins := map[string]string{"plain": netprogBin}
	if !testing.Short() {
		bins["race"] = raceBinary(t)
	}
	for _, build := range []string{"plain", "race"} {
		bin, ok := bins[build]
		if !ok {
			continue
		}
		for _, model := range []string{"fork", "prefork"} {
			t.Run(build+"/"+model, func(t *testing.T) {
				noZombiesNoFdLeak(t, bin, model)
			})
		}
	}
}

// forkServer is the command line of fork-server's protocol ("you send:",
// q quits) served by model: fork-server itself, or echo-server -model with
// that prefix and this many workers.
func forkServer(model string, workers int, args ...string) []string {
	if model == "fork" {
		return append([]string{"fork-server"}, args...)
	}
	return append([]string{"echo-server", "-model", model, "-workers", strconv.Itoa(workers), "-prefix", "you send:"}, args...)
}

func noZombiesNoFdLeak(t *testing.T, bin, model string) {
	s := startServerCmd(t, exec.Command(bin, forkServer(model, 4, "-host", "127.0.0.1", "-port", "0", "-q")...))
	pid := s.Cmd.Process.Pid
	alive := 0
	if model == "prefork" {
		alive = 4
	}
	var fds []int
	for _, n := range []int{100, 200, 200} {
		conversations(t, s.Addr, "you send:", n, 16)
		waitChildren(t, pid, alive)
		fds = append(fds, fdCount(t, pid))
	}
	if fds[2] > fds[1] {
		t.Errorf("descriptors grew from %d to %d between rounds 2 and 3", fds[1], fds[2])
	}
	s.Cmd.Process.Signal(syscall.SIGINT)
	if code := s.WaitStopped(t); code != 0 {
		t.Fatalf("exit status %d after SIGINT; stderr: %s", code, s.Err)
	}
	out := s.Out.String()
	if !strings.Contains(out, "served 500 connections") {
		t.Errorf("summary lacks %q:\n%s", "served 500 connections", tail(out, 5))
	}
	if model != "fork" {
		return
	}
	if !strings.Contains(out, "reaped 500 children") {
		t.Errorf("summary lacks %q:\n%s", "reaped 500 children", tail(out, 5))
	}
	pids := map[string]bool{}
	for _, m := range reapedRE.FindAllStringSubmatch(out, -1) {
		if pids[m[1]] {
			t.Errorf("child %s reaped twice", m[1])
		}
		pids[m[1]] = true
	}
	if len(pids) != 500 {
		t.Errorf("%d distinct 'Reaped child process' lines, want 500", len(pids))
	}
}

// raceBinary is a -race build of netprog, built once per test run (or
// given by make: internal/e2e).
func raceBinary(t *testing.T) string {
	t.Helper()
	return e2e.RaceBin(t)
}

// tail is the last n lines of s.
func tail(s string, n int) string { return e2e.Tail(s, n) }

// TestForkServerMaxChildrenBurst: 200 clients connect at once to a server
// with -max-children 4. A watcher samples the server's children in /proc
// all along: never more than 4 (zombies included: a child counts until it
// is reaped). Every client is served: the others wait in the listen queue.
func TestForkServerMaxChildrenBurst(t *testing.T) {
	t.Parallel()
	const limit, clients = 4, 200
	s := startServer(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q", "-max-children", strconv.Itoa(limit))
	pid := s.Cmd.Process.Pid
	stopWatching := watchChildren(pid)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", s.Addr, 20*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if err := converseOn(c, "you send:", i, false); err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			time.Sleep(20 * time.Millisecond) // hold the child: about 1s in all, 4 at a time
			if err := converseOn(c, "you send:", i, true); err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	most := stopWatching()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if most > limit {
		t.Errorf("saw %d children at once, -max-children is %d", most, limit)
	}
	if most == 0 {
		t.Errorf("the watcher never saw a child")
	}
	t.Logf("at most %d children seen at once", most)
	waitChildren(t, pid, 0)
}

// TestForkServerChildSignals: children killed by a signal are reaped and
// counted, and the server goes on serving. The child's handlers were reset
// by sys.Fork: SIGTERM and SIGPIPE take their default action (terminate),
// which a child still carrying the Go runtime's handlers would not; SIGHUP,
// which the server ignores, stays ignored in the child, as across execve.
func TestForkServerChildSignals(t *testing.T) {
	t.Parallel()
	s := startServer(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q")
	pid := s.Cmd.Process.Pid
	killed := 0
	for i, sig := range []unix.Signal{unix.SIGKILL, unix.SIGTERM, unix.SIGPIPE, unix.SIGHUP} {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if err := converseOn(c, "you send:", i, false); err != nil {
			t.Fatal(err)
		}
		var child int
		for p := range waitChildren(t, pid, 1) {
			child = p
		}
		unix.Kill(child, sig)
		if sig == unix.SIGHUP {
			// Talk once the child has taken the signal (it is no longer
			// pending): a child that SIGHUP ended would be gone by then.
			e2e.Until(t, e2e.Wait, func() bool { return !e2e.SignalPending(child, syscall.SIGHUP) },
				func() string { return fmt.Sprintf("SIGHUP still pending for child %d", child) })
			if err := converseOn(c, "you send:", i, true); err != nil {
				t.Errorf("child after SIGHUP: %v", err)
			}
			c.Close()
			continue
		}
		killed++
		var b [1]byte
		if n, err := c.Read(b[:]); err == nil {
			t.Errorf("%v: client read %q from a killed child", sig, b[:n])
		}
		c.Close()
		s.WaitOutput(t, fmt.Sprintf("Reaped child process: %d: killed by signal %d (%s)", child, int(sig), unix.SignalName(sig)))
	}
	waitChildren(t, pid, 0)
	if err := converse(s.Addr, "you send:", 99); err != nil {
		t.Fatalf("after the killed children: %v", err)
	}
	s.Cmd.Process.Signal(syscall.SIGTERM)
	if code := s.WaitStopped(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if want := fmt.Sprintf("%d child processes crashed or killed", killed); !strings.Contains(s.Out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, tail(s.Out.String(), 8))
	}
}

// TestForkServerStopEndsChildren: SIGINT or SIGTERM with three clients
// connected: the server ends its children (SIGTERM), reaps them, exits 0
// with the summary, and each client sees its connection closed.
func TestForkServerStopEndsChildren(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(unix.SignalName(sig), func(t *testing.T) {
			for _, model := range []string{"fork", "prefork"} {
				t.Run(model, func(t *testing.T) {
					s := startServer(t, forkServer(model, 3, "-host", "127.0.0.1", "-port", "0", "-q")...)
					pid := s.Cmd.Process.Pid
					var clients []net.Conn
					for i := range 3 {
						c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
						if err != nil {
							t.Fatal(err)
						}
						defer c.Close()
						c.SetDeadline(time.Now().Add(20 * time.Second))
						if err := converseOn(c, "you send:", i, false); err != nil {
							t.Fatal(err)
						}
						clients = append(clients, c)
					}
					kids := waitChildren(t, pid, 3)
					s.Cmd.Process.Signal(sig)
					if code := s.WaitStopped(t); code != 0 {
						t.Fatalf("exit status %d; stderr: %s", code, s.Err)
					}
					out := s.Out.String()
					// fork's children are reported one by one; prefork's
					// workers, which only a stop ends, in one line.
					wants := []string{"Stopping: ending 3 child processes", "served 3 connections", "reaped 3 children"}
					if model != "fork" {
						wants[0] = "Stopped 3 workers"
						if strings.Contains(out, "SIGTERM") {
							t.Errorf("the stop reports the workers' SIGTERM:\n%s", tail(out, 8))
						}
					}
					for _, want := range wants {
						if !strings.Contains(out, want) {
							t.Errorf("output lacks %q:\n%s", want, tail(out, 8))
						}
					}
					for p := range kids {
						if reaped := strings.Contains(out, fmt.Sprintf("Reaped child process: %d", p)); reaped != (model == "fork") {
							t.Errorf("child %d: reported on its own: %v", p, reaped)
						}
					}
					for _, c := range clients {
						var b [1]byte
						if n, err := c.Read(b[:]); err == nil {
							t.Errorf("client read %q after the stop", b[:n])
						}
					}
				})
			}
		})
	}
}

// TestForkServerPeerGone: a client that floods the server without reading
// and then resets: its child, blocked in sendto or reading, gets ECONNRESET
// or EPIPE (no SIGPIPE: MSG_NOSIGNAL), exits with that errno as its status,
// is reaped with the reason, and the server serves the next client.
func TestForkServerPeerGone(t *testing.T) {
	t.Parallel()
	s := startServer(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q")
	c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 1023) + "\n")
	chunk := make([]byte, 0, 64<<10)
	for len(chunk)+len(line) <= cap(chunk) {
		chunk = append(chunk, line...)
	}
	c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Write(chunk); err != nil {
			break // the buffers are full both ways: the child is stuck in sendto
		}
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // RST
	deadline = time.Now().Add(10 * time.Second)
	re := regexp.MustCompile(`Reaped child process: \d+: exit status (104: connection reset by peer|32: broken pipe)`)
	for !re.MatchString(s.Out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no reap with ECONNRESET or EPIPE:\n%s", tail(s.Out.String(), 8))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := converse(s.Addr, "you send:", 1); err != nil {
		t.Fatalf("next client: %v", err)
	}
}

// TestPreforkReplacesWorkers: -workers 3 forks three workers at start; they
// serve 100 conversations between them (the parent's descriptors stay the
// same: it never touches a client); a worker killed with SIGKILL is reaped
// and replaced; the summary counts the connections the workers accepted.
func TestPreforkReplacesWorkers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "echo-server", "-model", "prefork", "-workers", "3", "-host", "127.0.0.1", "-port", "0", "-q")
	pid := s.Cmd.Process.Pid
	waitChildren(t, pid, 3)
	var fds []int
	for range 2 {
		conversations(t, s.Addr, "You Send:", 50, 6)
		fds = append(fds, fdCount(t, pid))
	}
	if fds[1] > fds[0] {
		t.Errorf("parent's descriptors grew from %d to %d", fds[0], fds[1])
	}
	var victim int
	for p := range waitChildren(t, pid, 3) {
		victim = p
		break
	}
	unix.Kill(victim, unix.SIGKILL)
	s.WaitOutput(t, fmt.Sprintf("Reaped child process: %d: killed by signal 9 (SIGKILL)", victim))
	deadline := time.Now().Add(10 * time.Second)
	for {
		kids := waitChildren(t, pid, 3)
		if _, still := kids[victim]; !still {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d not replaced", victim)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := converse(s.Addr, "You Send:", 100); err != nil {
		t.Fatal(err)
	}
	s.Cmd.Process.Signal(syscall.SIGTERM)
	if code := s.WaitStopped(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	out := s.Out.String()
	for _, want := range []string{"served 101 connections", "1 child process crashed or killed", "reaped 4 children"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, tail(out, 10))
		}
	}
	if n := len(forkedWorkers(out)); n != 4 {
		t.Errorf("%d workers forked, want 4 (3 and a replacement)", n)
	}
}

var workerRE = regexp.MustCompile(`(?m)^Forked worker process: (\d+)`)

func forkedWorkers(out string) []string {
	var pids []string
	for _, m := range workerRE.FindAllStringSubmatch(out, -1) {
		pids = append(pids, m[1])
	}
	return pids
}

// TestForkDemo: the lines of fork.py, from two processes; the child's
// increment of the counter is not seen by the parent; the child is reaped.
func TestForkDemo(t *testing.T) {
	t.Parallel()
	out, stderr, code := runNetprog(t, "", "fork-demo", "-sleep", "100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`(?m)^Before the fork my pid is: (\d+)$`).FindStringSubmatch(out)
	p := regexp.MustCompile(`(?m)^Hello from the parent my pid is: (\d+)$`).FindStringSubmatch(out)
	c := regexp.MustCompile(`(?m)^Hello from the child my pid is: (\d+)$`).FindStringSubmatch(out)
	if m == nil || p == nil || c == nil {
		t.Fatalf("missing a hello line:\n%s", out)
	}
	if p[1] != m[1] || c[1] == m[1] {
		t.Errorf("parent pid %s, child pid %s, before the fork %s: want the parent's the same, the child's different", p[1], c[1], m[1])
	}
	if n := strings.Count(out, "Hello from both of us:\n"); n != 2 {
		t.Errorf("%d 'Hello from both of us:' lines, want 2:\n%s", n, out)
	}
	for _, want := range []string{"Child: counter incremented to 1", "Parent: counter is still 0",
		"Parent: reaped child " + c[1] + " with wait4 (exit status 0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Before the fork") != 1 {
		t.Errorf("'Before the fork' printed more than once:\n%s", out)
	}
	// The README's run of it: the same lines, in whichever order the two
	// processes got to them.
	checkReadmeOutput(t, "fork-demo", "cmd/netprog/fork_test.go", outputBlock("./netprog fork-demo -sleep 100ms", out),
		func(readme, run string) bool {
			a, b := strings.Split(maskNumbers(readme), "\n"), strings.Split(maskNumbers(run), "\n")
			slices.Sort(a)
			slices.Sort(b)
			return slices.Equal(a, b)
		})
}

// TestZombieDemoReap: the child is seen as a zombie in /proc, then reaped
// with wait4, and its /proc entry is gone.
func TestZombieDemoReap(t *testing.T) {
	t.Parallel()
	out, stderr, code := runNetprog(t, "", "zombie-demo", "-sleep", "50ms", "-reap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`child pid will be (\d+)`).FindStringSubmatch(out)
	parent := regexp.MustCompile(`Before the fork my PID is: (\d+)`).FindStringSubmatch(out)
	if m == nil || parent == nil {
		t.Fatalf("no pids in:\n%s", out)
	}
	for _, want := range []string{
		"See it with: ps -o pid,ppid,stat,cmd --ppid " + parent[1],
		"state in /proc/" + m[1] + "/stat: Z (zombie)",
		"Reaped child process: " + m[1] + " (exit status 0)",
		"/proc/" + m[1] + " is gone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	checkReadmeOutput(t, "zombie-demo", "cmd/netprog/fork_test.go", outputBlock("./netprog zombie-demo -sleep 50ms -reap", out), nil)
}

// TestZombieDemoSubreaper: without -reap the parent exits and leaves its
// zombie; the kernel re-parents it to the nearest subreaper. The test
// process declares itself one (prctl PR_SET_CHILD_SUBREAPER, undone at the
// end), finds the zombie among its own children, and reaps it.
//
// Not parallel: while the test process is a subreaper, every process that
// another test orphans would become its child (and its zombie).
func TestZombieDemoSubreaper(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	out, stderr, code := runNetprog(t, "", "zombie-demo", "-sleep", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`child pid will be (\d+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Exiting without reaping") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	child, _ := strconv.Atoi(m[1])
	ppid, state, err := procStatus(child)
	if err != nil {
		t.Fatalf("the orphaned zombie %d is not in /proc: %v", child, err)
	}
	if ppid != os.Getpid() || state != 'Z' {
		t.Fatalf("orphan %d: parent %d state %c, want parent %d (the subreaper) and Z", child, ppid, state, os.Getpid())
	}
	var ws unix.WaitStatus
	if pid, err := unix.Wait4(child, &ws, 0, nil); err != nil || pid != child {
		t.Fatalf("wait4(%d) = %d, %v", child, pid, err)
	}
	if _, err := os.Stat("/proc/" + m[1]); err == nil {
		t.Errorf("/proc/%d still there after the subreaper reaped it", child)
	}
}

// TestProcDemoBadFlags: a negative sleep is a usage error.
func TestProcDemoBadFlags(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"fork-demo", "zombie-demo"} {
		_, stderr, code := runNetprog(t, "", cmd, "-sleep", "-1s")
		if code != 2 || !strings.Contains(stderr, `invalid value "-1s" for flag -sleep: a duration cannot be negative`) {
			t.Errorf("%s -sleep -1s: exit %d, stderr %q", cmd, code, stderr)
		}
	}
}

// TestForkChildCodeStaysOutOfTheRuntime: the code every forked child runs
// (every function marked //netprog:forkchild: the fork, prefork and passfd
// children, the demos' children, sys.rawFork which returns into the child
// after clone) reaches no stack check, allocation,
// write barrier or race hook, as compiled in the binary the tests run and
// in a -race build of it (where copy() would become runtime.slicecopy,
// which checks the stack): see internal/forkcheck. (go test strips its own
// test binaries' symbols, hence the builds.)
func TestForkChildCodeStaysOutOfTheRuntime(t *testing.T) {
	t.Parallel()
	bins := []string{netprogBin}
	if testing.Short() {
		t.Log("-short: not building the -race variant")
	} else {
		bins = append(bins, raceBinary(t))
	}
	roots, err := forkcheck.Roots(".") // every function marked //netprog:forkchild
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range bins {
		res, err := forkcheck.Check(bin, forkcheck.Pattern(roots), map[string]bool{"netprog/sys.rawFork": true})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(bin), err)
		}
		for _, want := range []string{"netprog/internal/demo.forkDemoChild", "netprog/servers.forkChild", "netprog/servers.preforkChild",
			"netprog/servers.respondChild", "netprog/internal/protocol.(*ChildEcho).Respond", "netprog/sys.ChildSend", "netprog/sys.resetSignalsInChild", "syscall.RawSyscall6"} {
			if !slices.Contains(res.Functions, want) {
				t.Errorf("%s: the walk did not reach %s; it saw %v", filepath.Base(bin), want, res.Functions)
			}
		}
		t.Logf("%s: %d functions checked: %s", filepath.Base(bin), len(res.Functions), strings.Join(res.Functions, " "))
	}
}

// TestPreforkCrashLoopBrake: when workers die faster than one set per
// second, the parent says so and waits a second before forking again,
// instead of forking in a loop; then it restores the pool and serves.
func TestPreforkCrashLoopBrake(t *testing.T) {
	t.Parallel()
	s := startServer(t, "echo-server", "-model", "prefork", "-workers", "2", "-host", "127.0.0.1", "-port", "0", "-q")
	pid := s.Cmd.Process.Pid
	// Kill the pool until the brake comes on: twice should do, but a
	// loaded machine may spread two rounds over more than a second.
	var lastKill time.Time
	for round := 1; !strings.Contains(s.Out.String(), "Workers are dying fast"); round++ {
		if round > 10 {
			t.Fatalf("10 rounds of killed workers and no brake:\n%s", tail(s.Out.String(), 10))
		}
		kids := waitChildren(t, pid, 2)
		lastKill = time.Now()
		for p := range kids {
			unix.Kill(p, unix.SIGKILL)
		}
		// The parent reaps them, then either brakes or forks two more:
		// wait for one or the other before deciding on another round.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := s.Out.String()
			if strings.Count(out, "Reaped child process:") >= 2*round &&
				(strings.Contains(out, "Workers are dying fast") || strings.Count(out, "Forked worker process:") >= 2+2*round) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("killed workers neither replaced nor braked for within 10s:\n%s", out)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The brake runs from the last death, which came after the last kill.
	waitChildren(t, pid, 2)
	if d := time.Since(lastKill); d < 900*time.Millisecond {
		t.Errorf("the pool was back %v after the last kill, want a second's brake", d)
	}
	if err := converse(s.Addr, "You Send:", 1); err != nil {
		t.Fatal(err)
	}
}
