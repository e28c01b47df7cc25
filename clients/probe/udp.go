package probe

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The UDP server's probes. A datagram is a message: no framing to judge,
// but a buffer that may cut it, and a source to answer.

// udpWait bounds the wait for an echo: on loopback it takes microseconds;
// a datagram lost on the way is not (UDP does not say).
const udpWait = 3 * time.Second

// datagram is what one recvfrom gave.
type datagram struct {
	data []byte
	from sys.Addr
}

// udpSocket opens a nonblocking UDP socket for a's family; connected to a
// when connect is set (the kernel then reports a port nobody listens on,
// from the ICMP error, as ECONNREFUSED, and passes only a's datagrams).
func udpSocket(a sys.Addr, connect bool) (int, error) {
	fd, err := sys.SocketFor(a, unix.SOCK_DGRAM)
	if err != nil {
		return -1, err
	}
	if connect {
		if err := sys.Connect(fd, a); err != nil {
			sys.Close(fd)
			return -1, err
		}
	} else {
		local := sys.Addr{Family: a.Family, IP: a.IP, Port: 0}
		if !a.IP.IsLoopback() {
			local.IP = unspecified(a)
		}
		if err := sys.Bind(fd, local); err != nil {
			sys.Close(fd)
			return -1, err
		}
	}
	if err := sys.SetNonblock(fd, true); err != nil {
		sys.Close(fd)
		return -1, err
	}
	return fd, nil
}

// recvDatagrams reads the datagrams fd has until the deadline, or until
// done says they are enough.
func recvDatagrams(fd int, deadline time.Time, done func([]datagram) bool) ([]datagram, error) {
	var got []datagram
	buf := make([]byte, 64<<10)
	for !done(got) {
		n, from, _, err := sys.Recvfrom(fd, buf, 0)
		if err == nil {
			got = append(got, datagram{bytes.Clone(buf[:n]), from})
			continue
		}
		if !sys.IsTemporary(err) {
			return got, err
		}
		if _, err := waitFd(fd, unix.POLLIN, deadline, "recvfrom"); err != nil {
			return got, err
		}
	}
	return got, nil
}

// udpOnce sends msg from a fresh connected socket and checks its echo.
func udpOnce(a sys.Addr, msg string, deadline time.Time) error {
	fd, err := udpSocket(a, true)
	if err != nil {
		return err
	}
	defer sys.Close(fd)
	if _, err := sys.Send(fd, []byte(msg), 0); err != nil {
		return err
	}
	got, err := recvDatagrams(fd, minTime(deadline, time.Now().Add(udpWait)), func(d []datagram) bool { return len(d) > 0 })
	if err != nil {
		return fmt.Errorf("no echo of %q: %w", msg, err)
	}
	if string(got[0].data) != msg {
		return fmt.Errorf("%q answered %s", msg, Quote(got[0].data))
	}
	return nil
}

func udpReply(s *Session) Result {
	const msg = "hello"
	fd, err := udpSocket(s.T.Addr, true)
	if err != nil {
		s.noServer = fmt.Errorf("%w at %s: %v", ErrNoServer, s.T.Addr, err)
		return Result{}
	}
	defer sys.Close(fd)
	if _, err := sys.Send(fd, []byte(msg), 0); err != nil {
		return finding("sending %q: %v", msg, err)
	}
	start := time.Now()
	got, err := recvDatagrams(fd, start.Add(udpWait), func(d []datagram) bool { return len(d) > 0 })
	switch {
	case refused(err):
		s.noServer = fmt.Errorf("%w at %s (udp): %v", ErrNoServer, s.T.Addr, err)
		return Result{}
	case err != nil:
		return finding("no reply to %q in %v (%v)", msg, udpWait, err)
	case string(got[0].data) != msg:
		return finding("%q answered %s: not %s", msg, Quote(got[0].data), s.T.Proto.Describe())
	}
	s.protoOK = true
	return pass("%q answered %q (%s)", msg, got[0].data, ms(time.Since(start)))
}

// probeUDPLarge: a datagram longer than the notes' buffer.
func probeUDPLarge(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	fd, err := udpSocket(s.T.Addr, true)
	if err != nil {
		return finding("%v", err)
	}
	defer sys.Close(fd)
	big := bytes.Repeat([]byte{'x'}, 8000)
	if _, err := sys.Send(fd, big, 0); err != nil {
		return finding("sending 8000 bytes: %v", err)
	}
	got, err := recvDatagrams(fd, time.Now().Add(udpWait), func(d []datagram) bool { return len(d) > 0 })
	switch {
	case err != nil:
		return finding("no reply to an 8000-byte datagram in %v (%v): dropped whole?", udpWait, err)
	case bytes.Equal(got[0].data, big):
		return Result{Status: Pass, Figures: figures("bytes", len(got[0].data)), Fact: "an 8000-byte datagram came back whole"}
	case bytes.HasPrefix(big, got[0].data):
		return Result{Status: Finding, Figures: figures("bytes", len(got[0].data)),
			Fact: fmt.Sprintf("an 8000-byte datagram came back cut to %d bytes: the server's recvfrom buffer is %d bytes, and the kernel dropped the rest",
				len(got[0].data), len(got[0].data))}
	}
	return finding("an 8000-byte datagram answered %s", Quote(got[0].data))
}

// probeUDPSender: two clients, one datagram each, back to back; each must
// get its own echo, from the server's address, and nothing else.
func probeUDPSender(s *Session) Result {
	if r, ok := s.needProtocol(); !ok {
		return r
	}
	var fds [2]int
	for i := range fds {
		fd, err := udpSocket(s.T.Addr, false)
		if err != nil {
			return finding("%v", err)
		}
		defer sys.Close(fd)
		fds[i] = fd
	}
	msgs := [2]string{"from the first client", "from the second client"}
	for i, fd := range fds {
		if _, err := sys.Sendto(fd, []byte(msgs[i]), 0, s.T.Addr); err != nil {
			return finding("sending %q: %v", msgs[i], err)
		}
	}
	deadline := time.Now().Add(udpWait)
	var got [2][]datagram
	var errs [2]error
	for i, fd := range fds {
		got[i], errs[i] = recvDatagrams(fd, deadline, func(d []datagram) bool {
			for _, g := range d {
				if string(g.data) == msgs[i] {
					return true
				}
			}
			return false
		})
	}
	// What else came by now, without waiting.
	for i, fd := range fds {
		more, _ := recvDatagrams(fd, time.Now(), func([]datagram) bool { return false })
		got[i] = append(got[i], more...)
	}
	for i := range fds {
		if errs[i] != nil {
			return finding("client %d got no echo of %q (%v); it got %d other datagrams", i+1, msgs[i], errs[i], len(got[i]))
		}
		for _, g := range got[i] {
			if string(g.data) != msgs[i] {
				return finding("client %d got %s, which another client sent: the server does not answer only the sender", i+1, Quote(g.data))
			}
			if !sameAddr(g.from, s.T.Addr) {
				return finding("client %d's echo came from %s, not %s, where it sent (a client that checks the source drops it)", i+1, g.from, s.T.Addr)
			}
		}
		if len(got[i]) > 1 {
			return finding("client %d got its echo %d times", i+1, len(got[i]))
		}
	}
	return pass("each of 2 clients got its own echo, and only it, from %s", s.T.Addr)
}

// sameAddr compares a datagram's source with the server's address (an
// IPv4-mapped source as its IPv4 address; a wildcard server address
// matches any loopback source).
func sameAddr(from, to sys.Addr) bool {
	if from.Port != to.Port {
		return false
	}
	f, t := from.IP.Unmap().WithZone(""), to.IP.Unmap().WithZone("")
	return f == t || (t.IsUnspecified() && f.IsLoopback())
}

// unspecified is the wildcard address of a's family.
func unspecified(a sys.Addr) netip.Addr {
	if a.Family == unix.AF_INET6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}
