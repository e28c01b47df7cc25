package clients

import (
	"bytes"
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// What happens to one connection of the generator: open (nonblocking
// connect), send, receive and check, finish a request, fail.

var errIdleClose = errors.New("server closed an idle connection")

// open starts a connection for c. In the echo workload the first request
// goes out once the connection is up. In the connect workload the request
// starts now (its latency includes the handshake) and is sent at once,
// before epoll has said the connection is up: on loopback the handshake
// has usually finished by the time connect(2) returns EINPROGRESS, so this
// saves a round through epoll_wait, and if it has not, the send fails with
// EAGAIN and we wait for EPOLLOUT.
func (g *generator) open(c *benchConn) {
	if !g.echo {
		g.nextPayload(c, g.now())
	}
	fd, err := sys.Socket(g.cfg.Addr.Family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	g.syscalls++
	if err != nil {
		g.fail(c, err)
		return
	}
	c.fd, c.interest, c.connected = fd, 0, false
	g.setFd(fd, c.id)
	if len(g.sources) > 0 {
		g.bindSource(c)
		if c.fd < 0 {
			return
		}
	}
	if g.echo && g.cfg.Addr.Family != unix.AF_UNIX {
		// Small requests never wait for Nagle here (each waits for its
		// echo, which acknowledges it), but a payload of several segments
		// could leave its tail waiting for an ACK the server delays.
		sys.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		g.syscalls++
	}
	done, err := sys.ConnectStart(fd, g.cfg.Addr)
	g.syscalls++
	if err != nil {
		g.fail(c, err)
		return
	}
	switch {
	case !g.echo:
		g.send(c)
	case done:
		c.connected = true
		g.want(c, unix.EPOLLIN)
		if g.mayStart() {
			g.begin(c)
		}
	default:
		g.want(c, unix.EPOLLIN|unix.EPOLLOUT)
	}
}

// connectSources is how many loopback addresses the connect workload
// spreads its connections over, when the server is on IPv4 loopback.
//
// Each connection's client end, which closes first, waits in TIME_WAIT
// for 60 s, holding its port toward the server's address and port. Linux
// lets connect(2) reuse such a port only once its last timestamp is a
// second old (net.ipv4.tcp_tw_reuse), and searches even ports first: from
// one source address, at most about 14 000 connections a second reach one
// server (half of net.ipv4.ip_local_port_range's 28 232 ports), and as
// the even ports run out every connect scans thousands of busy ones,
// costing the generator's CPU. Every address of 127.0.0.0/8 is this host,
// so binding each socket to the next of 127.0.0.1 to 127.0.0.8 (with
// IP_BIND_ADDRESS_NO_PORT, so that connect still picks the port, per
// source address) takes that ceiling out of the measurement: two calls
// more per connection.
const connectSources = 8

// loopbackSources lists the source addresses for a connect workload to
// addr: 127.0.0.1 to 127.0.0.connectSources when addr is on IPv4
// loopback, none otherwise.
func loopbackSources(addr sys.Addr) []sys.Addr {
	if addr.Family != unix.AF_INET || !addr.IP.Is4() || !addr.IP.IsLoopback() {
		return nil
	}
	srcs := make([]sys.Addr, connectSources)
	for i := range srcs {
		srcs[i] = sys.Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i)})}
	}
	return srcs
}

// bindSource binds c's new socket to the next source address, leaving the
// port to connect.
func (g *generator) bindSource(c *benchConn) {
	err := sys.SetsockoptInt(c.fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	g.syscalls++
	if err == nil {
		err = sys.Bind(c.fd, g.sources[g.nextSource])
		g.syscalls++
	}
	g.nextSource = (g.nextSource + 1) % len(g.sources)
	if err != nil {
		g.fail(c, err)
	}
}

// nextPayload readies c's next request, begun at now.
func (g *generator) nextPayload(c *benchConn, now int64) {
	c.seq++
	c.off = (c.id*97 + c.seq) % patternPeriod
	c.sent, c.got = 0, 0
	c.start = now
	c.busy = true
	g.inflight++
}

// begin sends the next request on an open echo connection.
func (g *generator) begin(c *benchConn) {
	g.nextPayload(c, g.now())
	g.send(c)
}

// send writes what is left of c's payload. A full socket buffer (large
// payloads: the server cannot echo faster than we read) leaves the rest for
// EPOLLOUT; meanwhile the echo is read as it comes, or both sides would
// block on full buffers.
func (g *generator) send(c *benchConn) {
	n, err := sys.Send(c.fd, g.pattern[c.off+c.sent:c.off+g.cfg.Size], 0)
	g.syscalls++
	c.sent += n
	if err != nil {
		if !sys.IsTemporary(err) {
			g.fail(c, err)
			return
		}
		if n > 0 {
			g.syscalls++ // sys.Send wrote part, then met EAGAIN on its next try
		}
		g.want(c, unix.EPOLLIN|unix.EPOLLOUT)
		return
	}
	if !g.echo {
		c.connected = true // it took our bytes: the handshake is over
	}
	g.want(c, unix.EPOLLIN)
}

// want sets the events epoll reports for c, if they changed.
func (g *generator) want(c *benchConn, events uint32) {
	if c.interest == events {
		return
	}
	op := unix.EPOLL_CTL_MOD
	if c.interest == 0 {
		op = unix.EPOLL_CTL_ADD
	}
	err := sys.EpollCtl(g.ep, op, c.fd, events)
	g.syscalls++
	if err != nil {
		g.fail(c, err)
		return
	}
	c.interest = events
}

// handle acts on one epoll event.
func (g *generator) handle(ev *unix.EpollEvent) {
	fd := int(ev.Fd)
	if fd < 0 || fd >= len(g.byFd) || g.byFd[fd] < 0 {
		return
	}
	c := &g.conns[g.byFd[fd]]
	e := ev.Events
	if !c.connected {
		if e&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			err := sys.SocketError(fd, g.cfg.Addr)
			g.syscalls++
			if err == nil {
				err = errEOF
			}
			g.fail(c, err)
			return
		}
		if e&unix.EPOLLOUT == 0 {
			return
		}
		c.connected = true
		if g.echo {
			if g.mayStart() {
				g.begin(c)
			} else {
				g.want(c, unix.EPOLLIN)
			}
			return
		}
	}
	if e&unix.EPOLLOUT != 0 && c.busy && c.sent < g.cfg.Size {
		g.send(c)
		if c.fd != fd {
			return
		}
	}
	if e&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		g.recv(c)
	}
}

// recv reads what has come back on c and checks it byte by byte against
// what was sent. It never reads past the current payload, so bytes the
// server sends too many are caught as a mismatch of the next one.
func (g *generator) recv(c *benchConn) {
	want := 1 // an idle connection: only an end of file or junk can come
	if c.busy {
		want = min(g.cfg.Size-c.got, len(g.rbuf))
	}
	n, err := sys.Read(c.fd, g.rbuf[:want])
	g.syscalls++
	switch {
	case err != nil && sys.IsTemporary(err):
		return
	case err != nil:
		g.fail(c, err)
		return
	case n == 0 && c.busy:
		g.fail(c, errEOF)
		return
	case n == 0:
		g.fail(c, errIdleClose)
		return
	case !c.busy:
		g.fail(c, errIdleData)
		return
	}
	if !bytes.Equal(g.rbuf[:n], g.pattern[c.off+c.got:c.off+c.got+n]) {
		g.fail(c, errMismatch)
		return
	}
	c.got += n
	if c.got == g.cfg.Size {
		g.complete(c)
	}
}

// complete finishes c's request: the echo is all back and checked.
func (g *generator) complete(c *benchConn) {
	now := g.now()
	c.busy = false
	g.inflight--
	c.done++
	g.total++
	g.lastDone = now
	if c.done == 1 {
		g.warmed++
	}
	if g.phase == phaseMeasure {
		g.requests++
		g.bytes += int64(g.cfg.Size)
		g.hist.Record(timeNs(now - c.start))
	}
	if g.echo {
		if g.mayStart() {
			g.begin(c)
		}
		return
	}
	g.drop(c)
	if g.mayStart() {
		g.open(c)
	}
}

// fail counts err, closes c and marks it to be opened again after this
// round of events (not at once: against a dead server that would spin).
func (g *generator) fail(c *benchConn, err error) {
	g.countError(err)
	if !c.connected {
		g.connectFailures++
		if g.connectErr == nil {
			g.connectErr = err
		}
	}
	if c.fd >= 0 {
		g.drop(c)
	}
	if c.busy {
		c.busy = false
		g.inflight--
	}
	c.retry = true
	g.retries++
}

// reopen opens again the connections that failed.
func (g *generator) reopen() {
	g.retries = 0
	for i := range g.conns {
		c := &g.conns[i]
		if !c.retry {
			continue
		}
		c.retry = false
		if g.echo || g.mayStart() {
			g.open(c)
		}
	}
}

// drop closes c's descriptor (which also takes it out of epoll).
func (g *generator) drop(c *benchConn) {
	g.byFd[c.fd] = -1
	sys.Close(c.fd)
	g.syscalls++
	c.fd, c.interest, c.connected = -1, 0, false
}

func (g *generator) setFd(fd, id int) {
	if fd >= len(g.byFd) {
		grown := make([]int32, 2*fd+16)
		copy(grown, g.byFd)
		for i := len(g.byFd); i < len(grown); i++ {
			grown[i] = -1
		}
		g.byFd = grown
	}
	g.byFd[fd] = int32(id)
}
