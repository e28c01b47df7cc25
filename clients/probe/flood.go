package probe

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Flood writes to a connection without ever reading it, in the
// background: the slow reader, and the client stuck while the server
// writes to it. Written counts what went out; Done gives the final error
// (nil once N bytes are out, the deadline, or the server's close or reset).
type Flood struct {
	Written atomic.Int64
	Done    <-chan error
	stop    atomic.Bool
	N       int64
}

// FloodData is what floods write: lines of 1023 filler bytes and a
// newline (lines true), or filler alone (a raw echo's flood).
func FloodData(p Protocol, lines bool) []byte {
	buf := bytes.Repeat([]byte{p.filler()}, 64<<10)
	if lines {
		for i := 1023; i < len(buf); i += 1024 {
			buf[i] = '\n'
		}
	}
	return buf
}

// StartFlood begins writing data, round after round, until n bytes are
// out, the connection's deadline, a failure, or Stop.
func (c *Conn) StartFlood(data []byte, n int64) *Flood {
	done := make(chan error, 1)
	f := &Flood{Done: done, N: n}
	// The writer has the descriptor and the deadline as they are now: the
	// connection is not touched from two goroutines (Stop the flood before
	// closing or resetting it).
	fd, deadline := c.fd, c.deadline
	go func() {
		for f.Written.Load() < n && !f.stop.Load() {
			chunk := data[:min(int64(len(data)), n-f.Written.Load())]
			m, err := sys.Send(fd, chunk, 0)
			f.Written.Add(int64(m))
			if err != nil && !sys.IsTemporary(err) {
				done <- err
				return
			}
			if m < len(chunk) {
				// Full: wait for room, a little at a time, so that Stop
				// is seen.
				if time.Now().After(deadline) {
					done <- &TimeoutError{"send"}
					return
				}
				if _, err := waitFd(fd, unix.POLLOUT, minTime(deadline, time.Now().Add(50*time.Millisecond)), "send"); err != nil && !IsTimeout(err) {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	return f
}

// Stop ends the flood and waits for its writer.
func (f *Flood) Stop() error {
	f.stop.Store(true)
	err := <-f.Done
	ch := make(chan error, 1)
	ch <- err
	f.Done = ch
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// StallQuiet is how long the counters of floods must stand still before
// they are called stalled: the server stopped reading (backpressure). A
// pause of the server this long on a busy machine only makes the stall be
// called early, at a lower count; it never turns into a finding (a
// finding is a flood that did not stall at all).
const StallQuiet = 500 * time.Millisecond

// Stalled waits until the floods' counters have not moved for StallQuiet,
// or each flood has written its N; it returns their sum and whether all
// finished (no backpressure). It gives up at the deadline.
func Stalled(deadline time.Time, fs ...*Flood) (total int64, finished bool, err error) {
	last, since := int64(-1), time.Now()
	for {
		v, full := int64(0), true
		for _, f := range fs {
			v += f.Written.Load()
			full = full && f.Written.Load() >= f.N
		}
		if full {
			return v, true, nil
		}
		if v != last {
			last, since = v, time.Now()
		} else if time.Since(since) >= StallQuiet {
			return v, false, nil
		}
		if time.Now().After(deadline) {
			return v, false, fmt.Errorf("the writes neither stalled nor finished by the deadline (%s written)", MiB(v))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DrainEcho reads the echo of what a flood (or anything made of the
// protocol's filler and newlines) wrote, until n payload bytes (filler
// and newlines) have come back, the server closes, or the deadline:
// the polite way out for a slow reader, which leaves the server nothing
// half-sent.
func (c *Conn) DrainEcho(p Protocol, n int64) (got int64, err error) {
	fill := p.filler()
	buf := make([]byte, 64<<10)
	for got < n {
		m, err := c.Read(buf)
		for _, b := range buf[:m] {
			if b == fill || b == '\n' {
				got++
			}
		}
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// BulkEcho sends n bytes of filler lines on a fresh connection while
// reading their echo, and checks that all n came back.
func BulkEcho(a sys.Addr, p Protocol, n int64, deadline time.Time) error {
	c, err := Dial(a, deadline, DialOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	f := c.StartFlood(FloodData(p, true), n)
	got, rerr := c.DrainEcho(p, n)
	werr := <-f.Done
	if werr != nil {
		return fmt.Errorf("write: %v", werr)
	}
	if rerr != nil {
		return fmt.Errorf("%d of %d bytes echoed: %v", got, n, rerr)
	}
	return nil
}

// MiB shows a byte count in MiB with one decimal.
func MiB(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

// TCPBuffers is what the socket buffers between a client and a server can
// hold at their autotuning maxima (the client's send buffer, the server's
// receive buffer, the server's send buffer): a flood larger than this can
// only be taken by a server that reads on without sending.
func TCPBuffers() int64 {
	return sysctlMax("net.ipv4.tcp_rmem") + 2*sysctlMax("net.ipv4.tcp_wmem")
}

// FloodSize is how much a slow reader offers: at least 10 MiB, and 4 MiB
// more than the buffers on the way hold.
func FloodSize() int64 { return max(10<<20, TCPBuffers()+4<<20) }

// sysctlMax is the last number of a sysctl (tcp_rmem's maximum); 0 when it
// cannot be read.
func sysctlMax(name string) int64 {
	v, err := sys.Sysctl(name)
	if err != nil {
		return 0
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
	return n
}
