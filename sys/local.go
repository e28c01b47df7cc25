package sys

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// IsLocalAddr reports whether ip is an address of this host: bind(2) to
// it, on a fresh UDP socket, succeeds only then (EADDRNOTAVAIL otherwise;
// ip(7), unless net.ipv4.ip_nonlocal_bind is set, when every address
// counts as local). It asks the kernel rather than a list of interfaces,
// so it is right for every address the kernel would deliver to us: all of
// 127.0.0.0/8, the interfaces' addresses, and ones added a moment ago.
// When it cannot tell (no socket to try with), it says yes: its callers
// use it to refuse, and refusing is the careful side.
func IsLocalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	a := Addr{Family: unix.AF_INET, IP: ip}
	if ip.Is6() {
		a.Family = unix.AF_INET6
	}
	fd, err := Socket(a.Family, unix.SOCK_DGRAM, 0)
	if err != nil {
		return true // cannot tell (out of descriptors?): the careful answer
	}
	defer Close(fd)
	return Errno(Bind(fd, a)) != unix.EADDRNOTAVAIL
}
