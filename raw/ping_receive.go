package raw

import (
	"encoding/binary"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// drain reads queued packets without waiting until none is left (empty is
// then true) or, in flood mode, nothing is in flight any more, so the next
// request goes out at once. It returns how many packets it read.
func (p *Pinger) drain() (n int, empty bool, err error) {
	for {
		err := sys.RecvmsgBufNonblock(p.fd, &p.msg, 0)
		if err != nil {
			if sys.IsTemporary(err) {
				return n, true, nil
			}
			if p.dgram && sys.Errno(err) != 0 {
				// A pending ICMP error surfaces as the error of the next
				// call on a socket with IP_RECVERR; it is in the queue.
				return n, false, p.drainErrors()
			}
			return n, false, err
		}
		n++
		p.handle(&p.msg)
		if p.interval == 0 && p.seqs.inFlight(p.st.Transmitted, p.st.Received+p.st.Errors) == 0 {
			return n, false, nil
		}
	}
}

// handle looks at one received datagram and counts it if it is ours.
func (p *Pinger) handle(m *sys.Msg) {
	pk := &p.pk
	if err := p.parse(pk, m.Data[:min(m.N, len(m.Data))]); err != nil {
		return
	}
	at := time.Time{}
	ttl := pk.TTL
	for oob := m.Control[:m.ControlN]; ; {
		c, rest, ok := sys.NextControlMessage(oob)
		if !ok {
			break
		}
		oob = rest
		switch {
		case c.IsTimestampNS():
			at = c.TimestampNS()
		case c.Level == unix.SOL_IP && c.Type == unix.IP_TTL,
			c.Level == unix.SOL_IPV6 && c.Type == unix.IPV6_HOPLIMIT:
			ttl = c.Int()
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	p.classify(pk, ttl, at, m.FromIP())
}

// parse decodes a datagram into pk as this Pinger's socket delivers it: with
// the IPv4 header on a raw IPv4 socket, without on the others.
func (p *Pinger) parse(pk *Packet, b []byte) error {
	if p.v6 || p.dgram {
		return decodeICMP(pk, b, p.v6)
	}
	return decodeIPv4(pk, b)
}

// classify counts a parsed packet: a reply to one of our requests, an error
// quoting one, or nothing of ours (ignored). It is the one place that
// decides what counts, and the fuzz test holds it to that.
func (p *Pinger) classify(pk *Packet, ttl int, at time.Time, from netip.Addr) {
	reply, request := ICMPEchoReply, ICMPEcho
	if p.v6 {
		reply, request = ICMPv6EchoReply, ICMPv6Echo
	}
	mine := func(id, seq uint16) bool {
		// A datagram socket sees only its own; on a raw one the identifier
		// says, and a sequence number we never sent is not a reply to us.
		return (p.dgram || id == p.id) && wasSent(seq, p.st.Transmitted)
	}
	switch {
	case pk.Type == reply:
		if mine(pk.ID, pk.Seq) {
			p.reply(pk, ttl, at, from)
		}
	case pk.Quoted && pk.QuotedType == request && pk.QuotedDst == p.cfg.Dst && mine(pk.ID, pk.Seq):
		counted := p.v6 || (pk.Type != ICMPRedirect && pk.Type != ICMPSourceQuench)
		e := &p.lastErr
		*e = ICMPError{Seq: int(pk.Seq), From: from, V6: p.v6, Type: pk.Type, Code: pk.Code, Info: pk.Info, At: at, Counted: counted}
		if !p.v6 && pk.Type == ICMPDestUnreach && pk.Code == 4 {
			e.Info &= 0xffff // next-hop MTU is the low half
		}
		if counted {
			p.mu.Lock()
			p.seqs.acknowledge(pk.Seq, p.st.Transmitted)
			p.st.Errors++
			p.st.Pipe = p.seqs.pipe
			p.mu.Unlock()
		}
		if p.cfg.OnError != nil {
			p.cfg.OnError(e)
		}
	}
}

// reply counts an echo reply the way iputils' gather_statistics does, then
// reports it to OnReply, if anyone listens.
func (p *Pinger) reply(pk *Packet, ttl int, at time.Time, from netip.Addr) {
	st := &p.st
	var rtt time.Duration
	hasRTT, dup := false, false
	p.mu.Lock()
	if pk.ChecksumOK {
		p.seqs.acknowledge(pk.Seq, st.Transmitted)
		st.Pipe = p.seqs.pipe
	}
	if st.Timing && pk.Len >= icmpHeaderLen+timestampLen {
		sec := int64(binary.NativeEndian.Uint64(pk.Data[0:]))
		nsec := int64(binary.NativeEndian.Uint64(pk.Data[8:]))
		sent := time.Unix(sec, nsec)
		us := at.Sub(sent).Microseconds()
		switch {
		case !pk.ChecksumOK:
			rtt, hasRTT = time.Duration(max(us, 0))*time.Microsecond, true
		case sent.Before(p.start) || us < 0:
			// Sent before we began, or after it came back: a forged
			// (or damaged) timestamp, or a stepped clock. iputils
			// takes it (clamping a negative time to 0); one forged
			// 1970 stamp would then own max, avg and mdev for the run.
			st.BadTimes++
		default:
			rtt, hasRTT = time.Duration(us)*time.Microsecond, true
			st.addRTT(us)
		}
	}
	switch {
	case !pk.ChecksumOK:
		st.Corrupted++
	case p.seqs.test(pk.Seq):
		st.Duplicates++
		dup = true
	default:
		p.seqs.set(pk.Seq)
		st.Received++
	}
	p.mu.Unlock()
	if p.cfg.OnReply == nil {
		return // nobody to tell (ping -q): no report to fill in
	}
	r := &p.lastReply
	*r = Reply{Seq: int(pk.Seq), From: from, Bytes: pk.Len, TTL: ttl, At: at, RTT: rtt, HasRTT: hasRTT,
		Dup: dup, BadChecksum: !pk.ChecksumOK, Data: pk.Data, WrongByte: -1}
	r.Truncated = pk.Len < p.size+icmpHeaderLen
	if !r.Truncated {
		want := p.out[icmpHeaderLen:]
		for i := timestampLen; i < p.size; i++ {
			if pk.Data[i] != want[i] {
				r.WrongByte, r.Want, r.Got = i, want[i], pk.Data[i]
				break
			}
		}
	}
	p.cfg.OnReply(r)
}

// errTime is when the error queue entry just read arrived: its
// SO_TIMESTAMPNS, or now.
func (p *Pinger) errTime() time.Time {
	for oob := p.errq.Control[:p.errq.ControlN]; ; {
		c, rest, ok := sys.NextControlMessage(oob)
		if !ok {
			return time.Now()
		}
		oob = rest
		if c.IsTimestampNS() {
			return c.TimestampNS()
		}
	}
}

// drainErrors reads a datagram socket's error queue (IP_RECVERR): each entry
// is our original request with a sock_extended_err saying what happened and
// who said so.
func (p *Pinger) drainErrors() error {
	for {
		err := sys.RecvmsgBufNonblock(p.fd, &p.errq, unix.MSG_ERRQUEUE)
		if err != nil {
			if sys.IsTemporary(err) {
				return nil
			}
			return err
		}
		var ee sys.ExtendedErr
		found := false
		for oob := p.errq.Control[:p.errq.ControlN]; ; {
			c, rest, ok := sys.NextControlMessage(oob)
			if !ok {
				break
			}
			oob = rest
			if c.IsRecvErr() {
				ee, found = c.RecvErr()
			}
		}
		if !found {
			continue
		}
		b := p.errq.Data[:min(p.errq.N, len(p.errq.Data))]
		if len(b) < icmpHeaderLen {
			continue
		}
		seq := binary.BigEndian.Uint16(b[6:])
		switch ee.Origin {
		case unix.SO_EE_ORIGIN_LOCAL:
			p.mu.Lock()
			p.st.Errors++
			p.mu.Unlock()
			if p.cfg.OnError != nil {
				p.cfg.OnError(&ICMPError{Seq: int(seq), V6: p.v6, Info: ee.Info, At: time.Now(), Counted: true, Local: unix.Errno(ee.Errno)})
			}
		case unix.SO_EE_ORIGIN_ICMP, unix.SO_EE_ORIGIN_ICMP6:
			dst := p.errq.FromIP()
			if dst != p.cfg.Dst || !wasSent(seq, p.st.Transmitted) {
				continue // not about our requests
			}
			p.mu.Lock()
			p.seqs.acknowledge(seq, p.st.Transmitted)
			p.st.Errors++
			p.st.Pipe = p.seqs.pipe
			p.mu.Unlock()
			if p.cfg.OnError != nil {
				p.cfg.OnError(&ICMPError{Seq: int(seq), From: ee.Offender.IP.WithZone(""), V6: p.v6,
					Type: int(ee.Type), Code: int(ee.Code), Info: ee.Info, At: p.errTime(), Counted: true})
			}
		}
	}
}
