package raw

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Sizes and times iputils uses.
const (
	DefaultSize     = 56                   // data bytes: 64 with the ICMP header
	MaxSize         = 65507                // 65535 - 20 (IPv4) - 8 (ICMP)
	NoData          = -1                   // Config.Size for no data at all (ping -s 0)
	DefaultInterval = time.Second          // between requests
	DefaultTimeout  = 10 * time.Second     // wait for a reply when none came (iputils MAXWAIT)
	MinUserInterval = 2 * time.Millisecond // the shortest interval for users other than root
	floodWait       = 10 * time.Millisecond
	timestampLen    = 16 // the send time at the start of the data: seconds, nanoseconds
)

// Config is one ping run: where to, how many, how often, how big, and what
// to call as things happen. The zero value of every field but Dst is
// iputils' default.
type Config struct {
	Dst       netip.Addr    // the destination (IPv4 or IPv6)
	Count     int           // stop after this many replies (iputils -c); 0: until cancelled
	Interval  time.Duration // between requests (-i); 0: 1 s, or back-to-back with Flood; < 0: no wait (-i 0)
	Flood     bool          // -f: the next request as soon as the reply is in (or after 10 ms)
	Size      int           // data bytes (-s); 0: DefaultSize; NoData: none
	TTL       int           // IP TTL / IPv6 hop limit of requests (-t); 0: the system's
	Timeout   time.Duration // -W: how long to wait for the last reply when none came at all; 0: 10 s
	Deadline  time.Duration // -w: stop after this long whatever happened (and keep sending until Count replies)
	Pattern   []byte        // -p: up to 16 bytes repeated through the data
	Interface string        // -I NAME: send through this interface (SO_BINDTODEVICE)
	Source    netip.Addr    // -I ADDR: send from this address
	ID        int           // the echo identifier for a raw socket; 0: a random one
	Socket    SocketMode    // raw, datagram, or raw falling back to datagram

	// The hooks run on the pinging goroutine, in the order things happen;
	// a slow hook delays the next request. Any may be nil.
	OnSend      func(seq int)            // a request went out
	OnSendError func(seq int, err error) // sendto failed (the request still counts as sent)
	OnReply     func(*Reply)             // an echo reply (valid only during the call)
	OnError     func(*ICMPError)         // an ICMP error quoting one of our requests
	OnMissing   func(seq int)            // -O: about to send the next one and seq has no reply yet
	OnIdle      func()                   // about to wait in poll(2): flush buffered output here
}

// Reply is one echo reply.
type Reply struct {
	Seq         int        // the 16-bit sequence number
	From        netip.Addr // who sent it
	Bytes       int        // ICMP bytes: header and data
	TTL         int        // TTL or hop limit it arrived with; -1 if unknown
	RTT         time.Duration
	HasRTT      bool      // the data carried our timestamp (Size >= 16)
	At          time.Time // when the kernel received it (SO_TIMESTAMPNS)
	Dup         bool      // a second (or later) reply to Seq
	BadChecksum bool      // the ICMP checksum is wrong: not counted as received
	Truncated   bool      // shorter than the request
	WrongByte   int       // first data byte after the timestamp that differs from what was sent, or -1
	Want, Got   byte      // that byte as sent and as received
	Data        []byte    // the reply's data; valid only during the call
}

// ICMPError is an ICMP error message about one of our requests, matched
// through the original header it quotes, or an error the kernel queued on a
// datagram socket (IP_RECVERR).
type ICMPError struct {
	Seq        int
	From       netip.Addr // the router or host that sent it
	V6         bool
	Type, Code int
	Info       uint32    // MTU, pointer or gateway
	At         time.Time // when it arrived
	Counted    bool      // an error for the count; redirects and source quench are only reported
	Local      error     // a local error from the error queue (SO_EE_ORIGIN_LOCAL), e.g. EMSGSIZE
}

// Text is iputils' description of the error.
func (e *ICMPError) Text() string {
	if e.Local != nil {
		if errors.Is(e.Local, unix.EMSGSIZE) {
			return fmt.Sprintf("local error: message too long, mtu=%d", e.Info)
		}
		return "local error: " + errText(e.Local)
	}
	return Describe(e.V6, e.Type, e.Code, e.Info)
}

// Pinger is one ping run's socket and state. NewPinger opens and sets up the
// socket; Run pings; Stats may be read from any goroutine meanwhile; Close
// releases the socket.
type Pinger struct {
	cfg      Config
	v6       bool
	dgram    bool
	fd, wake int
	dst      *sys.SockaddrBuf
	id       uint16
	source   netip.Addr
	size     int
	interval time.Duration
	out      []byte // the request: ICMP header and data
	msg      sys.Msg
	errq     sys.Msg
	seqs     seqTable
	start    time.Time

	// The reply and error handed to the hooks live here, not on the
	// stack: a pointer passed to a func value would move them to the heap
	// on every packet.
	lastReply Reply
	lastErr   ICMPError

	mu sync.Mutex // guards st against Stats() from other goroutines
	st Stats
}

// lastID makes the identifiers of pingers in one process distinct: the only
// package-level variable, so two Pingers never share an identifier (which
// would let each count the other's replies).
var lastID atomic.Uint32

func init() { lastID.Store(rand.Uint32()) }

// nextID is a random-looking identifier no other Pinger of this process
// holds (until 65536 have been made).
func nextID() uint16 {
	for {
		id := uint16(lastID.Add(40503)) // odd step: all 65536 values before a repeat
		if id != 0 {
			return id
		}
	}
}

// NewPinger checks cfg, opens the ICMP socket and sets it up. With
// AutoSocket it falls back to a datagram socket when a raw one is not
// permitted (Datagram tells). The caller must Close it.
func NewPinger(cfg Config) (*Pinger, error) {
	if !cfg.Dst.IsValid() {
		return nil, errors.New("no destination address")
	}
	cfg.Dst = cfg.Dst.Unmap()
	p := &Pinger{cfg: cfg, v6: cfg.Dst.Is6(), fd: -1, wake: -1, size: cfg.Size}
	switch {
	case cfg.Size == 0:
		p.size = DefaultSize
	case cfg.Size == NoData:
		p.size = 0
	}
	if err := checkSize(p.size); err != nil {
		return nil, err
	}
	if len(cfg.Pattern) > 16 {
		return nil, errors.New("a pattern is at most 16 bytes")
	}
	switch {
	case cfg.Interval < 0:
		p.interval = 0
	case cfg.Interval == 0 && cfg.Flood:
		p.interval = 0
	case cfg.Interval == 0:
		p.interval = DefaultInterval
	default:
		p.interval = cfg.Interval
	}
	if p.interval < MinUserInterval && sys.Getuid() != 0 {
		return nil, fmt.Errorf("cannot flood; minimal interval allowed for user is %dms", MinUserInterval/time.Millisecond)
	}
	if cfg.TTL < 0 || cfg.TTL > 255 {
		return nil, fmt.Errorf("invalid TTL %d: 0 <= ttl <= 255", cfg.TTL)
	}
	if cfg.Source.IsValid() && cfg.Source.Unmap().Is6() != p.v6 {
		return nil, fmt.Errorf("source address %v is not of the destination's family", cfg.Source)
	}
	if err := p.open(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Pinger) open() error {
	var err error
	if p.cfg.Source.IsValid() {
		p.source = p.cfg.Source.Unmap()
	} else if p.source, err = sourceFor(p.cfg.Dst, p.cfg.Interface); err != nil {
		return err
	}
	p.fd, p.dgram, err = openICMP(p.v6, p.cfg.Socket)
	if err != nil {
		return err
	}
	p.id = uint16(p.cfg.ID)
	if p.id == 0 {
		p.id = nextID()
	}
	var bindSrc netip.Addr
	if p.cfg.Source.IsValid() {
		bindSrc = p.source
	}
	if kid, err := bindSource(p.fd, p.v6, p.dgram, bindSrc); err != nil {
		return err
	} else if p.dgram {
		p.id = kid // the kernel's choice: it rewrites the field anyway
	}
	if err := setupSocket(p.fd, p.v6, p.dgram, p.id, &p.cfg); err != nil {
		return err
	}
	if p.wake, err = sys.Eventfd(unix.EFD_NONBLOCK); err != nil {
		return err
	}
	family := unix.AF_INET
	if p.v6 {
		family = unix.AF_INET6
	}
	p.dst = sys.NewSockaddrBuf(sys.Addr{Family: family, IP: p.cfg.Dst})
	p.buildRequest()
	p.msg = sys.Msg{Data: make([]byte, p.size+icmpHeaderLen+4096), Control: make([]byte, 512)}
	p.errq = sys.Msg{Data: make([]byte, p.size+icmpHeaderLen+576), Control: make([]byte, 512)}
	p.st.Timing = p.size >= timestampLen
	p.st.Flood = p.cfg.Flood || p.interval == 0
	return nil
}

// buildRequest lays out the echo request once: header, then the data. The
// data is iputils' 0, 1, 2, ... (or the -p pattern); a timestamp overwrites
// its first 16 bytes at each send.
func (p *Pinger) buildRequest() {
	data := make([]byte, p.size)
	if len(p.cfg.Pattern) > 0 {
		for i := range data {
			data[i] = p.cfg.Pattern[i%len(p.cfg.Pattern)]
		}
	} else {
		for i := range data {
			data[i] = byte(i)
		}
	}
	t := ICMPEcho
	if p.v6 {
		t = ICMPv6Echo
	}
	p.out = Echo{V6: p.v6, Type: t, ID: p.id, Data: data}.Marshal(make([]byte, 0, icmpHeaderLen+p.size))
}

// Datagram reports whether the Pinger fell back to (or was asked for) an
// ICMP datagram socket.
func (p *Pinger) Datagram() bool { return p.dgram }

// ID is the echo identifier: ours on a raw socket, the kernel's on a
// datagram socket.
func (p *Pinger) ID() uint16 { return p.id }

// Source is the address requests leave from.
func (p *Pinger) Source() netip.Addr { return p.source }

// Size is the number of data bytes per request.
func (p *Pinger) Size() int { return p.size }

// Stats is a snapshot of the counts so far; safe from any goroutine.
func (p *Pinger) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// Close releases the sockets.
func (p *Pinger) Close() error {
	var err error
	if p.fd >= 0 {
		err = sys.Close(p.fd)
		p.fd = -1
	}
	if p.wake >= 0 {
		sys.Close(p.wake)
		p.wake = -1
	}
	return err
}

// Ping runs one ping with cfg until it is done or ctx is cancelled, and
// returns the statistics.
func Ping(ctx context.Context, cfg Config) (Stats, error) {
	p, err := NewPinger(cfg)
	if err != nil {
		return Stats{}, err
	}
	defer p.Close()
	return p.Run(ctx)
}

// Run pings until Count replies (or errors) came, the Deadline passed, the
// last reply's wait ran out, or ctx is cancelled (SIGINT, for ping); then it
// returns the statistics. It is iputils' main loop: send what is due, read
// what has arrived without waiting, and only then wait in poll(2) for the
// socket or the next send, whichever comes first. A Pinger runs once.
func (p *Pinger) Run(ctx context.Context) (Stats, error) {
	if p.fd < 0 {
		return Stats{}, errors.New("pinger is closed")
	}
	// A cancelled context wakes the poll through the eventfd.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			var one [8]byte
			binary.NativeEndian.PutUint64(one[:], 1)
			sys.Write(p.wake, one[:])
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	cfg := &p.cfg
	linger := cfg.Timeout
	if linger <= 0 {
		linger = DefaultTimeout
	}
	p.start = time.Now()
	var deadlineAt, exitAt, lastSend time.Time
	if cfg.Deadline > 0 {
		deadlineAt = p.start.Add(cfg.Deadline)
	}
	nextSend := p.start
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.wake), Events: unix.POLLIN}}
	var runErr error
	empty := false // the last read found nothing queued

	for ctx.Err() == nil {
		st := &p.st
		if cfg.Count > 0 && st.Received+st.Errors >= cfg.Count {
			break
		}
		if cfg.Deadline > 0 && st.Errors > 0 {
			break
		}
		now := time.Now()
		if (!deadlineAt.IsZero() && !now.Before(deadlineAt)) || (!exitAt.IsZero() && !now.Before(exitAt)) {
			// Time is up, but poll may have said a reply is queued: one
			// that arrived in time while this process waited for a CPU.
			// iputils reads what is queued before it acts on its exit
			// alarm, and so does this.
			if !empty {
				if _, _, err := p.drain(); err != nil {
					runErr = err
				}
			}
			break
		}

		// Send what is due, and work out how long until the next one.
		wait := time.Duration(-1)
		if cfg.Count > 0 && st.Transmitted >= cfg.Count && cfg.Deadline == 0 {
			if exitAt.IsZero() {
				exitAt = now.Add(p.exitWait(linger))
			}
		} else if p.interval == 0 {
			inFlight := p.seqs.inFlight(st.Transmitted, st.Received+st.Errors)
			if inFlight == 0 || now.Sub(lastSend) >= floodWait {
				p.send(now)
				lastSend, empty = now, false
			}
			wait = floodWait - now.Sub(lastSend)
		} else {
			if !now.Before(nextSend) {
				p.send(now)
				empty = false
				nextSend = nextSend.Add(p.interval)
				if !nextSend.After(now) {
					nextSend = now.Add(p.interval)
				}
			}
			wait = nextSend.Sub(now)
		}
		if cfg.Count > 0 && st.Transmitted >= cfg.Count && cfg.Deadline == 0 && exitAt.IsZero() {
			exitAt = now.Add(p.exitWait(linger))
		}

		// Read what is there already: on loopback the reply to a flood
		// request is queued before sendto returns. Once a read found the
		// queue empty, only poll's word makes it worth another.
		if !empty {
			got, drainedAll, err := p.drain()
			if err != nil {
				runErr = err
				break
			}
			empty = drainedAll
			if got > 0 {
				continue
			}
		}

		for _, t := range []time.Time{exitAt, deadlineAt} {
			if !t.IsZero() {
				if d := t.Sub(now); wait < 0 || d < wait {
					wait = max(d, 0)
				}
			}
		}
		if cfg.OnIdle != nil {
			cfg.OnIdle()
		}
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := sys.Poll(fds, wait); err != nil {
			runErr = err
			break
		}
		if fds[1].Revents != 0 {
			break // cancelled
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			empty = false
		}
		if fds[0].Revents&unix.POLLERR != 0 {
			if err := p.drainErrors(); err != nil {
				runErr = err
				break
			}
		}
	}
	if cfg.OnIdle != nil {
		cfg.OnIdle()
	}
	return p.Stats(), runErr
}

// exitWait is how long to wait for replies after the last request: twice
// the longest round trip (at least one interval) if any reply came, else the
// -W timeout (iputils' __schedule_exit).
func (p *Pinger) exitWait(linger time.Duration) time.Duration {
	if p.st.Received == 0 {
		return linger
	}
	w := 2 * p.st.Max()
	if w < p.interval {
		w = p.interval
	}
	return w
}

// send transmits the next request, stamped with now (the time of the loop's
// turn that sends it).
func (p *Pinger) send(now time.Time) {
	st := &p.st
	if p.cfg.OnMissing != nil && st.Transmitted > 0 && !p.seqs.test(uint16(st.Transmitted)) {
		p.cfg.OnMissing(int(uint16(st.Transmitted)))
	}
	seq := uint16(st.Transmitted + 1)
	p.seqs.clear(seq)
	binary.BigEndian.PutUint16(p.out[6:], seq)
	if st.Timing {
		// The loop's clock reading, taken just before: a flood sends
		// as often as the kernel answers, and a second reading per
		// packet would cost more than the few hundred nanoseconds it
		// would move the stamp.
		binary.NativeEndian.PutUint64(p.out[8:], uint64(now.Unix()))
		binary.NativeEndian.PutUint64(p.out[16:], uint64(now.Nanosecond()))
	}
	p.out[2], p.out[3] = 0, 0
	if !p.v6 {
		binary.BigEndian.PutUint16(p.out[2:], Checksum(p.out))
	}
	_, err := sys.SendtoBufNonblock(p.fd, p.out, 0, p.dst)
	p.mu.Lock()
	st.Transmitted++
	p.seqs.sent(st.Transmitted)
	st.Elapsed = now.Sub(p.start)
	p.mu.Unlock()
	if err != nil {
		if p.dgram {
			p.drainErrors()
		}
		if p.cfg.OnSendError != nil {
			p.cfg.OnSendError(int(seq), err)
		}
		return
	}
	if p.cfg.OnSend != nil {
		p.cfg.OnSend(int(seq))
	}
}

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
	pk, err := p.parse(m.Data[:min(m.N, len(m.Data))])
	if err != nil {
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
	p.classify(&pk, ttl, at, m.FromIP())
}

// parse decodes a datagram as this Pinger's socket delivers it: with the
// IPv4 header on a raw IPv4 socket, without on the others.
func (p *Pinger) parse(b []byte) (Packet, error) {
	if p.v6 || p.dgram {
		return ParseICMP(b, p.v6)
	}
	return ParseIPv4(b)
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

// reply counts an echo reply the way iputils' gather_statistics does.
func (p *Pinger) reply(pk *Packet, ttl int, at time.Time, from netip.Addr) {
	st := &p.st
	r := &p.lastReply
	*r = Reply{Seq: int(pk.Seq), From: from, Bytes: pk.Len, TTL: ttl, At: at, Data: pk.Data, WrongByte: -1}
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
			r.RTT, r.HasRTT = time.Duration(max(us, 0))*time.Microsecond, true
		case sent.Before(p.start) || us < 0:
			// Sent before we began, or after it came back: a forged
			// (or damaged) timestamp, or a stepped clock. iputils
			// takes it (clamping a negative time to 0); one forged
			// 1970 stamp would then own max, avg and mdev for the run.
			st.BadTimes++
		default:
			r.RTT, r.HasRTT = time.Duration(us)*time.Microsecond, true
			st.addRTT(us)
		}
	}
	switch {
	case !pk.ChecksumOK:
		st.Corrupted++
		r.BadChecksum = true
	case p.seqs.test(pk.Seq):
		st.Duplicates++
		r.Dup = true
	default:
		p.seqs.set(pk.Seq)
		st.Received++
	}
	p.mu.Unlock()
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
	if p.cfg.OnReply != nil {
		p.cfg.OnReply(r)
	}
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
