package probe

// The kernel's tables of sockets, /proc/net/{tcp,tcp6,udp,udp6}, joined to
// the descriptors in /proc/PID/fd: who holds a connection, who listens on a
// port, and what waits in TIME_WAIT.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"netprog/sys"
)

// holders lists the processes of the tree that hold socket inode.
func (p Proc) holders(inode string) []int {
	if inode == "" {
		return nil
	}
	pids, states := p.Tree()
	var hold []int
	for _, pid := range pids {
		if states[pid] != 'Z' && slices.Contains((Proc{pid}).sockets(), inode) {
			hold = append(hold, pid)
		}
	}
	return hold
}

// sockEntry is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type sockEntry struct {
	local, remote netip.AddrPort
	state         int // TCP state: 1 ESTABLISHED, 6 TIME_WAIT, 10 LISTEN; UDP 7
	rxQueue       int64
	inode         string
}

const (
	tcpEstablished = 0x01
	tcpTimeWait    = 0x06
	tcpListen      = 0x0A
)

// sockTable reads the kernel's table of sockets for a transport ("tcp" or
// "udp"), IPv4 and IPv6.
func sockTable(proto string) []sockEntry {
	var out []sockEntry
	for _, file := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			l, ok1 := parseHexAddr(f[1])
			r, ok2 := parseHexAddr(f[2])
			st, err := strconv.ParseInt(f[3], 16, 32)
			if !ok1 || !ok2 || err != nil {
				continue
			}
			var rx int64
			if _, q, ok := strings.Cut(f[4], ":"); ok {
				rx, _ = strconv.ParseInt(q, 16, 64)
			}
			out = append(out, sockEntry{local: l, remote: r, state: int(st), rxQueue: rx, inode: f[9]})
		}
	}
	return out
}

// parseHexAddr reads /proc/net's "0100007F:1F90" (IPv4, the address in
// host byte order) or the 32-digit IPv6 form (four host-order words).
func parseHexAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	var ip netip.Addr
	switch len(h) {
	case 8:
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		ip = netip.AddrFrom4(b)
	case 32:
		var b [16]byte
		for i := range 4 {
			v, err := strconv.ParseUint(h[i*8:i*8+8], 16, 32)
			if err != nil {
				return netip.AddrPort{}, false
			}
			binary.LittleEndian.PutUint32(b[i*4:], uint32(v))
		}
		ip = netip.AddrFrom16(b).Unmap()
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// addrPort is a TCP or UDP address as /proc/net shows it (IPv4-mapped
// addresses unmapped).
func addrPort(a sys.Addr) netip.AddrPort {
	return netip.AddrPortFrom(a.IP.Unmap().WithZone(""), uint16(a.Port))
}

// connInode is the inode of the server's end of the TCP connection from
// client to server: the socket whose local address is server and remote
// is client. "" when there is none.
func connInode(server, client sys.Addr) string {
	if server.Family == unix.AF_UNIX {
		return ""
	}
	l, r := addrPort(server), addrPort(client)
	for _, e := range sockTable("tcp") {
		if e.local == l && e.remote == r && e.inode != "0" {
			return e.inode
		}
	}
	return ""
}

// timeWaits counts the TCP connections in TIME_WAIT whose local port is
// port: the ones that keep a server without SO_REUSEADDR from binding it
// again.
func timeWaits(port int) int {
	n := 0
	for _, e := range sockTable("tcp") {
		if e.state == tcpTimeWait && int(e.local.Port()) == port {
			n++
		}
	}
	return n
}

// boundInodes lists the sockets bound to port: listening TCP sockets for
// tcp, bound UDP sockets for udp.
func boundInodes(proto string, port int) []string {
	var inodes []string
	for _, e := range sockTable(proto) {
		if int(e.local.Port()) != port || e.inode == "0" {
			continue
		}
		if proto == "tcp" && e.state != tcpListen {
			continue
		}
		inodes = append(inodes, e.inode)
	}
	return inodes
}

// Listens reports whether a process of pid's tree holds a socket
// listening on port (TCP) or bound to it (UDP).
func Listens(pid int, udp bool, port int) bool { return ServerPid(pid, udp, port) != 0 }

// ServerPid is the first process of pid's tree (pid itself, then its
// descendants, parents before children) that holds a socket listening on
// port (TCP) or bound to it (UDP): the server, where pid may be a wrapper
// that runs it as a child. 0 when none does.
//
// The tree's own sockets are looked up first: a few descriptor directories
// are cheap to read, the kernel's socket table is not (after a load test it
// has tens of thousands of TIME_WAIT lines), and a server still starting
// holds no socket at all. Launchers ask this every few milliseconds.
func ServerPid(pid int, udp bool, port int) int {
	pids, states := Proc{pid}.Tree()
	first := map[string]int{} // socket inode -> the first of pids that holds it
	for i, p := range pids {
		if states[p] == 'Z' {
			continue
		}
		for _, inode := range (Proc{p}).sockets() {
			if _, seen := first[inode]; !seen {
				first[inode] = i
			}
		}
	}
	if len(first) == 0 {
		return 0
	}
	proto := "tcp"
	if udp {
		proto = "udp"
	}
	best := -1
	for _, inode := range boundInodes(proto, port) {
		if i, ok := first[inode]; ok && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return pids[best]
}

// sockets lists the inodes of the sockets the process holds (its
// descriptors that link to "socket:[N]").
func (p Proc) sockets() []string {
	var inodes []string
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
	for _, e := range ents {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, e.Name()))
		if inode, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes = append(inodes, strings.TrimSuffix(inode, "]"))
		}
	}
	return inodes
}
