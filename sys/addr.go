package sys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Addr is a socket address the programs can bind, connect or print: an IPv4
// or IPv6 address and port, or an AF_UNIX path.
type Addr struct {
	Family int        // unix.AF_INET, unix.AF_INET6 or unix.AF_UNIX
	IP     netip.Addr // AF_INET, AF_INET6
	Port   int        // AF_INET, AF_INET6
	Path   string     // AF_UNIX; "" for an unnamed socket
}

// String renders the address the way the programs print it:
// 127.0.0.1:8090, [::1]:5090, unix:/tmp/echo.sock.
func (a Addr) String() string {
	var buf [64]byte
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends String's text to b: a loop that logs an address per
// connection can do it without allocating.
func (a Addr) AppendTo(b []byte) []byte {
	switch a.Family {
	case unix.AF_UNIX:
		if a.Path == "" {
			return append(b, "unix:(unnamed)"...)
		}
		return append(append(b, "unix:"...), a.Path...)
	case unix.AF_INET, unix.AF_INET6:
		return netip.AddrPortFrom(a.IP, uint16(a.Port)).AppendTo(b)
	}
	return append(b, "(no address)"...)
}

// Sockaddr converts the address for golang.org/x/sys/unix.
func (a Addr) Sockaddr() unix.Sockaddr {
	switch a.Family {
	case unix.AF_INET:
		return &unix.SockaddrInet4{Port: a.Port, Addr: a.IP.As4()}
	case unix.AF_INET6:
		sa := &unix.SockaddrInet6{Port: a.Port, Addr: a.IP.As16()}
		if z := a.IP.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		return sa
	case unix.AF_UNIX:
		return &unix.SockaddrUnix{Name: a.Path}
	}
	return nil
}

// AddrFrom converts an address the kernel returned (accept4, getsockname,
// recvfrom) back into an Addr. An IPv4-mapped IPv6 address (::ffff:1.2.3.4)
// stays as the kernel gave it.
func AddrFrom(sa unix.Sockaddr) Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return Addr{Family: unix.AF_INET, IP: netip.AddrFrom4(sa.Addr), Port: sa.Port}
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				ip = ip.WithZone(ifi.Name)
			}
		}
		return Addr{Family: unix.AF_INET6, IP: ip, Port: sa.Port}
	case *unix.SockaddrUnix:
		return Addr{Family: unix.AF_UNIX, Path: sa.Name}
	}
	return Addr{}
}

// AddrError is a malformed or unusable address: a usage error, which the
// programs report in one line and exit 2 for.
type AddrError struct {
	Addr   string
	Reason string
}

func (e *AddrError) Error() string { return fmt.Sprintf("address %q: %s", e.Addr, e.Reason) }

// ResolveError is a host name the system resolver could not turn into an
// address of the wanted family.
type ResolveError struct {
	Host string
	Err  error
}

func (e *ResolveError) Error() string {
	if e.Host == "" {
		return fmt.Sprintf("resolve \"\": %v", e.Err)
	}
	return fmt.Sprintf("resolve %s: %v", e.Host, e.Err)
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Family preferences for ResolveAddr and ResolveHost.
const (
	AnyFamily = 0            // IPv4 unless the address is IPv6
	IPv4      = unix.AF_INET // -4
	IPv6      = unix.AF_INET6
)

// sunPathMax is the size of sockaddr_un.sun_path less its terminating NUL
// (unix(7)).
const sunPathMax = 107

// ResolveAddr parses "host:port", "[v6]:port", ":port" (the wildcard, the
// course's ""), or "unix:/path". family is AnyFamily, IPv4 or IPv6 (-4/-6).
// "localhost" means 127.0.0.1, or ::1 with IPv6: this is what the course
// means by it, and many /etc/hosts files have no "::1 localhost" line. Other
// names go to the system resolver. Port 0 asks the kernel for an ephemeral
// port.
func ResolveAddr(s string, family int) (Addr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		switch {
		case path == "":
			return Addr{}, &AddrError{s, "empty unix socket path"}
		case len(path) > sunPathMax:
			return Addr{}, &AddrError{s, fmt.Sprintf("unix socket path is %d bytes, sun_path holds %d", len(path), sunPathMax)}
		case family == IPv4 || family == IPv6:
			return Addr{}, &AddrError{s, "a unix socket path is neither IPv4 nor IPv6"}
		}
		return Addr{Family: unix.AF_UNIX, Path: path}, nil
	}
	if s == "" {
		return Addr{}, &AddrError{s, "empty address (want host:port)"}
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return Addr{}, &AddrError{s, "want host:port, [ipv6]:port or unix:/path"}
	}
	port, err := ParsePort(portStr)
	if err != nil {
		return Addr{}, &AddrError{s, err.Error()}
	}
	ip, err := ResolveHost(host, family)
	if err != nil {
		return Addr{}, err
	}
	return Addr{Family: familyOf(ip), IP: ip, Port: port}, nil
}

// ParsePort parses a decimal port number 0..65535.
func ParsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing port")
	}
	p, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	if p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %d out of range 0-65535", p)
	}
	return p, nil
}

// ResolveHost turns a host into one IP address: "" and "0.0.0.0" are the IPv4
// wildcard ("::" with IPv6), literals are taken as they are, "localhost" is
// the loopback address, and anything else is asked of the system resolver
// (this is the only use of package net in the project outside tests).
func ResolveHost(host string, family int) (netip.Addr, error) {
	switch host {
	case "":
		if family == IPv6 {
			return netip.IPv6Unspecified(), nil
		}
		return netip.IPv4Unspecified(), nil
	case "localhost":
		if family == IPv6 {
			return netip.IPv6Loopback(), nil
		}
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if err := checkFamily(host, ip, family); err != nil {
			return netip.Addr{}, err
		}
		return ip, nil
	}
	if ip, ok := parseInetAton(host); ok {
		if err := checkFamily(host, ip, family); err != nil {
			return netip.Addr{}, err
		}
		return ip, nil
	}
	if strings.ContainsAny(host, "[]%/ ") || strings.Count(host, ":") > 0 {
		return netip.Addr{}, &AddrError{host, "not an IP address or host name"}
	}
	network := map[int]string{AnyFamily: "ip", IPv4: "ip4", IPv6: "ip6"}[family]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		var dnsErr *net.DNSError
		if de, ok := err.(*net.DNSError); ok {
			dnsErr = de
		}
		if dnsErr != nil && dnsErr.IsNotFound {
			return netip.Addr{}, &ResolveError{host, fmt.Errorf("name or service not known")}
		}
		return netip.Addr{}, &ResolveError{host, err}
	}
	// Prefer IPv4 when both were asked for, as ping and the course do.
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	if len(ips) == 0 {
		return netip.Addr{}, &ResolveError{host, fmt.Errorf("no address")}
	}
	return ips[0], nil
}

// ResolveTarget is ResolveHost for a host to send to (ping, traceroute):
// there "" is no wildcard but no name at all, and iputils refuses it as
// getaddrinfo does ("0", inet_aton's 0.0.0.0, is still taken).
func ResolveTarget(host string, family int) (netip.Addr, error) {
	if host == "" {
		return netip.Addr{}, &ResolveError{host, errors.New("name or service not known")}
	}
	return ResolveHost(host, family)
}

// parseInetAton reads the IPv4 forms inet_aton(3) accepts, and so
// getaddrinfo(3), ping and the course's Python: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the bytes left
// (127.1 is 127.0.0.1; 0x7f000001 and 2130706433 are too; 0 is 0.0.0.0).
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		base := 10
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 { // a leading part is one byte
			if n > 0xff {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		bits := 8 * uint(4-i) // the last part fills the rest
		if bits < 32 && n >= 1<<bits {
			return netip.Addr{}, false
		}
		v = v<<bits | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func checkFamily(host string, ip netip.Addr, family int) error {
	switch {
	case family == IPv4 && !ip.Is4():
		return &AddrError{host, "is an IPv6 address, but IPv4 (-4) was asked for"}
	case family == IPv6 && !ip.Is6():
		return &AddrError{host, "is an IPv4 address, but IPv6 (-6) was asked for"}
	}
	return nil
}

func familyOf(ip netip.Addr) int {
	if ip.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// JoinHostPort makes "host:port" from its parts, bracketing IPv6 literals.
func JoinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
