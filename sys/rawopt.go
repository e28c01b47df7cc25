package sys

import "golang.org/x/sys/unix"

// Socket options of raw ICMP sockets: which ICMP types the kernel queues at
// all, a classic BPF program that drops other pingers' replies before they
// take room in the receive buffer, and the interface a socket is tied to.

func init() {
	// Names for the int options ping sets, so --trace prints them as strace does.
	for k, v := range map[[2]int]string{
		{unix.SOL_IPV6, unix.IPV6_RECVERR}:       "SOL_IPV6, IPV6_RECVERR",
		{unix.SOL_IPV6, unix.IPV6_RECVHOPLIMIT}:  "SOL_IPV6, IPV6_RECVHOPLIMIT",
		{unix.SOL_IP, unix.IP_RECVTTL}:           "SOL_IP, IP_RECVTTL",
		{unix.SOL_RAW, unix.IPV6_CHECKSUM}:       "SOL_RAW, IPV6_CHECKSUM",
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE}:   "SOL_SOCKET, SO_RCVBUFFORCE",
		{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL}: "SOL_IP, IP_MULTICAST_TTL",
	} {
		if _, ok := optNames[k]; !ok {
			optNames[k] = v
		}
	}
}

// icmpTypeNames are the ICMP types as strace names them in ICMP_FILTER.
var icmpTypeNames = map[int]string{
	0: "ICMP_ECHOREPLY", 3: "ICMP_DEST_UNREACH", 4: "ICMP_SOURCE_QUENCH", 5: "ICMP_REDIRECT",
	8: "ICMP_ECHO", 11: "ICMP_TIME_EXCEEDED", 12: "ICMP_PARAMETERPROB",
}

// SetICMPFilter sets ICMP_FILTER on a raw IPv4 ICMP socket (raw(7)): the
// kernel queues only the ICMP types in pass and drops the rest before they
// reach the socket. Without it every ICMP packet the host receives (other
// pingers' echo replies, redirects, ...) wakes the program.
func SetICMPFilter(fd int, pass ...int) error {
	var mask uint32
	for _, t := range pass {
		mask |= 1 << uint(t)
	}
	block := ^mask // the option holds the types to block
	err := unix.SetsockoptInt(fd, unix.SOL_RAW, unix.ICMP_FILTER, int(int32(block)))
	traceICMPFilter(fd, pass, err)
	return syscallErr("setsockopt", err)
}

// SetICMPv6Filter sets ICMP6_FILTER on a raw ICMPv6 socket (RFC 3542,
// icmp6(7)): only the types in pass are queued.
func SetICMPv6Filter(fd int, pass ...int) error {
	var f unix.ICMPv6Filter
	for i := range f.Data {
		f.Data[i] = ^uint32(0) // block all ...
	}
	for _, t := range pass {
		f.Data[t>>5] &^= 1 << (uint(t) & 31) // ... but these
	}
	err := unix.SetsockoptICMPv6Filter(fd, unix.SOL_ICMPV6, unix.ICMPV6_FILTER, &f)
	traceICMPv6Filter(fd, pass, err)
	return syscallErr("setsockopt", err)
}

// AttachFilter sets SO_ATTACH_FILTER: a classic BPF program the kernel runs
// on every packet for this socket; a packet it returns 0 for is dropped
// before it is queued (socket(7), filter(2)). Raw ICMP sockets receive every
// ICMP packet of the host, so ping filters out other pingers' replies.
func AttachFilter(fd int, prog []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(prog))}
	if len(prog) > 0 {
		fp.Filter = &prog[0]
	}
	err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
	traceAttachFilter(fd, prog, &fp, err)
	return syscallErr("setsockopt", err)
}

// BindToDevice sets SO_BINDTODEVICE: the socket sends and receives only
// through the named interface (ping -I eth0). It needs CAP_NET_RAW.
func BindToDevice(fd int, ifname string) error {
	err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
	traceBindToDevice(fd, ifname, err)
	return syscallErr("setsockopt SO_BINDTODEVICE "+ifname, err)
}
