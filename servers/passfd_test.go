package servers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/servers"
)

// The passfd model in this process: its workers are real forks of the test
// binary (under -race too), receiving connections over their socketpairs.
// Helpers from fork_test.go (startForkServer checks at stop that no child
// is left) and models_test.go.

// workers waits until the log names n forked workers and returns them.
func (s *forkServer) workers(t *testing.T, n int) []int {
	t.Helper()
	var pids []int
	waitUntil(t, fmt.Sprintf("%d workers forked", n), func() bool {
		pids = forkedPids(s.Log.String())
		return len(pids) >= n
	})
	return pids
}

// TestPassfdProtocol: every family: the message rule with a prefix and q
// (pipelined lines, a message without newline, a quit after a line in the
// same write), byte-exact raw echo of 1 MiB and of a one-byte dribble, and
// the counts (bytes are counted by the workers in shared memory).
func TestPassfdProtocol(t *testing.T) {
	for _, fam := range testFamilies {
		t.Run(fam.name, func(t *testing.T) {
			framed := startForkServer(t, "passfd", servers.Config{Addr: fam.addr(t), Workers: 2,
				Proto: servers.Protocol{Prefix: "you send:", Quit: true}})
			framedConversation(t, framed.dial(t))
			if st := framed.stop(t); st.Conns.Load() != 1 || st.Bytes.Load() != framedConversationBytes || st.Children.Load() != 2 {
				t.Errorf("framed: Conns %d Bytes %d Children %d, want 1, %d, 2",
					st.Conns.Load(), st.Bytes.Load(), st.Children.Load(), framedConversationBytes)
			}

			raw := startForkServer(t, "passfd", servers.Config{Addr: fam.addr(t), Workers: 2,
				Proto: servers.Protocol{Raw: true}})
			if err := echoBytes(raw.dial(t), randomBytes(1<<20), 64<<10); err != nil {
				t.Errorf("1 MiB: %v", err)
			}
			if err := echoBytes(raw.dial(t), randomBytes(200), 1); err != nil {
				t.Errorf("dribble: %v", err)
			}
			if st := raw.stop(t); st.Conns.Load() != 2 || st.Bytes.Load() != 1<<20+200 {
				t.Errorf("raw: Conns %d Bytes %d, want 2 and %d", st.Conns.Load(), st.Bytes.Load(), 1<<20+200)
			}
		})
	}
}

// TestPassfdFreeWorkerGetsTheNext: with two workers both busy, a third
// client waits in the listen queue (no reply); when one of the first two
// quits, its worker reports back free and the waiting client is passed to
// it.
func TestPassfdFreeWorkerGetsTheNext(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 2,
		Proto: servers.Protocol{Prefix: ">", Quit: true}})
	a, b := s.dial(t), s.dial(t)
	for _, c := range []net.Conn{a, b} {
		io.WriteString(c, "hi\n")
		readN(t, c, 4)
	}
	third := s.dial(t)
	io.WriteString(third, "me too\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var buf [16]byte
	if n, err := third.Read(buf[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a third client was answered (%q, %v) while both workers were busy", buf[:n], err)
	}
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(a, "q\n")
	wantEOF(t, a)
	if got := readN(t, third, 8); got != ">me too\n" {
		t.Errorf("third client: got %q", got)
	}
	var passed []string
	// The parent logs a pass after sendmsg returns: the worker may have
	// answered before that.
	waitUntil(t, "three connections passed", func() bool {
		passed = passed[:0]
		for _, l := range strings.Split(s.Log.String(), "\n") {
			if _, w, ok := strings.Cut(l, ": passed to "); ok {
				passed = append(passed, w)
			}
		}
		return len(passed) >= 3
	})
	if len(passed) != 3 || passed[2] != passed[0] {
		t.Errorf("connections passed to %q: want the third to go to the first one's worker", passed)
	}
}

// TestPassfdWorkerDescriptors: a worker keeps only 0, 1, 2 and its end of
// the channel (close_range); while it serves, the client's socket too,
// received over the channel.
func TestPassfdWorkerDescriptors(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 1,
		Proto: servers.Protocol{Prefix: ">", Quit: true}})
	pid := s.workers(t, 1)[0]
	sockets := func(want int) {
		t.Helper()
		var fds []int
		waitUntil(t, fmt.Sprintf("worker %d has descriptors %v, want 0 1 2 and %d sockets", pid, fds, want), func() bool {
			fds = openFds(t, pid)
			if len(fds) != 3+want || fds[0] != 0 || fds[1] != 1 || fds[2] != 2 {
				return false
			}
			for _, fd := range fds[3:] {
				link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
				if !strings.HasPrefix(link, "socket:") {
					return false
				}
			}
			return true
		})
	}
	sockets(1)
	c := s.dial(t)
	io.WriteString(c, "hi\n")
	readN(t, c, 4)
	sockets(2)
	io.WriteString(c, "q\n")
	wantEOF(t, c)
	sockets(1)
}

// TestPassfdIdleAndReset: with a single worker, a client that resets
// mid-message, one that says nothing and one that never reads its echo
// each end (the last two after the idle timeout: SO_RCVTIMEO and
// SO_SNDTIMEO, set by the parent before passing the socket), and the
// worker is free for the next client each time.
func TestPassfdIdleAndReset(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 1,
		IdleTimeout: 300 * time.Millisecond, Proto: servers.Protocol{Raw: true}})
	next := func(what string) {
		t.Helper()
		if err := echoBytes(s.dial(t), []byte("next\n"), 64); err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
	}
	resetMidMessage(s.dial(t))
	next("a reset")

	start := time.Now() // before the dial: the server's clock cannot start earlier
	silent := s.dial(t)
	wantEOF(t, silent)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("silent client closed after %v, before the idle timeout", d)
	}
	next("a silent client")

	flood := s.dial(t)
	go io.Copy(flood, strings.NewReader(strings.Repeat("x", 16<<20))) // never reads
	flood.SetReadDeadline(time.Now().Add(20 * time.Second))
	next("a client that never reads")
	if pids := forkedPids(s.Log.String()); len(pids) != 1 {
		t.Errorf("workers forked: %v, want one for all of it", pids)
	}
}

// TestPassfdReplacesDeadWorkers: a worker killed while idle and one killed
// while serving are reaped (the log says how they ended), leave the pool
// (their channels read end of file) and are replaced; the killed worker's
// client sees its connection end; the others are served. Nothing is left
// a zombie.
func TestPassfdReplacesDeadWorkers(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 2,
		Proto: servers.Protocol{Prefix: ">", Quit: true}})
	pids := s.workers(t, 2)
	busy := s.dial(t)
	io.WriteString(busy, "hi\n")
	readN(t, busy, 4)
	var serving int
	waitUntil(t, "no worker serving", func() bool {
		for _, pid := range pids {
			if len(openFds(t, pid)) == 5 {
				serving = pid
				return true
			}
		}
		return false
	})
	idle := pids[0]
	if idle == serving {
		idle = pids[1]
	}
	unix.Kill(idle, unix.SIGKILL)
	s.Log.waitFor(t, fmt.Sprintf("Reaped child process: %d: killed by signal 9 (SIGKILL)", idle))
	s.Log.waitFor(t, fmt.Sprintf("Worker %d left the pool", idle))
	unix.Kill(serving, unix.SIGTERM)
	s.Log.waitFor(t, fmt.Sprintf("Reaped child process: %d: killed by signal 15 (SIGTERM)", serving))
	var buf [8]byte
	if n, err := busy.Read(buf[:]); err == nil {
		t.Errorf("the killed worker's client read %q", buf[:n])
	}
	s.workers(t, 4)
	for i := range 6 {
		c := s.dial(t)
		io.WriteString(c, fmt.Sprintf("after %d\n", i))
		if got, want := readN(t, c, 9), fmt.Sprintf(">after %d\n", i); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		c.Close()
	}
	for _, pid := range []int{idle, serving} {
		if ppid, state, err := procStat(pid); err == nil && ppid == os.Getpid() {
			t.Errorf("killed worker %d still here, state %c", pid, state)
		}
	}
	if st := s.stop(t); st.Children.Load() != 4 {
		t.Errorf("%d children reaped, want 4", st.Children.Load())
	}
}

// TestPassfdNoZombiesNoDescriptorGrowth: three rounds of 100 connections,
// 10 at a time, over 4 workers; after each, the parent (this process) has
// no zombie child, and its descriptors do not grow from the second round to
// the third (the first warms up the runtime and the spare descriptor).
func TestPassfdNoZombiesNoDescriptorGrowth(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 4,
		Proto: servers.Protocol{Raw: true}})
	pids := s.workers(t, 4)
	round := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for w := range 10 {
			wg.Go(func() {
				for i := range 10 {
					c, err := net.DialTimeout("tcp", s.Addr.String(), 10*time.Second)
					if err != nil {
						errs <- err
						return
					}
					c.SetDeadline(time.Now().Add(30 * time.Second))
					if err := echoBytes(c, []byte(fmt.Sprintf("%d.%d\n", w, i)), 64); err != nil {
						errs <- err
					}
					c.Close()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, pid := range pids {
			if _, state, err := procStat(pid); err != nil || state == 'Z' {
				t.Fatalf("worker %d: state %c, %v", pid, state, err)
			}
		}
	}
	round()
	round()
	second := descriptorsOpen(t)
	round()
	third := 0
	waitUntil(t, "descriptors grew from the second round to the third", func() bool {
		third = descriptorsOpen(t)
		return third <= second
	})
	if got := len(forkedPids(s.Log.String())); got != 4 {
		t.Errorf("%d workers forked for 300 connections, want the 4 of the pool", got)
	}
	if st := s.stop(t); st.Conns.Load() != 300 {
		t.Errorf("Conns %d, want 300", st.Conns.Load())
	}
}

// TestPassfdStop: a stop with every worker busy and a client waiting in
// the queue ends the workers (SIGTERM), reaps them all, says so in one line
// (not a SIGTERM line per worker), and every client sees its connection
// end.
func TestPassfdStop(t *testing.T) {
	s := startForkServer(t, "passfd", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 2,
		Proto: servers.Protocol{Raw: true}})
	var conns []net.Conn
	for i := range 2 {
		c := s.dial(t)
		if err := echoExact(c, []byte(fmt.Sprintf("busy %d\n", i)), 64); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waiting := s.dial(t)
	io.WriteString(waiting, "waiting\n")
	conns = append(conns, waiting)
	st := s.stop(t) // fails the test if a worker is still a child of ours
	if st.Children.Load() != 2 {
		t.Errorf("%d children reaped, want 2", st.Children.Load())
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Errorf("client %d after the stop: %v", i, err)
		}
	}
	if !strings.Contains(s.Log.String(), "Stopped 2 workers") || strings.Contains(s.Log.String(), "SIGTERM") {
		t.Errorf("the log does not say the workers were ended:\n%s", s.Log)
	}
}

// TestPassfdPrefixTooLong: a prefix the worker's buffer cannot hold is an
// error at start, before any fork.
func TestPassfdPrefixTooLong(t *testing.T) {
	m, _ := servers.Lookup("passfd")
	_, err := m(context.Background(), servers.Config{Addr: mustResolve(t, "127.0.0.1:0"),
		Proto: servers.Protocol{Prefix: strings.Repeat("x", 257)}})
	if err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("passfd with a 257-byte prefix: %v, want an error about the prefix", err)
	}
}
