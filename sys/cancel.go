package sys

import "context"

// OnCancel runs f once when ctx ends, on a goroutine of its own: how a
// cancellation reaches a thread blocked in a system call, which no channel
// can wake. f makes that call return: shutdown(2) of a listening socket
// ends a blocked accept; a write to an eventfd (EventfdSignal) ends a
// select, poll, epoll_wait or io_uring_enter that watches it. The returned
// release ends the watch and waits for that goroutine: once it returns, f
// is not running and never will, so the caller may close the descriptors
// f would have touched without f reaching a number the kernel has since
// given to something else.
func OnCancel(ctx context.Context, f func()) (release func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			f()
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
