package servers

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// UDPBufSize is the course's recvfrom(512): the most of one datagram the UDP
// server keeps. A longer datagram is cut by the kernel and the rest is lost,
// because UDP keeps the boundaries of messages (unlike TCP, whose next read
// would return the rest); the server says when that happened.
const UDPBufSize = 512

// UDPRate is the default of UDPOptions.Rate: far above what a person
// types, far below what a loop makes (about 80,000 a second here).
const UDPRate = 1000

// UDPOptions are the UDP server's settings beyond Config.
type UDPOptions struct {
	BufSize int // how much of one datagram it keeps (0: UDPBufSize)
	Rate    int // datagrams a second answered per source (0: no limit); see udpguard.go
}

// UDPStats is what the UDP server counts; safe for concurrent use.
type UDPStats struct {
	Datagrams atomic.Int64 // datagrams received
	Bytes     atomic.Int64 // bytes sent back
	Truncated atomic.Int64 // datagrams longer than the buffer
	Looped    atomic.Int64 // not answered: from port 0, a service port (udpguard.go), or this server itself
	Limited   atomic.Int64 // not answered: past their source's rate
}

// Summary prints the counts in one line.
func (s *UDPStats) Summary(w io.Writer) {
	fmt.Fprintf(w, "received %s (%d truncated), echoed %s",
		count(s.Datagrams.Load(), "datagram", "datagrams"), s.Truncated.Load(), count(s.Bytes.Load(), "byte", "bytes"))
	if n := s.Looped.Load(); n > 0 {
		fmt.Fprintf(w, "; dropped %d from port 0, a service port or itself", n)
	}
	if n := s.Limited.Load(); n > 0 {
		fmt.Fprintf(w, "; dropped %d past the rate limit", n)
	}
	fmt.Fprintln(w)
}

// UDP is the course's UDP echo server: recvfrom a datagram, print who said
// what, sendto it back. There is no connection, no accept and no end of file:
// every datagram carries its sender's address, and a datagram of zero bytes
// is a message like any other (it is echoed). Datagrams it must not answer
// (a loop, a flood from one source) are dropped and counted: udpguard.go.
func UDP(ctx context.Context, cfg Config, opt UDPOptions) (*UDPStats, error) {
	bufSize := opt.BufSize
	if bufSize <= 0 {
		bufSize = UDPBufSize
	}
	// No SO_REUSEADDR here: UDP has no TIME_WAIT to wait out, and on Linux
	// two UDP sockets that both set it may bind the same port, so a second
	// server would start silently instead of failing with EADDRINUSE.
	fd, err := sys.SocketFor(cfg.Addr, unix.SOCK_DGRAM)
	if err != nil {
		return nil, err
	}
	defer sys.Close(fd)
	if err := sys.Bind(fd, cfg.Addr); err != nil {
		return nil, err
	}
	bound, err := sys.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	cfg.announce(bound)

	// A signal does not interrupt recvfrom (Go's handlers use SA_RESTART).
	// shutdown(SHUT_RD) does: on an unconnected UDP socket it fails with
	// ENOTCONN but still marks the socket shut and wakes the reader, whose
	// recvfrom returns 0 (see inet_shutdown in the kernel: "Hack to wake up
	// other listeners ... even on unconnected UDP sockets").
	defer stopOnCancel(ctx, fd)()

	st := &UDPStats{}
	guard := newUDPGuard(bound.Port, opt.Rate)
	buf := make([]byte, bufSize)
	for {
		n, from, full, err := sys.Recvfrom(fd, buf, 0)
		if ctx.Err() != nil {
			return st, nil
		}
		if err != nil {
			// ECONNREFUSED and friends report an ICMP error for an earlier
			// sendto (a client that went away); they are not ours to stop for.
			if sys.IsPeerFailure(err) {
				cfg.logf("%v", err)
				continue
			}
			return st, err
		}
		st.Datagrams.Add(1)
		// Judged before it is logged: a spoofed flood must not flood
		// the log either (a refusal is logged once per source).
		ok, note := guard.admit(from, time.Now())
		if note != "" {
			cfg.logf("%s", note)
		}
		if !ok {
			st.Looped.Store(guard.looped)
			st.Limited.Store(guard.limited)
			continue
		}
		cfg.logf("%s :said %s", from, protocol.Printable(buf[:n]))
		if full > n {
			st.Truncated.Add(1)
			cfg.logf("datagram from %s had %d bytes; the %d-byte buffer kept %d, the kernel dropped the rest (MSG_TRUNC)",
				from, full, len(buf), n)
		}
		m, err := sys.Sendto(fd, buf[:n], 0, from)
		st.Bytes.Add(int64(m))
		if err != nil {
			cfg.logf("sendto %s: %v", from, err)
		}
	}
}
