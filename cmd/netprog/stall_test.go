package main

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// TestIdleAfterStall: a client that was not idle is not closed as idle,
// however late the server gets to run. Each case stops the server and its
// children (SIGSTOP) while the client acts, and continues them only once
// the idle timeout has passed; every model must see what the client did
// before it judges the client idle.
//
// Two pitfalls meet here. A process that was not running finds its timer
// expired and its socket ready at once, and must look at the socket first
// (Go's runtime may fire an expired deadline before it polls the network:
// the goroutine model checks the socket itself). And recv(2) and send(2)
// with SO_RCVTIMEO or SO_SNDTIMEO set fail with EINTR after a stop and
// continue, even with no signal handler (signal(7)): the blocking models
// and the forked children retry them.
func TestIdleAfterStall(t *testing.T) {
	t.Parallel()
	for _, m := range relModels() {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			t.Run("reading", func(t *testing.T) { stallRetry(t, m, stallReading) })
			t.Run("writing", func(t *testing.T) { stallRetry(t, m, stallWriting) })
		})
	}
}

// stallIdles are the servers' -idle-timeout in these tests, one a try:
// the case is set up within half of it (see stallStop), so a loaded
// machine that was too slow for the first gets a longer one; the case
// is never skipped.
var stallIdles = []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// errTooSlow says the test itself was too slow to set the case up before
// the server's idle timeout could rightly run out.
var errTooSlow = errors.New("the test process took too long to stop the server")

// stallRetry runs a case with each idle timeout in turn while the test
// process is too slow to set it up (a loaded machine). It fails if the
// last was still too short: a case that was never set up proved nothing.
func stallRetry(t *testing.T, m relModel, run func(*testing.T, relModel, time.Duration) error) {
	for _, idle := range stallIdles {
		err := run(t, m, idle)
		if err == nil {
			return
		}
		if !errors.Is(err, errTooSlow) {
			t.Fatal(err)
		}
		t.Logf("idle timeout %v: %v", idle, err)
	}
	t.Fatalf("the test process was too slow to set the case up within half of every idle timeout up to %v", stallIdles[len(stallIdles)-1])
}

// stallReading: the client sends a line while the server is stopped; the
// server, continued after its idle timeout, must answer it.
func stallReading(t *testing.T, m relModel, stallIdle time.Duration) error {
	s := relStart(t, m, "127.0.0.1", "-idle-timeout", stallIdle.String())
	defer relStop(t, s, syscall.SIGINT)
	c := relDial(t, s.Addr)
	defer c.Close()
	if err := relAsk(c, "before the stall"); err != nil {
		return err
	}
	// The server's idle clock starts at most now.
	idleFrom := time.Now()
	cont, err := stallStop(s, idleFrom, stallIdle)
	defer cont()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(c, "during the stall\n"); err != nil {
		return err
	}
	time.Sleep(time.Until(idleFrom.Add(stallIdle * 3 / 2)))
	cont()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	want := "You Send:during the stall\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		return fmt.Errorf("a line sent before the idle timeout, read after it: got %q, %v; want %q\n%s", got, err, want, tail(s.Out.String(), 5))
	}
	relAlive(t, s)
	return nil
}

// stallWriting: a client that does not read until the server is stuck
// sending its echo (raw mode), then reads some of it while the server is
// stopped: the server's send has room again, in time. Continued after its
// idle timeout, the server must go on sending, not close the client as
// one that stopped reading.
func stallWriting(t *testing.T, m relModel, stallIdle time.Duration) error {
	s := relStart(t, m, "127.0.0.1", "-raw", "-idle-timeout", stallIdle.String())
	defer relStop(t, s, syscall.SIGINT)
	c := relSmallWindowDial(t, s.Addr)
	defer c.Close()
	written, _ := relFlood(c, 1<<30, false, 60*time.Second)
	// Wait until the writes have not moved for 300ms. The server was stuck
	// sending (its idle clock running) a moment before they last moved:
	// filling its receive buffer and our send buffer takes milliseconds.
	last, moved := written.Load(), time.Now()
	for deadline := moved.Add(30 * time.Second); time.Since(moved) < 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the client's writes never stalled (%d bytes written)", last)
		}
		if v := written.Load(); v != last {
			last, moved = v, time.Now()
		}
	}
	cont, err := stallStop(s, moved.Add(-100*time.Millisecond), stallIdle)
	defer cont()
	if err != nil {
		return err
	}
	stoppedAt := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 256<<10)); err != nil {
		return fmt.Errorf("reading the echo while the server is stopped: %v", err)
	}
	time.Sleep(time.Until(stoppedAt.Add(stallIdle * 3 / 2)))
	cont()
	// The echo flows again, and goes on for longer than the idle timeout:
	// a server that closed the client would end it with the buffers.
	var read int64
	buf := make([]byte, 64<<10)
	for end := time.Now().Add(stallIdle + time.Second); time.Now().Before(end); {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		read += int64(n)
		if err != nil {
			return fmt.Errorf("the echo after the stall ended after %d bytes: %v\n%s", read, err, tail(s.Out.String(), 5))
		}
	}
	relAlive(t, s)
	return nil
}

// stallStop stops the server and its children with SIGSTOP and waits until
// they are stopped. It fails with errTooSlow if by then half the idle
// timeout has passed since the server's idle clock could have started
// (idleFrom). cont continues them (once; safe to call again).
func stallStop(s *server, idleFrom time.Time, stallIdle time.Duration) (cont func(), err error) {
	pid := s.Cmd.Process.Pid
	procs := append([]int{pid}, children(pid)...)
	for _, p := range procs {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	continued := false
	cont = func() {
		if !continued {
			continued = true
			for _, p := range procs {
				syscall.Kill(p, syscall.SIGCONT)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for {
			if _, state, err := procStatus(p); err != nil || state == 'T' {
				break
			}
			if time.Now().After(deadline) {
				return cont, fmt.Errorf("process %d did not stop within 10s", p)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if d := time.Since(idleFrom); d > stallIdle/2 {
		return cont, fmt.Errorf("%w: %v after the idle clock started", errTooSlow, d.Round(time.Millisecond))
	}
	return cont, nil
}
