package raw

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// SocketMode chooses the kind of ICMP socket a Pinger opens.
type SocketMode int

const (
	// AutoSocket opens a raw socket, and an ICMP datagram socket when the
	// raw one is not permitted.
	AutoSocket SocketMode = iota
	// RawSocket insists on SOCK_RAW (root or CAP_NET_RAW).
	RawSocket
	// DatagramSocket insists on SOCK_DGRAM, IPPROTO_ICMP ("ping sockets"),
	// which needs the process's group in net.ipv4.ping_group_range.
	DatagramSocket
)

// PermissionError is the failure to open any ICMP socket: no CAP_NET_RAW for
// a raw one, and a group outside net.ipv4.ping_group_range for a datagram
// one.
type PermissionError struct {
	Err error // the socket(SOCK_RAW) error
}

func (e *PermissionError) Error() string {
	return "socket(SOCK_RAW): " + errText(e.Err) + " — run as root, grant CAP_NET_RAW, or allow ping_group_range"
}

func (e *PermissionError) Unwrap() error { return e.Err }

// errText is the errno's message alone ("operation not permitted").
func errText(err error) string {
	if e := sys.Errno(err); e != 0 {
		return e.Error()
	}
	return err.Error()
}

// openICMP opens the ICMP socket for the family of dst: raw when permitted,
// else (in AutoSocket mode) a datagram socket. dgram says which one it is.
func openICMP(v6 bool, mode SocketMode) (fd int, dgram bool, err error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	if mode != DatagramSocket {
		fd, err = sys.Socket(family, unix.SOCK_RAW, proto)
		if err == nil {
			return fd, false, nil
		}
		if mode == RawSocket || !isPermission(err) {
			return -1, false, err
		}
	}
	rawErr := err
	fd, derr := sys.Socket(family, unix.SOCK_DGRAM, proto)
	if derr == nil {
		return fd, true, nil
	}
	if mode == DatagramSocket {
		return -1, true, derr
	}
	if isPermission(derr) {
		return -1, false, &PermissionError{Err: rawErr}
	}
	return -1, false, derr
}

func isPermission(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// setupSocket sets the options ping needs on its ICMP socket; id is the
// identifier a raw socket's BPF filter keeps.
func setupSocket(fd int, v6, dgram bool, id uint16, cfg *Config) error {
	if cfg.Interface != "" {
		if err := sys.BindToDevice(fd, cfg.Interface); err != nil {
			return err
		}
	}
	var err error
	if dgram {
		err = datagramErrors(fd, v6)
	} else {
		err = rawFilters(fd, v6, id)
	}
	if err != nil {
		return err
	}
	if v6 {
		// IPv6 has no header in what we receive: the hop limit comes as a
		// control message.
		if err := sys.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVHOPLIMIT, 1); err != nil {
			return err
		}
	}
	if err := sys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return err
	}
	// iputils' minimum; the kernel doubles it for its bookkeeping.
	if err := sys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 65536); err != nil {
		return err
	}
	if cfg.TTL > 0 {
		if err := setTTL(fd, v6, cfg.TTL); err != nil {
			return err
		}
	}
	return nil
}

// rawFilters makes a raw socket queue only what ping reads: the kernel's
// ICMP type filter keeps replies and the errors that quote a request (not
// our own requests, which on loopback come back to the raw socket too),
// the BPF program drops other pingers' replies (bpf.go); then what came in
// before them is thrown away.
func rawFilters(fd int, v6 bool, id uint16) error {
	var err error
	if v6 {
		err = sys.SetICMPv6Filter(fd, ICMPv6EchoReply, ICMPv6DestUnreach, ICMPv6PacketTooBig,
			ICMPv6TimeExceeded, ICMPv6ParamProb)
	} else {
		err = sys.SetICMPFilter(fd, ICMPEchoReply, ICMPDestUnreach, ICMPSourceQuench,
			ICMPRedirect, ICMPTimeExceeded, ICMPParameterProb)
	}
	if err != nil {
		return err
	}
	filter := filterIPv4(id)
	if v6 {
		filter = filterIPv6(id)
	}
	if err := sys.AttachFilter(fd, filter); err != nil {
		return err
	}
	return discardQueued(fd)
}

// datagramErrors asks a ping socket for its ICMP errors, which it gets only
// on the error queue, and (IPv4) the reply's TTL, which it gets only as a
// control message.
func datagramErrors(fd int, v6 bool) error {
	if v6 {
		return sys.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_RECVERR, 1)
	}
	if err := sys.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVERR, 1); err != nil {
		return err
	}
	return sys.SetsockoptInt(fd, unix.SOL_IP, unix.IP_RECVTTL, 1)
}

// setTTL sets the hop limit of outgoing packets: IP_TTL or
// IPV6_UNICAST_HOPS.
func setTTL(fd int, v6 bool, ttl int) error {
	if v6 {
		return sys.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_UNICAST_HOPS, ttl)
	}
	return sys.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TTL, ttl)
}

// sourceFor finds the address the kernel would send from to reach dst (as
// iputils does): connect a UDP socket (no packet is sent) and ask
// getsockname. A destination without a route fails here, before any ping.
func sourceFor(dst netip.Addr, iface string) (netip.Addr, error) {
	family := unix.AF_INET
	if dst.Is6() {
		family = unix.AF_INET6
	}
	fd, err := sys.Socket(family, unix.SOCK_DGRAM, 0)
	if err != nil {
		return netip.Addr{}, err
	}
	defer sys.Close(fd)
	if iface != "" {
		if err := sys.BindToDevice(fd, iface); err != nil {
			return netip.Addr{}, err
		}
	}
	if err := sys.Connect(fd, sys.Addr{Family: family, IP: dst, Port: 1025}); err != nil {
		return netip.Addr{}, err
	}
	a, err := sys.Getsockname(fd)
	if err != nil {
		return netip.Addr{}, err
	}
	return a.IP, nil
}

// bindSource binds the ICMP socket to a source address (ping -I ADDR) or,
// for a datagram socket, to port 0, which makes the kernel choose the
// identifier now; getsockname then tells it.
func bindSource(fd int, v6, dgram bool, src netip.Addr) (uint16, error) {
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	if !src.IsValid() {
		if !dgram {
			return 0, nil
		}
		src = netip.IPv4Unspecified()
		if v6 {
			src = netip.IPv6Unspecified()
		}
	}
	if err := sys.Bind(fd, sys.Addr{Family: family, IP: src}); err != nil {
		return 0, err
	}
	if !dgram {
		return 0, nil
	}
	a, err := sys.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	return uint16(a.Port), nil
}

// checkSize refuses a data size no IP datagram can carry: 65535 less the
// IPv4 and ICMP headers.
func checkSize(size int) error {
	if size < 0 || size > MaxSize {
		return fmt.Errorf("invalid argument: '%d': out of range: 0 <= value <= %d", size, MaxSize)
	}
	return nil
}
