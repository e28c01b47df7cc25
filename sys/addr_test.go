package sys

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestResolveAddr(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", sunPathMax) // one byte past sun_path
	tests := []struct {
		in     string
		family int
		want   Addr   // when ok
		errHas string // when not: a piece of the message
	}{
		{in: "127.0.0.1:5090", want: addrTestInet4(127, 0, 0, 1, 5090)},
		{in: "[::1]:5090", want: Addr{Family: unix.AF_INET6, IP: netip.IPv6Loopback(), Port: 5090}},
		{in: "localhost:5090", want: addrTestInet4(127, 0, 0, 1, 5090)},
		{in: "localhost:5090", family: IPv6, want: Addr{Family: unix.AF_INET6, IP: netip.IPv6Loopback(), Port: 5090}},
		{in: ":5090", want: addrTestInet4(0, 0, 0, 0, 5090)},
		{in: ":5090", family: IPv6, want: Addr{Family: unix.AF_INET6, IP: netip.IPv6Unspecified(), Port: 5090}},
		{in: "0.0.0.0:5090", want: addrTestInet4(0, 0, 0, 0, 5090)},
		{in: "127.0.0.1:0", want: addrTestInet4(127, 0, 0, 1, 0)},
		{in: "[::ffff:127.0.0.1]:80", want: addrTestInet4(127, 0, 0, 1, 80)}, // mapped: taken as the IPv4 it is
		{in: "[fe80::1%lo]:80", want: Addr{Family: unix.AF_INET6, IP: netip.MustParseAddr("fe80::1%lo"), Port: 80}},
		// inet_aton's forms, which getaddrinfo (so ping and Python) take.
		{in: "127.1:80", want: addrTestInet4(127, 0, 0, 1, 80)},
		{in: "0x7f000001:80", want: addrTestInet4(127, 0, 0, 1, 80)},
		{in: "2130706433:80", want: addrTestInet4(127, 0, 0, 1, 80)},
		{in: "0177.0.0.01:80", want: addrTestInet4(127, 0, 0, 1, 80)},
		{in: "127.1.258:80", want: addrTestInet4(127, 1, 1, 2, 80)},
		{in: "0:80", want: addrTestInet4(0, 0, 0, 0, 80)},
		{in: "127.1:80", family: IPv6, errHas: "IPv6 (-6) was asked for"},
		{in: "unix:/tmp/echo.sock", want: Addr{Family: unix.AF_UNIX, Path: "/tmp/echo.sock"}},
		{in: "unix:" + long[:sunPathMax], want: Addr{Family: unix.AF_UNIX, Path: long[:sunPathMax]}},

		{in: "unix:" + long, errHas: "sun_path holds 107"},
		{in: "unix:", errHas: "empty unix socket path"},
		{in: "unix:/tmp/s", family: IPv4, errHas: "neither IPv4 nor IPv6"},
		{in: "127.0.0.1:70000", errHas: "port 70000 out of range 0-65535"},
		{in: "127.0.0.1:-1", errHas: "out of range"},
		{in: "127.0.0.1:abc", errHas: `port "abc" is not a number`},
		{in: "abc", errHas: "want host:port"},
		{in: "", errHas: "empty address"},
		{in: "127.0.0.1:", errHas: "missing port"},
		{in: "::1:5090", errHas: "want host:port"}, // an IPv6 literal needs its brackets
		{in: "[::1]:5090", family: IPv4, errHas: "IPv4 (-4) was asked for"},
		{in: "127.0.0.1:5090", family: IPv6, errHas: "IPv6 (-6) was asked for"},
		{in: "bad host:80", errHas: "not an IP address or host name"}, // rejected before any resolver
		{in: "[a/b]:80", errHas: "not an IP address or host name"},
	}
	for _, tt := range tests {
		got, err := ResolveAddr(tt.in, tt.family)
		if tt.errHas == "" {
			if err != nil || got != tt.want {
				t.Errorf("ResolveAddr(%q, %d) = %v, %v; want %v", tt.in, tt.family, got, err, tt.want)
			}
			continue
		}
		var ae *AddrError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("ResolveAddr(%q, %d) = %v, %v; want an *AddrError saying %q", tt.in, tt.family, got, err, tt.errHas)
		}
	}
}

// TestParseInetAton: what inet_aton(3) refuses, netprog refuses too (such a
// string then goes to the resolver as a name).
func TestParseInetAton(t *testing.T) {
	for _, s := range []string{"", ".", "127.", "127..1", "256.1", "1.2.3.4.5", "1.2.3.256", "1.2.65536", "08", "0x", "0x1g", "4294967296", "-1", "+1", "1 .2"} {
		if ip, ok := parseInetAton(s); ok {
			t.Errorf("parseInetAton(%q) = %v, want refused", s, ip)
		}
	}
}

func TestAddrString(t *testing.T) {
	tests := []struct {
		a    Addr
		want string
	}{
		{addrTestInet4(127, 0, 0, 1, 8090), "127.0.0.1:8090"},
		{Addr{Family: unix.AF_INET6, IP: netip.IPv6Loopback(), Port: 5090}, "[::1]:5090"},
		{Addr{Family: unix.AF_UNIX, Path: "/tmp/echo.sock"}, "unix:/tmp/echo.sock"},
		{Addr{Family: unix.AF_UNIX}, "unix:(unnamed)"},
		{Addr{}, "(no address)"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// TestAddrSockaddrRoundTrip: what we hand the kernel comes back as it was.
func TestAddrSockaddrRoundTrip(t *testing.T) {
	for _, a := range []Addr{
		addrTestInet4(127, 0, 0, 1, 8090),
		{Family: unix.AF_INET6, IP: netip.IPv6Loopback(), Port: 5090},
		{Family: unix.AF_UNIX, Path: "/tmp/echo.sock"},
	} {
		if got := AddrFrom(a.Sockaddr()); got != a {
			t.Errorf("AddrFrom(%v.Sockaddr()) = %v", a, got)
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"5090", 5090, true}, {"65535", 65535, true},
		{"65536", 0, false}, {"70000", 0, false}, {"-1", 0, false},
		{"abc", 0, false}, {"", 0, false}, {"5090x", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePort(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePort(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func addrTestInet4(a, b, c, d byte, port int) Addr {
	return Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{a, b, c, d}), Port: port}
}
