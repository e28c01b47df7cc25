package e2e

import (
	"testing"

	"netprog/sys"
)

// NeedUring skips the test when this kernel (or a seccomp filter, or
// sysctl kernel.io_uring_disabled) refuses io_uring.
func NeedUring(t testing.TB) {
	t.Helper()
	r, err := sys.NewRing(2, 0, 0)
	if err != nil {
		u, _ := sys.Uname()
		t.Skipf("io_uring unavailable on Linux %s: %v", u.Release, err)
	}
	r.Close()
}
