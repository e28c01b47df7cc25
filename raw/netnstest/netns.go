// Package netnstest builds throwaway network namespaces for tests: a pinger,
// a router and a far host joined by veth pairs, all inside this machine, so
// a test can send ICMP through a real router without a packet leaving it.
// Every name carries the process id and the test's name, so packages testing
// in parallel never meet, and everything is deleted in t.Cleanup.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Need skips the test unless it can make network namespaces: root, the ip
// command (iproute2), and a kernel that allows it.
func Need(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the ip command (iproute2) is not installed")
	}
}

// Net is a set of namespaces made by one test.
type Net struct {
	t      testing.TB
	prefix string
	names  []string
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9]+`)

// New starts an empty set; the namespaces are deleted when the test ends.
func New(t testing.TB) *Net {
	t.Helper()
	Need(t)
	name := unsafeChars.ReplaceAllString(t.Name(), "")
	if len(name) > 24 {
		name = name[len(name)-24:]
	}
	n := &Net{t: t, prefix: fmt.Sprintf("np%d%s", os.Getpid(), name)}
	t.Cleanup(func() {
		for _, ns := range n.names {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	return n
}

// Add makes a namespace with its loopback up and returns its full name.
func (n *Net) Add(short string) string {
	n.t.Helper()
	ns := n.prefix + "-" + short
	exec.Command("ip", "netns", "del", ns).Run() // a leftover of a killed run
	n.IP("netns", "add", ns)
	n.names = append(n.names, ns)
	n.In(ns, "ip", "link", "set", "lo", "up")
	// No duplicate address detection on the interfaces to come: an address
	// (link-local ones included) is usable at once, not "tentative" for a
	// second or two, during which neighbour discovery stays silent.
	n.Sysctl(ns, "net.ipv6.conf.default.accept_dad", "0")
	n.Sysctl(ns, "net.ipv6.conf.all.accept_dad", "0")
	return ns
}

// IP runs `ip args...` and fails the test if it fails.
func (n *Net) IP(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// In runs a command inside namespace ns and fails the test if it fails.
func (n *Net) In(ns string, args ...string) string {
	n.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("in %s: %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Sysctl sets key=val inside ns (per-namespace keys: net.ipv4.*, net.ipv6.*).
func (n *Net) Sysctl(ns, key, val string) {
	n.t.Helper()
	n.In(ns, "sysctl", "-q", "-w", key+"="+val)
}

// Link joins namespace a (interface ifa, addresses addrA) and b with a veth
// pair. Addresses are CIDR: "198.18.1.1/24", "fd00:1::1/64".
func (n *Net) Link(a, ifa string, addrsA []string, b, ifb string, addrsB []string) {
	n.t.Helper()
	n.IP("-n", a, "link", "add", ifa, "type", "veth", "peer", "name", ifb, "netns", b)
	for _, x := range []struct {
		ns, ifc string
		addrs   []string
	}{{a, ifa, addrsA}, {b, ifb, addrsB}} {
		for _, ad := range x.addrs {
			args := []string{"-n", x.ns, "addr", "add", ad, "dev", x.ifc}
			if strings.Contains(ad, ":") {
				args = append(args, "nodad") // usable at once, no duplicate address detection wait
			}
			n.IP(args...)
		}
		n.IP("-n", x.ns, "link", "set", x.ifc, "up")
	}
	// Permanent neighbour entries both ways: no ARP or neighbour discovery
	// to wait for, so the first packet of a test goes through at once.
	macA, macB := n.mac(a, ifa), n.mac(b, ifb)
	for _, ad := range addrsB {
		n.IP("-n", a, "neigh", "replace", strings.Split(ad, "/")[0], "lladdr", macB, "dev", ifa, "nud", "permanent")
	}
	for _, ad := range addrsA {
		n.IP("-n", b, "neigh", "replace", strings.Split(ad, "/")[0], "lladdr", macA, "dev", ifb, "nud", "permanent")
	}
}

// mac is the hardware address of interface ifc in ns.
func (n *Net) mac(ns, ifc string) string {
	n.t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show", "dev", ifc).Output()
	if err != nil {
		n.t.Fatalf("ip -n %s link show %s: %v", ns, ifc, err)
	}
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	n.t.Fatalf("no link/ether address in %q", out)
	return ""
}

// Do runs fn on a thread inside namespace ns: sockets fn opens belong to ns
// for good, whichever thread uses them later.
func Do(t testing.TB, ns string, fn func()) {
	t.Helper()
	target, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open netns %s: %v", ns, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	self, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("open own netns: %v", err)
	}
	defer unix.Close(self)
	if err := sys.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", ns, err)
	}
	defer func() {
		if err := sys.Setns(self, unix.CLONE_NEWNET); err != nil {
			return // leave the thread locked: it dies with this goroutine
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

// Topology is the standard line the ping tests use:
//
//	A (pinger) 198.18.1.1 ── 198.18.1.2 R (router) 198.18.2.1 ── 198.18.2.2 B (far host)
//	           fd00:1::1     fd00:1::2           fd00:2::1     fd00:2::2
//
// R forwards, answers for 198.18.3.0/24 and fd00:3::/64 with "unreachable",
// and has ICMP rate limits off so every probe gets its error. B's kernel
// does not answer pings (a Responder does). The addresses are from the
// benchmarking range (RFC 2544) and a unique local prefix: they exist only
// inside these namespaces.
type Topology struct {
	*Net
	A, R, B string
	next    int
}

// Addresses of the Topology.
const (
	AddrA    = "198.18.1.1"
	AddrR1   = "198.18.1.2"
	AddrR2   = "198.18.2.1"
	AddrB    = "198.18.2.2"
	Unreach  = "198.18.3.1"
	Addr6A   = "fd00:1::1"
	Addr6R1  = "fd00:1::2"
	Addr6B   = "fd00:2::2"
	Unreach6 = "fd00:3::1"
)

// Sources4 are extra IPv4 addresses of A. The router answers a packet for an
// unreachable route with an ICMP error at most five times in a burst and
// then once a second per source address (net.ipv4.route.error_cost and
// error_burst, which are global, not per namespace: not ours to change), so
// each test that wants unreachable errors sends from a source of its own
// (Topology.Source).
var Sources4 = []string{"198.18.1.11", "198.18.1.12", "198.18.1.13", "198.18.1.14", "198.18.1.15",
	"198.18.1.16", "198.18.1.17", "198.18.1.18", "198.18.1.19", "198.18.1.20"}

// Source hands out the next of Sources4.
func (tp *Topology) Source() string {
	tp.t.Helper()
	if tp.next >= len(Sources4) {
		tp.t.Fatal("out of source addresses")
	}
	tp.next++
	return Sources4[tp.next-1]
}

// Line builds the Topology.
func Line(t testing.TB) *Topology {
	t.Helper()
	n := New(t)
	tp := &Topology{Net: n, A: n.Add("a"), R: n.Add("r"), B: n.Add("b")}
	addrsA := []string{AddrA + "/24", Addr6A + "/64"}
	for _, a := range Sources4 {
		addrsA = append(addrsA, a+"/24")
	}
	n.Link(tp.A, "a0", addrsA, tp.R, "r0", []string{AddrR1 + "/24", Addr6R1 + "/64"})
	n.Link(tp.R, "r1", []string{AddrR2 + "/24", "fd00:2::1/64"}, tp.B, "b0", []string{AddrB + "/24", Addr6B + "/64"})
	n.IP("-n", tp.A, "route", "add", "default", "via", AddrR1)
	n.IP("-n", tp.A, "-6", "route", "add", "default", "via", Addr6R1)
	n.IP("-n", tp.B, "route", "add", "default", "via", AddrR2)
	n.IP("-n", tp.B, "-6", "route", "add", "default", "via", "fd00:2::1")
	n.IP("-n", tp.R, "route", "add", "unreachable", "198.18.3.0/24")
	n.IP("-n", tp.R, "-6", "route", "add", "unreachable", "fd00:3::/64")
	n.Sysctl(tp.R, "net.ipv4.ip_forward", "1")
	n.Sysctl(tp.R, "net.ipv6.conf.all.forwarding", "1")
	n.Sysctl(tp.R, "net.ipv4.icmp_ratelimit", "0")
	// No ICMP type rate-limited at all: with the default mask, the host's
	// budget of ICMP messages a second (icmp_msgs_per_sec) still applies,
	// and a "time exceeded" sent just before can use it up, so the next
	// "unreachable" is dropped for a second (seen on a 6.18 kernel).
	n.Sysctl(tp.R, "net.ipv4.icmp_ratemask", "0")
	n.Sysctl(tp.R, "net.ipv6.icmp.ratelimit", "0")
	n.Sysctl(tp.B, "net.ipv4.icmp_echo_ignore_all", "1")
	n.Sysctl(tp.B, "net.ipv6.icmp.echo_ignore_all", "1")
	return tp
}
