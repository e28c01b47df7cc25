package demo

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// sleepUnlessDone sleeps for d with clock_nanosleep(2) on the main thread
// (tid, the process id), unless ctx ends first: it reports whether the
// whole sleep passed. A Ctrl-C may be taken by any thread of the process,
// and the context ends a moment later on yet another, so the main thread's
// sleep is not reliably interrupted by the signal itself: when ctx ends, a
// goroutine sends the main thread SIGURG (tgkill), which the Go runtime
// takes for a preemption request and otherwise ignores, and whose handler
// ends the sleep with EINTR. It repeats it until the sleeper has seen the
// end, in case the first one came just before the sleep began.
func sleepUnlessDone(ctx context.Context, tid int, d time.Duration) bool {
	woke := make(chan struct{})
	defer close(woke)
	go func() {
		select {
		case <-ctx.Done():
		case <-woke:
			return
		}
		for {
			unix.Tgkill(tid, tid, unix.SIGURG)
			select {
			case <-woke:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	for d > 0 && ctx.Err() == nil {
		var err error
		if d, err = sys.Nanosleep(d); err != nil {
			return false
		}
	}
	return d <= 0
}
