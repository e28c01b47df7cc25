package servers

import (
	"net/netip"
	"strconv"
	"time"

	"netprog/sys"
)

// An echo server answers whoever a datagram says sent it, and UDP lets
// anyone say anything: a datagram's source address is whatever its sender
// wrote. Two echo servers therefore make a loop: one spoofed datagram
// "from" server B's port, sent to server A, is echoed to B, which echoes it
// to A, and so on for ever (the same attack as the old echo/chargen UDP
// loop, CERT CA-1996-01). A server whose own address is the spoofed source
// echoes to itself, at a full core. udpGuard is what stands in the way:
//
//   - a datagram from port 0 is dropped: no socket can be sent to there;
//   - a datagram from this server's own port on an address of this host is
//     dropped: it is the server talking to itself;
//   - every source may make the server send at most Rate datagrams a
//     second (a token bucket, Rate deep): a loop between two servers ends
//     once its datagram is refused, and a spoofed flood cannot turn the
//     server into an amplifier aimed at a victim.
//
// Each kind is counted for the summary, and logged once per source.
type udpGuard struct {
	port    int // the server's own port
	rate    int // datagrams a second per source; 0: no limit
	sources map[netip.AddrPort]*bucket

	looped, limited int64
	// told is whether a kind of drop that has no bucket (port 0, a loop
	// to ourselves) has been logged: once, or a spoofed flood would flood
	// the log too.
	toldPort0, toldSelf bool
}

// maxSources bounds the table of buckets: a flood from spoofed sources
// (each a new address) must not grow it without end. When full, buckets
// idle for a second (full again by then) are forgotten; if none is, the new
// source shares one overflow bucket.
const maxSources = 4096

// bucket is one source's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
	warned bool // its drops have been logged
}

func newUDPGuard(port, rate int) *udpGuard {
	return &udpGuard{port: port, rate: rate, sources: map[netip.AddrPort]*bucket{}}
}

// admit decides whether to answer a datagram from from; when it says no,
// note is a line for the log the first time a source is refused, or "".
func (g *udpGuard) admit(from sys.Addr, now time.Time) (ok bool, note string) {
	ip := from.IP.Unmap()
	switch {
	case from.Port == 0:
		g.looped++
		return false, once(&g.toldPort0, "dropped a datagram from "+from.String()+": port 0 cannot be answered (counted, said once)")
	case from.Port == g.port && sys.IsLocalAddr(ip):
		// bind(2) to the address succeeds: it is this host's, and the
		// port is ours; it is us (or another socket on our port).
		g.looped++
		return false, once(&g.toldSelf, "dropped a datagram from "+from.String()+": this server's own address and port, a spoofed loop (counted, said once)")
	case g.rate <= 0:
		return true, ""
	}
	b := g.bucketFor(netip.AddrPortFrom(ip, uint16(from.Port)), now)
	b.tokens = min(float64(g.rate), b.tokens+now.Sub(b.last).Seconds()*float64(g.rate))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, ""
	}
	g.limited++
	if b.warned {
		return false, ""
	}
	b.warned = true
	return false, "rate limit: not answering " + from.String() + " beyond " + strconv.Itoa(g.rate) + " datagrams a second (-rate); dropped datagrams are counted in the summary"
}

// once returns note the first time, and "" after.
func once(told *bool, note string) string {
	if *told {
		return ""
	}
	*told = true
	return note
}

// bucketFor finds or makes the bucket of a source.
func (g *udpGuard) bucketFor(src netip.AddrPort, now time.Time) *bucket {
	if b, ok := g.sources[src]; ok {
		return b
	}
	if len(g.sources) >= maxSources {
		for s, b := range g.sources {
			if now.Sub(b.last) > time.Second {
				delete(g.sources, s)
			}
		}
	}
	if len(g.sources) >= maxSources {
		src = netip.AddrPort{} // the overflow bucket, shared
		if b, ok := g.sources[src]; ok {
			return b
		}
	}
	b := &bucket{tokens: float64(g.rate), last: now}
	g.sources[src] = b
	return b
}
