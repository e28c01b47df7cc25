package raw

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// ICMP message types ping sends, expects or explains (RFC 792, RFC 4443).
const (
	ICMPEchoReply      = 0
	ICMPDestUnreach    = 3
	ICMPSourceQuench   = 4
	ICMPRedirect       = 5
	ICMPEcho           = 8
	ICMPTimeExceeded   = 11
	ICMPParameterProb  = 12
	ICMPv6DestUnreach  = 1
	ICMPv6PacketTooBig = 2
	ICMPv6TimeExceeded = 3
	ICMPv6ParamProb    = 4
	ICMPv6Echo         = 128
	ICMPv6EchoReply    = 129
)

// Protocol numbers in the IP header (or IPv6 next header).
const (
	protoICMP     = 1
	protoICMPv6   = 58
	protoFragment = 44
)

// icmpHeaderLen is the fixed ICMP header: type, code, checksum and four
// bytes that an echo uses for identifier and sequence.
const icmpHeaderLen = 8

// Echo is an ICMP echo request or reply.
type Echo struct {
	V6   bool // ICMPv6 (types 128/129) rather than ICMP (8/0)
	Type int
	ID   uint16
	Seq  uint16
	Data []byte
}

// Marshal appends the echo message to b with its checksum. For ICMPv6 the
// checksum covers a pseudo-header of the IPv6 addresses (RFC 4443 2.3) that
// only the kernel knows for sure, so it is left 0 and a raw ICMPv6 socket
// fills it in (IPV6_CHECKSUM is always on for them).
func (e Echo) Marshal(b []byte) []byte {
	start := len(b)
	b = append(b, byte(e.Type), 0, 0, 0, byte(e.ID>>8), byte(e.ID), byte(e.Seq>>8), byte(e.Seq))
	b = append(b, e.Data...)
	if !e.V6 {
		binary.BigEndian.PutUint16(b[start+2:], Checksum(b[start:]))
	}
	return b
}

// Packet is what ping needs to know about a received ICMP message. For an
// error message (destination unreachable, time exceeded, ...) ID, Seq and
// QuotedDst come from the original datagram the sender quoted back.
type Packet struct {
	Type, Code int
	TTL        int    // from the IPv4 header; -1 when there was none
	Len        int    // bytes of ICMP message (header and data), iputils' cc
	ChecksumOK bool   // IPv4: verified here; ICMPv6: the kernel drops bad ones
	Info       uint32 // the header's second word: gateway, MTU, pointer
	ID, Seq    uint16 // of the echo, or of the quoted echo request
	Data       []byte // echo data after the 8-byte header (a slice of the buffer)

	// For errors: the quoted datagram.
	Quoted      bool       // an error quoting an ICMP echo request
	QuotedDst   netip.Addr // where that request was going
	QuotedType  int        // its ICMP type (8 or 128 for ours)
	QuotedProto int
}

// Errors for datagrams ping cannot use. They are never counted as replies.
var (
	ErrShort     = errors.New("packet too short")
	ErrNotICMP   = errors.New("not an ICMP packet")
	ErrBadHeader = errors.New("malformed IP header")
)

// ParseIPv4 decodes what a raw IPv4 ICMP socket receives: the IP header (its
// length from IHL, options and all) and the ICMP message after it.
func ParseIPv4(b []byte) (Packet, error) {
	var p Packet
	err := decodeIPv4(&p, b)
	return p, err
}

// ParseICMP decodes an ICMP (v6 false) or ICMPv6 message with no IP header
// before it: what ICMP datagram sockets and raw ICMPv6 sockets receive.
func ParseICMP(b []byte, v6 bool) (Packet, error) {
	var p Packet
	err := decodeICMP(&p, b, v6)
	return p, err
}

// decodeIPv4 is ParseIPv4 into *p, and decodeICMP ParseICMP: a Pinger
// decodes every packet into the one Packet it keeps, since a Packet (about
// 120 bytes) returned by value is copied again at each call it passes back
// through, and a flood decodes one every few microseconds.
func decodeIPv4(p *Packet, b []byte) error {
	*p = Packet{}
	if len(b) < 20 {
		return ErrShort
	}
	if b[0]>>4 != 4 {
		return ErrBadHeader
	}
	hlen := int(b[0]&0x0f) * 4
	if hlen < 20 {
		return ErrBadHeader
	}
	if len(b) < hlen+icmpHeaderLen {
		return ErrShort
	}
	if b[9] != protoICMP {
		return ErrNotICMP
	}
	err := decodeICMP(p, b[hlen:], false)
	p.TTL = int(b[8])
	return err
}

func decodeICMP(p *Packet, b []byte, v6 bool) error {
	*p = Packet{TTL: -1}
	if len(b) < icmpHeaderLen {
		return ErrShort
	}
	p.Type, p.Code, p.Len = int(b[0]), int(b[1]), len(b)
	p.ChecksumOK = v6 || Checksum(b) == 0
	p.Info = binary.BigEndian.Uint32(b[4:8])
	if isEcho(p.Type, v6) {
		p.ID = binary.BigEndian.Uint16(b[4:])
		p.Seq = binary.BigEndian.Uint16(b[6:])
		p.Data = b[icmpHeaderLen:]
		return nil
	}
	if isError(p.Type, v6) {
		parseQuoted(p, b[icmpHeaderLen:], v6)
	}
	return nil
}

func isEcho(t int, v6 bool) bool {
	if v6 {
		return t == ICMPv6Echo || t == ICMPv6EchoReply
	}
	return t == ICMPEcho || t == ICMPEchoReply
}

// isError reports whether an ICMP type quotes the datagram that caused it.
func isError(t int, v6 bool) bool {
	if v6 {
		return t >= ICMPv6DestUnreach && t <= ICMPv6ParamProb
	}
	switch t {
	case ICMPDestUnreach, ICMPSourceQuench, ICMPRedirect, ICMPTimeExceeded, ICMPParameterProb:
		return true
	}
	return false
}

// parseQuoted reads the original datagram an ICMP error carries: its IP
// header and at least the first 8 bytes after it (RFC 792), which for an
// echo request are its identifier and sequence.
func parseQuoted(p *Packet, q []byte, v6 bool) {
	var next int
	var body []byte
	if v6 {
		if len(q) < 40 || q[0]>>4 != 6 {
			return
		}
		p.QuotedDst = netip.AddrFrom16([16]byte(q[24:40]))
		next, body = int(q[6]), q[40:]
		if next == protoFragment && len(body) >= 8 {
			next, body = int(body[0]), body[8:]
		}
	} else {
		if len(q) < 20 || q[0]>>4 != 4 {
			return
		}
		hlen := int(q[0]&0x0f) * 4
		if hlen < 20 || len(q) < hlen {
			return
		}
		p.QuotedDst = netip.AddrFrom4([4]byte(q[16:20]))
		next, body = int(q[9]), q[hlen:]
	}
	p.QuotedProto = next
	want := protoICMP
	if v6 {
		want = protoICMPv6
	}
	if next != want || len(body) < icmpHeaderLen {
		return
	}
	p.QuotedType = int(body[0])
	p.ID = binary.BigEndian.Uint16(body[4:])
	p.Seq = binary.BigEndian.Uint16(body[6:])
	p.Quoted = true
}
