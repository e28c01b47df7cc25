package sys

import (
	"encoding/binary"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the hot path of ping: sendto and recvmsg on a preallocated
// message, so that a flood of a hundred thousand packets allocates nothing
// per packet. x/sys/unix's Sendto and Recvmsg convert between Sockaddr
// interfaces and the kernel's bytes on every call, which allocates; here the
// destination is converted once (SockaddrBuf) and the receive buffers, iovec
// and msghdr live in one reusable Msg.

// SockaddrBuf is an address converted once into the kernel's sockaddr bytes,
// for sendto(2) in a loop.
type SockaddrBuf struct {
	Addr Addr
	raw  unix.RawSockaddrAny
	len  uint32
}

// NewSockaddrBuf converts a (AF_INET or AF_INET6) for SendtoBuf.
func NewSockaddrBuf(a Addr) *SockaddrBuf {
	b := &SockaddrBuf{Addr: a}
	switch a.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.raw))
		sa.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], uint16(a.Port))
		sa.Addr = a.IP.As4()
		b.len = unix.SizeofSockaddrInet4
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&b.raw))
		sa.Family = unix.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], uint16(a.Port))
		sa.Addr = a.IP.As16()
		if s6, ok := a.Sockaddr().(*unix.SockaddrInet6); ok {
			sa.Scope_id = s6.ZoneId
		}
		b.len = unix.SizeofSockaddrInet6
	}
	return b
}

// SendtoBuf wraps sendto(2) for one datagram to a prepared address, with
// MSG_NOSIGNAL, restarting after EINTR. It allocates nothing unless tracing
// is on or the call fails.
func SendtoBuf(fd int, p []byte, flags int, to *SockaddrBuf) (int, error) {
	flags |= unix.MSG_NOSIGNAL
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	var n int
	err := restart(func() error {
		r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)),
			uintptr(flags), uintptr(unsafe.Pointer(&to.raw)), uintptr(to.len))
		if e != 0 {
			n = 0
			return e
		}
		n = int(r)
		return nil
	})
	traceSendto(fd, p, flags, to.Addr, n, err)
	return n, syscallErr("sendto", err)
}

// Msg is a reusable recvmsg(2) message: the caller's data and control
// buffers, and after each call the lengths, the flags and the sender.
type Msg struct {
	Data    []byte // where the datagram goes
	Control []byte // where ancillary data goes (SO_TIMESTAMPNS, IP_TTL, IP_RECVERR...)

	N        int // data length the kernel reported (with MSG_TRUNC: the full length)
	ControlN int // control bytes received
	Flags    int // msg_flags: MSG_TRUNC, MSG_CTRUNC, MSG_ERRQUEUE

	hdr  unix.Msghdr
	iov  unix.Iovec
	name unix.RawSockaddrAny
}

// prepare points m's header at its buffers for one recvmsg(2).
func (m *Msg) prepare() {
	m.iov.Base = nil
	if len(m.Data) > 0 {
		m.iov.Base = &m.Data[0]
	}
	m.iov.SetLen(len(m.Data))
	m.hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&m.name)), Namelen: unix.SizeofSockaddrAny, Iov: &m.iov, Iovlen: 1}
	if len(m.Control) > 0 {
		m.hdr.Control = &m.Control[0]
		m.hdr.SetControllen(len(m.Control))
	}
}

// RecvmsgBuf wraps recvmsg(2) into m, restarting after EINTR. With
// MSG_DONTWAIT and nothing queued the error is EAGAIN (IsTemporary). It
// allocates nothing unless tracing is on or the call fails.
func RecvmsgBuf(fd int, m *Msg, flags int) error {
	m.prepare()
	err := restart(func() error {
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), uintptr(flags))
		if e != 0 {
			m.N, m.ControlN, m.Flags = 0, 0, 0
			return e
		}
		m.N, m.ControlN, m.Flags = int(r), int(m.hdr.Controllen), int(m.hdr.Flags)
		return nil
	})
	traceRecvmsgBuf(fd, m, flags, err)
	return syscallErr("recvmsg", err)
}

// From is the sender of the last message received into m.
func (m *Msg) From() Addr {
	return rawToAddr(unsafe.Pointer(&m.name), int(m.hdr.Namelen))
}

// FromIP is the sender's IP address without its zone: unlike From it never
// looks up an interface name, so it costs nothing per packet.
func (m *Msg) FromIP() netip.Addr {
	switch m.name.Addr.Family {
	case unix.AF_INET:
		return netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(&m.name)).Addr)
	case unix.AF_INET6:
		return netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(&m.name)).Addr)
	}
	return netip.Addr{}
}

// rawToAddr reads a sockaddr_in or sockaddr_in6 the kernel wrote.
func rawToAddr(p unsafe.Pointer, n int) Addr {
	if n < 2 {
		return Addr{}
	}
	switch (*unix.RawSockaddr)(p).Family {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return Addr{}
		}
		sa := (*unix.RawSockaddrInet4)(p)
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return AddrFrom(&unix.SockaddrInet4{Port: int(port), Addr: sa.Addr})
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return Addr{}
		}
		sa := (*unix.RawSockaddrInet6)(p)
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return AddrFrom(&unix.SockaddrInet6{Port: int(port), Addr: sa.Addr, ZoneId: sa.Scope_id})
	}
	return Addr{}
}

// ControlMessage is one item of ancillary data from recvmsg(2) (cmsg(3)).
type ControlMessage struct {
	Level, Type int
	Data        []byte
}

// NextControlMessage splits the first control message off oob, as
// CMSG_FIRSTHDR/CMSG_NXTHDR walk them; ok is false at the end or on a
// malformed header. It allocates nothing.
func NextControlMessage(oob []byte) (c ControlMessage, rest []byte, ok bool) {
	if len(oob) < unix.SizeofCmsghdr {
		return ControlMessage{}, nil, false
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	l := int(h.Len)
	if l < unix.SizeofCmsghdr || l > len(oob) {
		return ControlMessage{}, nil, false
	}
	c = ControlMessage{Level: int(h.Level), Type: int(h.Type), Data: oob[unix.CmsgLen(0):l]}
	next := unix.CmsgSpace(l - unix.CmsgLen(0))
	if next > len(oob) {
		next = len(oob)
	}
	return c, oob[next:], true
}

// IsTimestampNS reports whether c is the SO_TIMESTAMPNS receive time
// (SCM_TIMESTAMPNS), which TimestampNS decodes.
func (c ControlMessage) IsTimestampNS() bool {
	return c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPNS && len(c.Data) >= int(unsafe.Sizeof(unix.Timespec{}))
}

// TimestampNS is the time the kernel received the packet (socket(7),
// SO_TIMESTAMPNS): taken in the network stack, so a reply's round trip does
// not include how long the program took to get around to reading it.
func (c ControlMessage) TimestampNS() time.Time {
	ts := *(*unix.Timespec)(unsafe.Pointer(&c.Data[0]))
	return time.Unix(ts.Sec, ts.Nsec)
}

// Int is the control message's data as a C int (IP_TTL, IPV6_HOPLIMIT); -1
// if it is too short.
func (c ControlMessage) Int() int {
	if len(c.Data) < 4 {
		if len(c.Data) == 1 { // some kernels hand IP_TTL as one byte
			return int(c.Data[0])
		}
		return -1
	}
	return int(*(*int32)(unsafe.Pointer(&c.Data[0])))
}

// ExtendedErr is a queued socket error (ip(7) IP_RECVERR, ipv6(7)
// IPV6_RECVERR): the errno, where it came from (SO_EE_ORIGIN_ICMP, _ICMP6,
// _LOCAL), the ICMP type and code, extra info (the MTU for "fragmentation
// needed") and the offender, the host that sent the ICMP error.
type ExtendedErr struct {
	unix.SockExtendedErr
	Offender Addr
}

// IsRecvErr reports whether c is an IP_RECVERR or IPV6_RECVERR message.
func (c ControlMessage) IsRecvErr() bool {
	return (c.Level == unix.SOL_IP && c.Type == unix.IP_RECVERR) ||
		(c.Level == unix.SOL_IPV6 && c.Type == unix.IPV6_RECVERR)
}

// RecvErr decodes an IP_RECVERR/IPV6_RECVERR message; ok is false if it is
// too short.
func (c ControlMessage) RecvErr() (e ExtendedErr, ok bool) {
	sz := int(unsafe.Sizeof(unix.SockExtendedErr{}))
	if len(c.Data) < sz {
		return ExtendedErr{}, false
	}
	e.SockExtendedErr = *(*unix.SockExtendedErr)(unsafe.Pointer(&c.Data[0]))
	// SO_EE_OFFENDER(ee): the sockaddr right after the struct.
	if rest := c.Data[sz:]; len(rest) >= 2 {
		e.Offender = rawToAddr(unsafe.Pointer(&rest[0]), len(rest))
	}
	return e, true
}
