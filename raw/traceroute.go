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
// trace stops there.

// TraceConfig is one traceroute.
type TraceConfig struct {
	Dst      netip.Addr
	FirstTTL int           // 0: 1
	MaxTTL   int           // -m; 0: 30
	Probes   int           // -q, probes per hop; 0: 3
	Wait     time.Duration // -w, how long to wait for each probe's answer; 0: 5 s
	Size     int           // data bytes; 0: 32, which makes 60-byte IPv4 packets as traceroute sends
	Socket   SocketMode

	// OnProbe is called for every probe, in order, as its answer (or
	// silence) is known.
	OnProbe func(Probe)
}

// Probe is the outcome of one probe.
type Probe struct {
	TTL, N     int        // the hop (TTL) and the probe's number within it, from 0
	From       netip.Addr // who answered; invalid on silence
	RTT        time.Duration
	Timeout    bool // no answer within Wait
	Reached    bool // the destination answered (echo reply)
	Type, Code int  // the ICMP answer's type and code
	V6         bool
}

// Annotation is traceroute's mark after a probe's time for an answer other
// than "time exceeded" or the reply: !H host, !N network, !P protocol
// unreachable, !X administratively prohibited, !F fragmentation needed.
func (p Probe) Annotation() string {
	if p.Timeout || p.Reached {
		return ""
	}
	if p.V6 {
		if p.Type != ICMPv6DestUnreach {
			return ""
		}
		switch p.Code {
		case 0:
			return "!N"
		case 1:
			return "!X"
		case 3:
			return "!H"
		case 4:
			return "" // port unreachable: the destination itself
		}
		return "!<" + itoaInt(p.Code) + ">"
	}
	if p.Type != ICMPDestUnreach {
		return ""
	}
	switch p.Code {
	case 0, 6:
		return "!N"
	case 1, 7:
		return "!H"
	case 2:
		return "!P"
	case 3:
		return ""
	case 4:
		return "!F"
	case 9, 10, 13:
		return "!X"
	}
	return "!<" + itoaInt(p.Code) + ">"
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
	p, err := NewPinger(Config{Dst: cfg.Dst, Size: cfg.Size, Socket: cfg.Socket, Interval: time.Second})
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

// Run sends the probes hop by hop until the destination answers, a whole hop
// answers "unreachable", MaxTTL is passed, or ctx is cancelled.
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
		if e.Seq == want && got == nil && e.Local == nil {
			got = &Probe{From: e.From, RTT: max(e.At.Sub(sentAt), 0), Type: e.Type, Code: e.Code, V6: p.v6}
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
		reached, unreachable := false, 0
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
			if pr.Reached {
				reached = true
			}
			if pr.Annotation() != "" {
				unreachable++
			}
			probes = append(probes, pr)
			if t.cfg.OnProbe != nil {
				t.cfg.OnProbe(pr)
			}
		}
		if reached || unreachable == t.cfg.Probes {
			break
		}
	}
	return probes, nil
}
