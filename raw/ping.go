package raw

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
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
// returns the statistics. A Pinger runs once.
func (p *Pinger) Run(ctx context.Context) (Stats, error) {
	if p.fd < 0 {
		return Stats{}, errors.New("pinger is closed")
	}
	// A cancelled context wakes the poll through the eventfd.
	defer sys.OnCancel(ctx, func() { sys.EventfdSignal(p.wake) })()
	err := p.loop(ctx)
	if p.cfg.OnIdle != nil {
		p.cfg.OnIdle()
	}
	return p.Stats(), err
}

// loop is iputils' main loop: send what is due, read what has arrived
// without waiting, and only then wait in poll(2) for the socket, the next
// send or the end of the run (ping_schedule.go), whichever comes first.
func (p *Pinger) loop(ctx context.Context) error {
	p.start = time.Now()
	s := p.newSchedule()
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.wake), Events: unix.POLLIN}}
	empty := false // the last read found nothing queued

	for ctx.Err() == nil {
		if p.finished() {
			return nil
		}
		now := time.Now()
		if s.timeUp(now) {
			// Time is up, but poll may have said a reply is queued: one
			// that arrived in time while this process waited for a CPU.
			// iputils reads what is queued before it acts on its exit
			// alarm, and so does this.
			if !empty {
				_, _, err := p.drain()
				return err
			}
			return nil
		}

		wait, sent := s.sendDue(now)
		if sent {
			empty = false
		}

		// Read what is there already: on loopback the reply to a flood
		// request is queued before sendto returns. Once a read found the
		// queue empty, only poll's word makes it worth another.
		if !empty {
			got, drainedAll, err := p.drain()
			if err != nil {
				return err
			}
			empty = drainedAll
			if got > 0 {
				continue
			}
		}

		if p.cfg.OnIdle != nil {
			p.cfg.OnIdle()
		}
		cancelled, readable, err := p.await(fds, s.until(now, wait))
		if err != nil || cancelled {
			return err
		}
		if readable {
			empty = false
		}
	}
	return nil
}

// finished reports whether the run has what it came for: Count replies
// (errors included), or, under a -w deadline, any error.
func (p *Pinger) finished() bool {
	st, cfg := &p.st, &p.cfg
	return (cfg.Count > 0 && st.Received+st.Errors >= cfg.Count) || (cfg.Deadline > 0 && st.Errors > 0)
}

// await waits in poll(2) for at most d for the socket (fds[0]) or the
// eventfd that says ctx ended (fds[1]). It reports whether ctx ended and
// whether a packet waits to be read; errors the socket reports (POLLERR on
// a datagram socket with IP_RECVERR) are read from its error queue here.
func (p *Pinger) await(fds []unix.PollFd, d time.Duration) (cancelled, readable bool, err error) {
	fds[0].Revents, fds[1].Revents = 0, 0
	if _, err := sys.Poll(fds, d); err != nil {
		return false, false, err
	}
	if fds[1].Revents != 0 {
		return true, false, nil
	}
	readable = fds[0].Revents&unix.POLLIN != 0
	if fds[0].Revents&unix.POLLERR != 0 {
		err = p.drainErrors()
	}
	return false, readable, err
}
