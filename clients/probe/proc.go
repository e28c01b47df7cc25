package probe

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// What the probes read of a server in /proc: its process and every
// descendant (a forking server's children, a wrapper's server), their CPU
// time, descriptors, threads, states and memory; and the kernel's tables
// of sockets, to find who holds a connection and what waits in TIME_WAIT.

// Proc is a server process watched in /proc.
type Proc struct{ Pid int }

// stat reads /proc/PID/stat and returns its fields from the third on
// (state, ppid, ...; proc(5) numbers them from 1). The command name,
// field 2, may hold spaces and parentheses: the fields are counted from
// its last ")".
func stat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return f, nil
}

// State is the process's state letter (R, S, D, Z, ...); 0 when it is
// gone.
func State(pid int) byte {
	f, err := stat(pid)
	if err != nil {
		return 0
	}
	return f[0][0]
}

// Alive reports whether the process is there and not a zombie.
func (p Proc) Alive() bool {
	s := State(p.Pid)
	return s != 0 && s != 'Z' && s != 'X'
}

// parents maps every process in /proc to its parent, with its state.
func parents() map[int][2]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	m := map[int][2]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := stat(pid)
		if err != nil {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		m[pid] = [2]int{ppid, int(f[0][0])}
	}
	return m
}

// Tree is the process and its descendants, the process first, with their
// state letters.
func (p Proc) Tree() (pids []int, states map[int]byte) {
	all := parents()
	states = map[int]byte{}
	if st, ok := all[p.Pid]; ok {
		pids = append(pids, p.Pid)
		states[p.Pid] = byte(st[1])
	}
	for i := 0; i < len(pids); i++ {
		for pid, st := range all {
			if st[0] == pids[i] && states[pid] == 0 {
				pids = append(pids, pid)
				states[pid] = byte(st[1])
			}
		}
	}
	return pids, states
}

// Children counts the process's direct children and the zombies among
// them.
func (p Proc) Children() (n, zombies int) {
	for pid, st := range parents() {
		if st[0] == p.Pid && pid != p.Pid {
			n++
			if st[1] == 'Z' {
				zombies++
			}
		}
	}
	return n, zombies
}

// CPU is the user and system time of the process and its descendants
// (utime and stime of /proc/PID/stat, fields 14 and 15, in clock ticks:
// USER_HZ, 100 a second), and of the children they have reaped (cutime
// and cstime, 16 and 17: a forking server's children that came and went
// between two readings still count).
func (p Proc) CPU() time.Duration {
	pids, _ := p.Tree()
	var ticks int64
	for _, pid := range pids {
		f, err := stat(pid)
		if err != nil {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * time.Second / 100
}

// statusField reads a "Name: N kB"-style field of /proc/PID/status as a
// number (kB for memory); -1 if the process is gone.
func statusField(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return -1
}

// Usage is a reading of a server's resources: every number covers the
// process and its live descendants.
type Usage struct {
	FDs      int   // open descriptors
	Threads  int   // threads
	Children int   // the server's descendants, zombies included
	Zombies  int   // of which zombies
	RSS      int64 // resident memory, bytes (a forked child's shared pages count twice: an upper bound)
}

func (u Usage) String() string {
	return fmt.Sprintf("%s, %s, %s (%s), RSS %d KiB",
		plural(u.FDs, "descriptor", "descriptors"), plural(u.Threads, "thread", "threads"),
		plural(u.Children, "child", "children"), plural(u.Zombies, "zombie", "zombies"), u.RSS>>10)
}

// Usage reads the server's resources now.
func (p Proc) Usage() Usage {
	pids, states := p.Tree()
	var u Usage
	for _, pid := range pids {
		if pid != p.Pid {
			u.Children++
			if states[pid] == 'Z' {
				u.Zombies++
				continue
			}
		}
		if ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd"); err == nil {
			u.FDs += len(ents)
		}
		if n := statusField(pid, "Threads"); n > 0 {
			u.Threads += int(n)
		}
		if r := statusField(pid, "VmRSS"); r > 0 {
			u.RSS += r << 10
		}
	}
	return u
}

// Settled reads the server's resources once two readings 20 ms apart
// agree on descriptors, threads, children and zombies (the clients of an
// earlier probe have gone, their children exited), or after 2 s.
func (p Proc) Settled() Usage {
	u := p.Usage()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		v := p.Usage()
		if v.FDs == u.FDs && v.Threads == u.Threads && v.Children == u.Children && v.Zombies == u.Zombies {
			return v
		}
		u = v
	}
	return u
}

// RSS is the resident memory of the process and its descendants.
func (p Proc) RSS() int64 { return p.Usage().RSS }

// Syscall names the system call each thread of the tree is blocked in
// (from /proc/PID/task/TID/syscall), for a fact: "sendto" when a server is
// stuck writing to a client that does not read. Empty where it cannot be
// read.
func (p Proc) Syscall() []string {
	pids, _ := p.Tree()
	seen := map[string]bool{}
	var names []string
	for _, pid := range pids {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, t.Name()))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				continue
			}
			n, err := strconv.Atoi(f[0])
			if err != nil {
				continue
			}
			name := syscallNames[n]
			if name != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// AllSending reports whether every thread of the server's tree is
// blocked in a call that sends (sendto, write, sendmsg): a server that can
// do nothing until the peer it writes to reads.
func (p Proc) AllSending() bool {
	pids, states := p.Tree()
	n := 0
	for _, pid := range pids {
		if states[pid] == 'Z' {
			continue
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, t.Name()))
			if err != nil {
				return false
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				return false
			}
			switch nr, _ := strconv.Atoi(f[0]); nr {
			case unix.SYS_SENDTO, unix.SYS_WRITE, unix.SYS_SENDMSG:
				n++
			default:
				return false // running, or in another call
			}
		}
	}
	return n > 0
}

// syscallNames are the calls a server blocked on a client may be in.
var syscallNames = map[int]string{
	unix.SYS_SENDTO: "sendto", unix.SYS_WRITE: "write", unix.SYS_SENDMSG: "sendmsg",
	unix.SYS_RECVFROM: "recvfrom", unix.SYS_READ: "read", unix.SYS_RECVMSG: "recvmsg",
}

// holders lists the processes of the tree that hold socket inode.
func (p Proc) holders(inode string) []int {
	if inode == "" {
		return nil
	}
	link := "socket:[" + inode + "]"
	pids, states := p.Tree()
	var hold []int
	for _, pid := range pids {
		if states[pid] == 'Z' {
			continue
		}
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, e := range ents {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); l == link {
				hold = append(hold, pid)
				break
			}
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
func ServerPid(pid int, udp bool, port int) int {
	proto := "tcp"
	if udp {
		proto = "udp"
	}
	inodes := boundInodes(proto, port)
	if len(inodes) == 0 {
		return 0 // the cheap test first: no need to walk /proc
	}
	pids, _ := Proc{pid}.Tree()
	for _, p := range pids {
		for _, inode := range inodes {
			if len((Proc{p}).holdersSelf(inode)) > 0 {
				return p
			}
		}
	}
	return 0
}

// holdersSelf is holders for the process alone, not its tree.
func (p Proc) holdersSelf(inode string) []int {
	link := "socket:[" + inode + "]"
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid))
	for _, e := range ents {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.Pid, e.Name())); l == link {
			return []int{p.Pid}
		}
	}
	return nil
}
