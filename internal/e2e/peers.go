package e2e

import (
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The peers that stress a server: a client that writes and never reads,
// one whose receive window is small (so that the server's replies stall
// early, instead of the kernel soaking up megabytes).

// SmallWindowDial connects with a 4 KiB receive buffer, set before the
// connect so the window stays small. The connection is closed when the
// test ends.
func SmallWindowDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: Wait, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
		})
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Flood writes to c without ever reading, until n bytes are written or a
// write fails (its deadline d, or the server closing); line puts a newline
// every KiB. It returns a counter of the bytes written and a channel for
// the final error.
func Flood(c net.Conn, n int64, line bool, d time.Duration) (*atomic.Int64, <-chan error) {
	var written atomic.Int64
	done := make(chan error, 1)
	c.SetWriteDeadline(time.Now().Add(d))
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = 'x'
		if line && i%1024 == 1023 {
			buf[i] = '\n'
		}
	}
	go func() {
		for written.Load() < n {
			m, err := c.Write(buf)
			written.Add(int64(m))
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return &written, done
}

// Stalled waits until the counters have not moved for quiet (the server
// stopped reading: backpressure) or each reached limit; it returns their
// sum, and fails the test after 30s.
func Stalled(t testing.TB, limit int64, quiet time.Duration, ns ...*atomic.Int64) int64 {
	t.Helper()
	deadline := time.Now().Add(3 * Wait)
	last, since := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		v, full := int64(0), true
		for _, n := range ns {
			v += n.Load()
			full = full && n.Load() >= limit
		}
		if full {
			return v
		}
		if v != last {
			last, since = v, time.Now()
		} else if time.Since(since) > quiet {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the writes neither stalled nor finished in %v (%d bytes)", 3*Wait, last)
	return 0
}
