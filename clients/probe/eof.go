package probe

// The end of file: a client that shuts down its sending side without q.
// The peer, and the probe that judges whether the server closed, sent
// more, or spun on the empty read.

import (
	"fmt"
	"io"
	"time"
)

// spinCPU is the CPU a server may use while it has nothing to do, over
// the window of the end-of-file probe, before it is said to spin: 10% of
// the window. An idle server uses none; one that loops on the empty read
// takes what the scheduler gives it, far more on any machine.
const spinShare = 10

// EOFRun is what the end-of-file peer saw.
type EOFRun struct {
	Closed bool          // the server closed its side
	After  int64         // bytes it sent after our end of file
	First  []byte        // the first of them
	Took   time.Duration // until the close, or the window
	CPU    time.Duration // the server's CPU meanwhile (with a Proc)
	Err    error
}

// EndOfFile sends our end of file on c (shutdown SHUT_WR) and watches for
// the server's close for at most window, reading (and counting) what it
// sends meanwhile, up to 64 KiB: more is spinning, whatever the clock.
func EndOfFile(c *Conn, window time.Duration, p *Proc) EOFRun {
	var run EOFRun
	var cpu0 time.Duration
	if p != nil {
		cpu0 = p.CPU()
	}
	start := time.Now()
	if err := c.CloseWrite(); err != nil {
		run.Err = err
		return run
	}
	c.SetDeadline(start.Add(window))
	buf := make([]byte, 16<<10)
	for run.After < 64<<10 {
		n, err := c.Read(buf)
		if len(run.First) < 40 {
			run.First = append(run.First, buf[:min(n, 40-len(run.First))]...)
		}
		run.After += int64(n)
		if err == io.EOF || (err != nil && !IsTimeout(err)) {
			run.Closed = true
			break
		}
		if err != nil {
			break
		}
	}
	run.Took = time.Since(start)
	if p != nil {
		run.CPU = p.CPU() - cpu0
	}
	return run
}

func probeQuitEOF(s *Session) Result {
	if s.T.Proto.Kind == Chat {
		return chatEOF(s)
	}
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	c, r, ok := s.askFirst("before the end of file\n", DialOptions{})
	if !ok {
		return r
	}
	defer c.Close()
	run := EndOfFile(c, quitWait, s.proc())
	fig := figures("closed", run.Closed, "after", run.After, "cpu", run.CPU, "window", run.Took)
	cpu := ""
	if s.proc() != nil && (!run.Closed || run.CPU > 0) {
		cpu = fmt.Sprintf(" (the server used %s of CPU meanwhile)", ms(run.CPU))
	}
	// A tick is what one reading of the clock may add by chance (a
	// server that closed within 50 µs was once charged 10 ms).
	spins := s.proc() != nil && run.CPU > ClockTick && run.CPU*100 >= run.Took*spinShare
	switch {
	case run.Err != nil:
		return finding("shutdown: %v", run.Err)
	case run.After > 0:
		what := "and closed"
		if !run.Closed {
			what = "and went on"
		}
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("after our end of file the server sent %s (%s…) %s%s: it takes the empty read for a message and spins",
			sizeOf(run.After), Quote(run.First), what, cpu)}
	case run.Closed && spins:
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("closed %s after our end of file, but used %s of CPU meanwhile: it spins", ms(run.Took), ms(run.CPU))}
	case run.Closed:
		return Result{Status: Pass, Figures: fig, Fact: fmt.Sprintf("closed its side %s after our end of file, and sent nothing%s", ms(run.Took), cpu)}
	case spins:
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("the connection stayed open %s after our end of file, nothing sent, and the server used %s of CPU meanwhile: it spins on the empty read", ms(run.Took), ms(run.CPU))}
	case s.proc() != nil:
		return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("the connection stayed open %s after our end of file, nothing sent%s: the end of file went unnoticed", ms(run.Took), cpu)}
	}
	return Result{Status: Finding, Figures: fig, Fact: fmt.Sprintf("the connection stayed open %s after our end of file, nothing sent (-pid or -- would show whether the server spins)", ms(run.Took))}
}

// sizeOf is "9 bytes", "64 KiB or more".
func sizeOf(n int64) string {
	if n >= 64<<10 {
		return "64 KiB or more"
	}
	return plural(int(n), "byte", "bytes")
}
