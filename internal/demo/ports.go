package demo

// ports: the course's table of port numbers, set beside what this kernel
// really does. IANA's dynamic range is 49152-65535, but Linux draws
// ephemeral ports from net.ipv4.ip_local_port_range (32768-60999 by
// default); ports below net.ipv4.ip_unprivileged_port_start need root or
// CAP_NET_BIND_SERVICE, and bind(2) is asked rather than the user id
// guessed at; and a connect shows the port it was given with getsockname.

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Ports runs the ports demo, writing to w: the IANA ranges, this kernel's
// ephemeral range and privileged ports (read from sysctl, and for the
// latter also asked of bind(2)), and the port a connect on loopback gets.
func Ports(w io.Writer) error {
	lo, hi, err := ephemeralRange()
	if err != nil {
		return err
	}
	start, err := sysctlInt("net.ipv4.ip_unprivileged_port_start")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Port numbers (IANA, RFC 6335):")
	fmt.Fprintln(w, "  0-1023       well-known (system) ports: services such as http (80) and smtp (25)")
	fmt.Fprintln(w, "  1024-49151   registered (user) ports: any program may take one")
	fmt.Fprintln(w, "  49152-65535  dynamic (private) ports: IANA's suggested pool for ephemeral ports")
	fmt.Fprintln(w, "\nThis kernel:")
	fmt.Fprintf(w, "  ephemeral ports     %d-%d (net.ipv4.ip_local_port_range): the pool Linux really draws from,\n", lo, hi)
	fmt.Fprintln(w, "                      not the 49152-65535 the course's notes give")
	fmt.Fprintf(w, "  privileged ports    below %d (net.ipv4.ip_unprivileged_port_start): bind needs root or CAP_NET_BIND_SERVICE\n", start)
	if start > 1 {
		may, why := mayBindBelow(start)
		verdict := "no"
		if may {
			verdict = "yes"
		}
		fmt.Fprintf(w, "  this process may bind below %d: %s (%s)\n", start, verdict, why)
	}
	local, remote, err := ephemeralConnect()
	if err != nil {
		return err
	}
	where := "inside"
	if local.Port < lo || local.Port > hi {
		where = "outside"
	}
	fmt.Fprintln(w, "\nA connect just now:")
	fmt.Fprintf(w, "  %s -> %s: connect gave the socket port %d (getsockname), %s the ephemeral range\n",
		local, remote, local.Port, where)
	return nil
}

func sysctlInt(name string) (int, error) {
	v, err := sys.Sysctl(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%s: unexpected value %q", name, v)
	}
	return n, nil
}

// ephemeralRange reads ip_local_port_range: two numbers, tab-separated.
func ephemeralRange() (int, int, error) {
	const name = "net.ipv4.ip_local_port_range"
	v, err := sys.Sysctl(name)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(v)
	if len(f) == 2 {
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil {
			return lo, hi, nil
		}
	}
	return 0, 0, fmt.Errorf("%s: unexpected value %q", name, v)
}

// mayBindBelow asks the kernel rather than guessing from the user id: it
// binds (and at once closes, without listening) a socket on 127.0.0.1 at the
// port just below the unprivileged start. EACCES means no; success, or
// EADDRINUSE (someone has it, but we were allowed to ask), means yes.
func mayBindBelow(start int) (bool, string) {
	a := sys.Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: start - 1}
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return false, err.Error()
	}
	defer sys.Close(fd)
	err = sys.Bind(fd, a)
	switch sys.Errno(err) {
	case 0:
		return true, "bind " + a.String() + " succeeded"
	case unix.EADDRINUSE:
		return true, "bind " + a.String() + ": in use, but permitted"
	}
	return false, err.Error()
}

// ephemeralConnect connects to a listener of its own on 127.0.0.1 and
// returns the address the kernel gave the connecting socket: a client does
// not bind, connect(2) picks its port from the ephemeral range.
func ephemeralConnect() (local, remote sys.Addr, err error) {
	loopback := sys.Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	lfd, remote, err := sys.Listener(loopback, 1, false)
	if err != nil {
		return local, remote, err
	}
	defer sys.Close(lfd)
	fd, err := sys.Dial(remote, unix.SOCK_STREAM, 0)
	if err != nil {
		return local, remote, err
	}
	defer sys.Close(fd)
	local, err = sys.Getsockname(fd)
	if err != nil {
		return local, remote, err
	}
	// Take the connection off the queue, so both ends close cleanly.
	cfd, _, err := sys.Accept4(lfd, 0)
	if err == nil {
		sys.Close(cfd)
	}
	return local, remote, err
}
