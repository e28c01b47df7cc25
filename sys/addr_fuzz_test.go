package sys

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzResolveAddr feeds ResolveAddr arbitrary text. It must never panic;
// what it accepts must be a well-formed address that parses back to itself;
// what it refuses must be an *AddrError (a usage error) or a *ResolveError.
//
// No input may reach DNS while fuzzing: the system resolver is replaced by
// Go's own with a Dial that refuses, so a name that gets past the literal
// checks is answered from /etc/hosts or fails at once, with no packet sent.
func FuzzResolveAddr(f *testing.F) {
	var dials atomic.Int64
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("no DNS while fuzzing")
		},
	}
	f.Cleanup(func() { net.DefaultResolver = saved })

	for _, s := range []string{
		"127.0.0.1:5090", "[::1]:5090", "localhost:8090", ":5090", "0.0.0.0:0",
		"unix:/tmp/echo.sock", "unix:", "70000", "abc", "", "host:", "[fe80::1%eth0]:80",
		"no-such-host.invalid:80", "127.1:80", "0x7f000001:0", "0177.1:1",
	} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, fam int) {
		family := []int{AnyFamily, IPv4, IPv6}[uint(fam)%3]
		a, err := ResolveAddr(s, family)
		if err != nil {
			var ae *AddrError
			var re *ResolveError
			if !errors.As(err, &ae) && !errors.As(err, &re) {
				t.Fatalf("ResolveAddr(%q) error %T %v is neither *AddrError nor *ResolveError", s, err, err)
			}
			return
		}
		switch a.Family {
		case unix.AF_UNIX:
			if a.String() != s {
				t.Fatalf("ResolveAddr(%q) = %v, which prints differently", s, a)
			}
			return
		case unix.AF_INET, unix.AF_INET6:
		default:
			t.Fatalf("ResolveAddr(%q) = %#v: family %d", s, a, a.Family)
		}
		if a.Port < 0 || a.Port > 65535 || !a.IP.IsValid() {
			t.Fatalf("ResolveAddr(%q) = %#v: bad port or address", s, a)
		}
		if (a.Family == unix.AF_INET) != a.IP.Is4() {
			t.Fatalf("ResolveAddr(%q) = %#v: family does not match the address", s, a)
		}
		if family == IPv4 && a.Family != unix.AF_INET || family == IPv6 && a.Family != unix.AF_INET6 {
			t.Fatalf("ResolveAddr(%q, %d) = %v: not the family asked for", s, family, a)
		}
		again, err := ResolveAddr(a.String(), family)
		if err != nil || again != a {
			t.Fatalf("ResolveAddr(%q) = %v, but ResolveAddr(%q) = %v, %v", s, a, a.String(), again, err)
		}
	})
	if testing.Verbose() {
		f.Logf("resolver dials refused: %d", dials.Load())
	}
}
