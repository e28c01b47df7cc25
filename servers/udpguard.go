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
// to A, and so on for ever (the old echo/chargen UDP loop, CERT CA-1996-01).
// A server whose own address is the spoofed source echoes to itself, at a
// full core. udpGuard is what stands in the way:
//
//   - a datagram from port 0 is dropped: no socket can be sent to there;
//   - a datagram from a port of the classic UDP services that answer
//     anything (echo 7, daytime 13, qotd 17, chargen 19, time 37) is
//     dropped, as inetd's check_loop does: answering one starts a loop;
//   - a datagram from this server's own port on an address of this host is
//     dropped: it is the server talking to itself;
//   - every source address may make the server send at most Rate datagrams
//     a second (a token bucket, Rate deep): a spoofed flood cannot make the
//     server send a victim more than that, and a loop between two echo
//     servers costs at most that. A loop faster than Rate (on loopback, or
//     between hosts less than 1/Rate seconds apart) ends at the first
//     refusal, its one datagram gone; a slower one is bounded, not ended.
//
// Each kind is counted for the summary, and logged once (per source, for
// the rate).
type udpGuard struct {
	port      int // the server's own port
	rate      int // datagrams a second per source address; 0: no limit
	sources   map[netip.Addr]*bucket
	lastSweep time.Time

	looped, limited int64
	// told is whether a kind of drop that has no bucket has been logged:
	// once, or a spoofed flood would flood the log too.
	toldPort0, toldService, toldSelf bool
}

// servicePorts are the classic UDP services that answer any datagram
// (RFC 862, 867, 865, 864, 868): a datagram "from" one is an invitation to
// loop with it.
var servicePorts = map[int]bool{7: true, 13: true, 17: true, 19: true, 37: true}

// maxSources bounds the table of buckets: a flood from spoofed sources
// (each a new address) must not grow it without end. When full, buckets
// idle for a second (full again by then) are forgotten, at most once a
// second; if none is, the new source shares one overflow bucket.
const maxSources = 4096

// bucket is one source address's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
	warned bool // its drops have been logged
}

func newUDPGuard(port, rate int) *udpGuard {
	return &udpGuard{port: port, rate: rate, sources: map[netip.Addr]*bucket{}}
}

// admit decides whether to answer a datagram from from; when it says no,
// note is a line for the log the first time such a refusal happens, or "".
func (g *udpGuard) admit(from sys.Addr, now time.Time) (ok bool, note string) {
	ip := from.IP.Unmap()
	switch {
	case from.Port == 0:
		g.looped++
		return false, once(&g.toldPort0, "dropped a datagram from "+from.String()+": port 0 cannot be answered (counted, said once)")
	case servicePorts[from.Port]:
		g.looped++
		return false, once(&g.toldService, "dropped a datagram from "+from.String()+": a UDP service port that answers anything, a loop waiting to happen (counted, said once)")
	case from.Port == g.port && sys.IsLocalAddr(ip):
		// bind(2) to the address succeeds: it is this host's, and the
		// port is ours; it is us (or another socket on our port).
		g.looped++
		return false, once(&g.toldSelf, "dropped a datagram from "+from.String()+": this server's own address and port, a spoofed loop (counted, said once)")
	case g.rate <= 0:
		return true, ""
	}
	b := g.bucketFor(ip, now)
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
	return false, "rate limit: not answering " + ip.String() + " beyond " + strconv.Itoa(g.rate) + " datagrams a second (-rate); dropped datagrams are counted in the summary"
}

// once returns note the first time, and "" after.
func once(told *bool, note string) string {
	if *told {
		return ""
	}
	*told = true
	return note
}

// bucketFor finds or makes the bucket of a source address.
func (g *udpGuard) bucketFor(src netip.Addr, now time.Time) *bucket {
	if b, ok := g.sources[src]; ok {
		return b
	}
	if len(g.sources) >= maxSources && now.Sub(g.lastSweep) > time.Second {
		g.lastSweep = now
		for s, b := range g.sources {
			if now.Sub(b.last) > time.Second {
				delete(g.sources, s)
			}
		}
	}
	if len(g.sources) >= maxSources {
		src = netip.Addr{} // the overflow bucket, shared
		if b, ok := g.sources[src]; ok {
			return b
		}
	}
	b := &bucket{tokens: float64(g.rate), last: now}
	g.sources[src] = b
	return b
}
