package e2e

import (
	"strconv"
	"testing"
	"time"
)

// Eventually polls cond until it holds or d has passed, and reports
// whether it held. It polls often at first (a millisecond), then less
// (up to 20 ms): prompt when the condition is quick, cheap when it is not.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// Until waits (up to d) for cond, and fails the test with what's message
// if it never holds.
func Until(t testing.TB, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	if !Eventually(d, cond) {
		t.Fatalf("after %v: %s", d, what())
	}
}

// Quote is strconv.Quote.
func Quote(s string) string { return strconv.Quote(s) }
