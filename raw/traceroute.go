package raw

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Traceroute finds the routers on the way to a host the way traceroute -I
// does: ICMP echo requests with a TTL (IPv6: hop limit) of 1, 2, 3, ...
// Each router that decrements the TTL to zero drops the request and answers
// "time exceeded", quoting the request's header, so the quote tells which
// probe it was; the destination itself answers with an echo reply, and the
// trace stops there. Any other answer (an "unreachable" of some kind) ends
// the trace at its hop too, as traceroute 2.1 does: what lies behind a
// router that refuses is out of reach.

// TraceConfig is one traceroute.
type TraceConfig struct {
	Dst      netip.Addr
	FirstTTL int           // 0: 1
	MaxTTL   int           // -m; 0: 30
	Probes   int           // -q, probes per hop; 0: 3
	Wait     time.Duration // -w, how long to wait for each probe's answer; 0: 5 s
	Size     int           // data bytes; 0: 32, which makes 60-byte IPv4 packets as traceroute sends
	Source   netip.Addr    // traceroute -s: send from this address; invalid: the system's choice
	Socket   SocketMode

	// OnProbe is called for every probe, in order, as its answer (or
	// silence) is known, before the next probe is sent.
	OnProbe func(Probe)
}

// Probe is the outcome of one probe.
type Probe struct {
	TTL, N     int        // the hop (TTL) and the probe's number within it, from 0
	From       netip.Addr // who answered; invalid on silence
	RTT        time.Duration
	Timeout    bool   // no answer within Wait
	Reached    bool   // the destination answered (echo reply, or an ICMP error it sent itself)
	Type, Code int    // the ICMP answer's type and code
	Info       uint32 // the ICMP error's MTU ("fragmentation needed", "packet too big")
	V6         bool
}

// Final reports whether the probe's answer ends the trace at its hop: the
// destination's reply, or any ICMP error but "time exceeded in transit".
// Traceroute 2.1 stops at a hop where one probe's answer is final, however
// the others fared (lost, or "time exceeded"); so does Tracer.
func (p Probe) Final() bool {
	switch {
	case p.Timeout:
		return false
	case p.V6:
		return p.Reached || p.Type != ICMPv6TimeExceeded || p.Code != 0
	}
	return p.Reached || p.Type != ICMPTimeExceeded || p.Code != 0
}

// Annotation is traceroute's mark after a probe's time for an answer other
// than "time exceeded" or the reply, with traceroute 2.1's table: !N
// network, !H host, !P protocol unreachable, !X administratively
// prohibited, !S source route failed, !V host precedence violation, !C
// precedence cutoff, !F-MTU fragmentation needed (IPv6: packet too big),
// !<code> another "unreachable" code, !<type-code> another ICMP error.
// A port unreachable has no mark: for traceroute it means the destination
// (which its UDP probes are after).
func (p Probe) Annotation() string {
	if p.Timeout || p.Type == ICMPEchoReply && !p.V6 || p.Type == ICMPv6EchoReply && p.V6 {
		return ""
	}
	if p.V6 {
		switch p.Type {
		case ICMPv6TimeExceeded:
			if p.Code == 0 {
				return ""
			}
		case ICMPv6PacketTooBig:
			return "!F-" + itoaInt(int(p.Info))
		case ICMPv6DestUnreach:
			switch p.Code {
			case 0:
				return "!N"
			case 1:
				return "!X"
			case 2, 3:
				return "!H"
			case 4:
				return "" // port unreachable: the destination itself
			}
			return "!<" + itoaInt(p.Code) + ">"
		}
		return "!<" + itoaInt(p.Type) + "-" + itoaInt(p.Code) + ">"
	}
	switch p.Type {
	case ICMPTimeExceeded:
		if p.Code == 0 {
			return ""
		}
	case ICMPDestUnreach:
		switch p.Code {
		case 0, 6, 8, 11:
			return "!N"
		case 1, 7, 12:
			return "!H"
		case 2:
			return "!P"
		case 3:
			return "" // port unreachable: the destination itself
		case 4:
			return "!F-" + itoaInt(int(p.Info))
		case 5:
			return "!S"
		case 9, 10, 13:
			return "!X"
		case 14:
			return "!V"
		case 15:
			return "!C"
		}
		return "!<" + itoaInt(p.Code) + ">"
	}
	return "!<" + itoaInt(p.Type) + "-" + itoaInt(p.Code) + ">"
}

func itoaInt(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[n:])
}

// Traceroute runs the trace and returns every probe's outcome.
func Traceroute(ctx context.Context, cfg TraceConfig) ([]Probe, error) {
	t, err := NewTracer(cfg)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return t.Run(ctx)
}

// Tracer is a traceroute's socket, opened by NewTracer (in the caller's
// network namespace), run by Run.
type Tracer struct {
	cfg TraceConfig
	p   *Pinger
}

// NewTracer checks cfg and opens the ICMP socket.
func NewTracer(cfg TraceConfig) (*Tracer, error) {
	if cfg.FirstTTL <= 0 {
		cfg.FirstTTL = 1
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = 30
	}
	if cfg.Probes <= 0 {
		cfg.Probes = 3
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.Size == 0 {
		cfg.Size = 32
	}
	if cfg.MaxTTL > 255 || cfg.FirstTTL > cfg.MaxTTL || cfg.Probes > 10 {
		return nil, errors.New("want 1 <= first ttl <= max ttl <= 255 and at most 10 probes per hop")
	}
	p, err := NewPinger(Config{Dst: cfg.Dst, Size: cfg.Size, Source: cfg.Source, Socket: cfg.Socket, Interval: time.Second})
	if err != nil {
		return nil, err
	}
	return &Tracer{cfg: cfg, p: p}, nil
}

// Datagram reports whether the trace uses an ICMP datagram socket.
func (t *Tracer) Datagram() bool { return t.p.dgram }

// PacketLen is the size of each probe's IP packet.
func (t *Tracer) PacketLen() int {
	if t.p.v6 {
		return 40 + icmpHeaderLen + t.p.size
	}
	return 20 + icmpHeaderLen + t.p.size
}

// Close releases the socket.
func (t *Tracer) Close() error { return t.p.Close() }

// Run sends the probes hop by hop, one at a time, until a hop has a final
// answer (Probe.Final: the destination's reply, or an "unreachable" from
// whoever sent it; lost probes do not count either way), MaxTTL is passed,
// or ctx is cancelled.
func (t *Tracer) Run(ctx context.Context) ([]Probe, error) {
	p := t.p
	var want int
	var got *Probe
	p.cfg.OnReply = func(r *Reply) {
		if r.Seq == want && got == nil {
			got = &Probe{From: r.From, RTT: r.RTT, Reached: true, Type: ICMPEchoReply, V6: p.v6}
			if p.v6 {
				got.Type = ICMPv6EchoReply
			}
		}
	}
	var sentAt time.Time
	p.cfg.OnError = func(e *ICMPError) {
		// A redirect or source quench (not Counted) is no answer: the
		// router passed the probe on, and its answer is still to come.
		if e.Seq == want && got == nil && e.Local == nil && e.Counted {
			got = &Probe{From: e.From, RTT: max(e.At.Sub(sentAt), 0), Type: e.Type, Code: e.Code, Info: e.Info, V6: p.v6}
			if e.From == p.cfg.Dst && (e.Type == ICMPDestUnreach || e.Type == ICMPv6DestUnreach) {
				got.Reached = true // the destination itself refused: it is there
			}
		}
	}
	var probes []Probe
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	for ttl := t.cfg.FirstTTL; ttl <= t.cfg.MaxTTL; ttl++ {
		if err := setTTL(p.fd, p.v6, ttl); err != nil {
			return probes, err
		}
		final := false
		for n := 0; n < t.cfg.Probes; n++ {
			if ctx.Err() != nil {
				return probes, nil
			}
			got = nil
			sentAt = time.Now()
			p.send(sentAt)
			want = int(uint16(p.st.Transmitted))
			deadline := sentAt.Add(t.cfg.Wait)
			for got == nil && ctx.Err() == nil {
				if _, _, err := p.drain(); err != nil {
					return probes, err
				}
				if got != nil {
					break
				}
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				fds[0].Revents = 0
				if _, err := sys.Poll(fds, min(left, 100*time.Millisecond)); err != nil {
					return probes, err
				}
				if fds[0].Revents&unix.POLLERR != 0 {
					if err := p.drainErrors(); err != nil {
						return probes, err
					}
				}
			}
			pr := Probe{Timeout: true, V6: p.v6}
			if got != nil {
				pr = *got
			}
			pr.TTL, pr.N = ttl, n
			if pr.Final() {
				final = true // the hop's other probes are still sent, as traceroute does
			}
			probes = append(probes, pr)
			if t.cfg.OnProbe != nil {
				t.cfg.OnProbe(pr)
			}
		}
		if final {
			break
		}
	}
	return probes, nil
}
