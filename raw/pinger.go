package raw

import (
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
	pk       Packet // the packet msg holds, decoded (decodeIPv4)
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
