package e2e

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// The concurrent-client harness: many clients at once, each in a
// goroutine of its own, and a barrier that holds them until all have
// got so far (so that a server must serve them all at the same time).

// Concurrently runs f(0) ... f(n-1) at once and returns the errors they
// returned, in the order they came (none: an empty slice).
func Concurrently(n int, f func(i int) error) []error {
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	all := []error{}
	for err := range errs {
		all = append(all, err)
	}
	return all
}

// Failed sums up what Concurrently returned for n clients: nil if none
// failed, else how many did and the first three errors.
func Failed(errs []error, n int) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d clients failed, first: %w", len(errs), n, errors.Join(errs[:min(3, len(errs))]...))
}

// Barrier holds goroutines until n have arrived.
type Barrier struct {
	mu      sync.Mutex
	n       int
	release chan struct{}
}

// NewBarrier is a barrier for n arrivals.
func NewBarrier(n int) *Barrier { return &Barrier{n: n, release: make(chan struct{})} }

// Arrive counts one arrival without waiting (a client that failed before
// the barrier arrives too, so that the others are not held for ever).
func (b *Barrier) Arrive() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n--; b.n == 0 {
		close(b.release)
	}
}

// Released is closed once all n have arrived.
func (b *Barrier) Released() <-chan struct{} { return b.release }

// Wait arrives and waits (at most d) for the others.
func (b *Barrier) Wait(d time.Duration) error {
	b.Arrive()
	select {
	case <-b.release:
		return nil
	case <-time.After(d):
		return fmt.Errorf("not every client got this far within %v", d)
	}
}
