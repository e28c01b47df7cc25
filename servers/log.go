package servers

import (
	"fmt"
	"io"
	"strconv"
	"sync"

	"netprog/sys"
)

// logf prints one line of the server's log.
func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// logAddr logs prefix and then a, and logPid prefix, pid and suffix, as
// logf would. Into a heldLog they append in place, allocating nothing
// (logf's arguments escape to the heap): the forking parent logs a line
// per connection and per child, and after every fork each page it writes
// is a copy-on-write fault, so a line that allocates costs it a few.
func (c *Config) logAddr(prefix string, a sys.Addr) {
	if h, ok := c.Log.(*heldLog); ok {
		h.mu.Lock()
		h.buf = append(a.AppendTo(append(h.buf, prefix...)), '\n')
		h.mu.Unlock()
		return
	}
	c.logf("%s%s", prefix, a)
}

func (c *Config) logPid(prefix string, pid int, suffix string) {
	if h, ok := c.Log.(*heldLog); ok {
		h.mu.Lock()
		h.buf = append(append(strconv.AppendInt(append(h.buf, prefix...), int64(pid), 10), suffix...), '\n')
		h.mu.Unlock()
		return
	}
	c.logf("%s%d%s", prefix, pid, suffix)
}

// count renders n with its noun: "1 connection", "2 connections", "0
// connections".
func count[N int | int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// heldLog holds a loop's log lines until the loop is about to wait, then
// writes them with one write(2) (Flush): a forking server's wake-up (a
// child reaped, a connection received, a child forked) is then one write
// where it was three, and under strace the loop's own calls are not lost
// among its log's. Nothing is held across a wait, so the log is as prompt
// as the loop (a line another goroutine writes while the loop waits goes
// out at its next wake-up, or when it ends).
type heldLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (h *heldLog) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf = append(h.buf, p...)
	return len(p), nil
}

// Flush writes what is held.
func (h *heldLog) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) > 0 {
		h.w.Write(h.buf)
		h.buf = h.buf[:0]
	}
}

// holdLog makes cfg's log a heldLog (none if cfg has no log); flush is
// its Flush, or nothing.
func holdLog(cfg *Config) (flush func()) {
	if cfg.Log == nil {
		return func() {}
	}
	h := &heldLog{w: cfg.Log}
	cfg.Log = h
	return h.Flush
}
