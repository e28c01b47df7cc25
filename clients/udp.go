package clients

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// UDPPrompt is the course's UDP client prompt.
const UDPPrompt = "Type Something(q or Q to exit:)"

// UDP is the course's UDP echo client: each line the user types is one
// datagram to the server (no newline is needed: UDP keeps message
// boundaries), and the reply is printed as "Received: ...".
//
// UDP does not say when a datagram is lost, so a client that simply waits in
// recvfrom may wait forever. This one sets SO_RCVTIMEO: a recvfrom that waits
// longer than Timeout fails with EAGAIN, the client says so and goes on. A
// reply that comes after its timeout would then be taken for the answer to
// the next line; since an echo is the line itself, one that differs is shown
// as late, and the client waits on for its own.
type UDP struct {
	Prompt  string
	Timeout time.Duration // how long to wait for each reply
	In      int           // the descriptor the user types on (0)
	Out     io.Writer
}

// UDPResult counts what a UDP client session did.
type UDPResult struct {
	Sent, Received, Lost int
}

// udpReplyMax is more than the largest UDP payload (65535 less the headers),
// so no reply is ever cut.
const udpReplyMax = 64 << 10

// Run talks to server until the user types q or Q or the input ends.
func (u *UDP) Run(server sys.Addr) (UDPResult, error) {
	var res UDPResult
	fd, err := sys.SocketFor(server, unix.SOCK_DGRAM)
	if err != nil {
		return res, err
	}
	defer sys.Close(fd)
	if err := sys.SetRecvTimeout(fd, u.Timeout); err != nil {
		return res, err
	}
	input := protocol.NewInput(u.In, u.Out)
	buf := make([]byte, udpReplyMax)
	for {
		fmt.Fprint(u.Out, u.Prompt)
		line, err := input.Line()
		if err == io.EOF {
			fmt.Fprintln(u.Out)
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if protocol.IsQuit(line) {
			return res, nil
		}
		if _, err := sys.Sendto(fd, line, 0, server); err != nil {
			if sys.Errno(err) == unix.EMSGSIZE {
				// One line is one datagram, and a datagram has a maximum
				// size (65507 bytes of UDP data over IPv4): it is not cut.
				return res, fmt.Errorf("a line of %d bytes%s does not fit in one datagram: %w", len(line), orMore(len(line)), err)
			}
			return res, err
		}
		res.Sent++
		if err := u.awaitReply(fd, server, line, buf, &res); err != nil {
			return res, err
		}
	}
}

// awaitReply waits for the server's echo of line and prints it. Anyone can
// send a datagram to our port, and recvfrom says who did (UNP 8.8): a
// datagram from anyone but the server is reported (the first of each wait;
// the rest are counted) and ignored, and it does not extend the wait, so a
// stranger who keeps sending cannot keep the client waiting.
func (u *UDP) awaitReply(fd int, server sys.Addr, line, buf []byte, res *UDPResult) error {
	deadline := time.Now().Add(u.Timeout)
	strangers := 0
	defer func() {
		if strangers > 1 {
			fmt.Fprintf(u.Out, "Ignored %d more datagrams from others than %s\n", strangers-1, server)
		}
		if strangers > 0 && u.Timeout > 0 {
			sys.SetRecvTimeout(fd, u.Timeout) // the next wait is a whole one
		}
	}()
	for {
		n, from, _, err := sys.Recvfrom(fd, buf, 0)
		if strangers > 0 && u.Timeout > 0 && !time.Now().Before(deadline) {
			// Strangers kept the queue full, so recvfrom never waited
			// long enough to time out: the wait is over all the same.
			err = unix.EAGAIN
		}
		if sys.IsTemporary(err) {
			res.Lost++
			fmt.Fprintf(u.Out, "No reply from %s within %v: the datagram or its echo was lost, or nothing listens there (UDP does not tell)\n",
				server, u.Timeout)
			return nil
		}
		if err != nil {
			return err
		}
		if !sameSource(from, server) {
			strangers++
			if strangers == 1 {
				fmt.Fprintf(u.Out, "Ignored a datagram from %s: not the server %s\n", from, server)
			}
			if u.Timeout > 0 {
				left := time.Until(deadline)
				if left < time.Microsecond {
					left = time.Microsecond // SO_RCVTIMEO of 0 would mean forever
				}
				if err := sys.SetRecvTimeout(fd, left); err != nil {
					return err
				}
			}
			continue
		}
		if res.Lost > 0 && !bytes.Equal(buf[:n], line) {
			fmt.Fprintf(u.Out, "Received late (from %s): %s\n", from, protocol.Printable(buf[:n]))
			continue
		}
		res.Received++
		fmt.Fprintf(u.Out, "Received: %s\n", protocol.Printable(buf[:n]))
		return nil
	}
}

// sameSource reports whether a datagram came from the address we sent to.
// An IPv6 zone is left out: the kernel names it by index, we by name. A
// datagram sent to the wildcard (0.0.0.0, ::) goes to this host, and the
// reply comes from one of its addresses (127.0.0.1): any address of this
// host, on the server's port, is the server. What this check cannot take is
// UNP 8.8's other case, a server on a host with several addresses that
// answers from another one than we sent to: its replies are reported and
// ignored (a server that replies from the address it was asked on, as
// IP_PKTINFO lets it, has none of that trouble).
func sameSource(from, server sys.Addr) bool {
	if from.Family != server.Family {
		return false
	}
	if from.Family == unix.AF_UNIX {
		return from.Path == server.Path
	}
	if from.Port != server.Port {
		return false
	}
	if server.IP.IsUnspecified() {
		return sys.IsLocalAddr(from.IP)
	}
	return from.IP.WithZone("") == server.IP.WithZone("")
}

// orMore says " or more" for a line as long as the input reader hands over
// at once (64 KiB): the rest of it would have been the next message.
func orMore(n int) string {
	if n >= 64<<10 {
		return " or more"
	}
	return ""
}
