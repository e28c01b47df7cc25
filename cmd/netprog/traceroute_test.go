package main

import (
	"bufio"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"netprog/raw"
	"netprog/raw/netnstest"
)

// The hop lines as traceroute 2.1 prints them: "name (address)" (the
// address standing in for a missing name), or the address alone with -n;
// the address again only when a probe's answer comes from another one; "*"
// for a lost probe; the mark after an "unreachable".
func TestTracerouteHopLines(t *testing.T) {
	t.Parallel()
	r1, b, c := netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.2.2"), netip.MustParseAddr("198.18.2.3")
	ms := func(us int) time.Duration { return time.Duration(us) * time.Microsecond }
	te := func(ttl, n int, from netip.Addr, rtt time.Duration) raw.Probe {
		return raw.Probe{TTL: ttl, N: n, From: from, RTT: rtt, Type: raw.ICMPTimeExceeded}
	}
	lost := func(ttl, n int) raw.Probe { return raw.Probe{TTL: ttl, N: n, Timeout: true} }
	unreach := func(ttl, n int, from netip.Addr, rtt time.Duration) raw.Probe {
		return raw.Probe{TTL: ttl, N: n, From: from, RTT: rtt, Type: raw.ICMPDestUnreach, Code: 1}
	}
	probes := []raw.Probe{
		te(1, 0, r1, ms(45)), te(1, 1, r1, ms(1234)), te(1, 2, r1, ms(12345)),
		lost(2, 0), te(2, 1, b, ms(100)), te(2, 2, c, ms(200)),
		unreach(3, 0, c, ms(300)), lost(3, 1), unreach(3, 2, c, ms(301)),
	}
	names := map[netip.Addr]string{r1: "r1.test"}
	lookups := 0
	lookup := func(ip netip.Addr) string { lookups++; return names[ip] }
	for _, tc := range []struct {
		numeric bool
		want    string
	}{
		{false, "" +
			" 1  r1.test (198.18.1.2)  0.045 ms  1.234 ms  12.345 ms\n" +
			" 2  * 198.18.2.2 (198.18.2.2)  0.100 ms 198.18.2.3 (198.18.2.3)  0.200 ms\n" +
			" 3  198.18.2.3 (198.18.2.3)  0.300 ms !H *  0.301 ms !H"},
		{true, "" +
			" 1  198.18.1.2  0.045 ms  1.234 ms  12.345 ms\n" +
			" 2  * 198.18.2.2  0.100 ms 198.18.2.3  0.200 ms\n" +
			" 3  198.18.2.3  0.300 ms !H *  0.301 ms !H"},
	} {
		var out strings.Builder
		lookups = 0
		h := &hopLines{w: bufio.NewWriter(&out), first: 1, name: hopName(tc.numeric, lookup)}
		for _, p := range probes {
			h.probe(p)
		}
		if out.String() != tc.want {
			t.Errorf("numeric %v:\n%s\nwant:\n%s", tc.numeric, out.String(), tc.want)
		}
		if tc.numeric && lookups > 0 {
			t.Errorf("-n looked up %d names", lookups)
		}
	}
	// -f: the first line is the first hop's, with no line break before it.
	var out strings.Builder
	h := &hopLines{w: bufio.NewWriter(&out), first: 4, name: hopName(true, lookup)}
	h.probe(te(4, 0, r1, ms(45)))
	h.probe(lost(5, 0))
	if want := " 4  198.18.1.2  0.045 ms\n 5  *"; out.String() != want {
		t.Errorf("-f 4: %q, want %q", out.String(), want)
	}
}

// resolverIn gives namespace ns a hosts file of its own and a name server on
// its own loopback, where nothing listens: a reverse lookup finds the hosts
// file's names, and a query for any other address fails at once, without a
// packet leaving the namespace. `ip netns exec` bind-mounts /etc/netns/NS/*
// over /etc for the command it runs.
func resolverIn(t *testing.T, ns, hosts string) {
	t.Helper()
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("cannot give the namespace its own resolver files: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for name, text := range map[string]string{"hosts": hosts, "resolv.conf": "nameserver 127.0.0.1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// traceTopology is netnstest.Line with B's responders, and names for R's
// near addresses (not B's) in A's hosts file.
func traceTopology(t *testing.T) *netnstest.Topology {
	t.Helper()
	needRoot(t)
	tp := netnstest.Line(t)
	// R's ICMP errors are not rate limited by type (icmp_ratemask 0): with
	// Line's icmp_ratelimit 0 that limiter empties the per-source bucket of
	// "unreachable" (route.error_burst: five at once, then one a second) at
	// the first "time exceeded" of a later jiffy, and a trace to Unreach
	// after one to B would lose its first probe.
	tp.Sysctl(tp.R, "net.ipv4.icmp_ratemask", "0")
	resolverIn(t, tp.A, netnstest.AddrR1+" r1.test\n"+netnstest.Addr6R1+" r1.test\n")
	startResponder(t, tp.B)
	startResponder(t, tp.B, "-6")
	return tp
}

// Through the router to B, with names and with -n; and the trace that ends
// at R's "unreachable": one hop, exit 1.
func TestTracerouteNames(t *testing.T) {
	t.Parallel()
	tp := traceTopology(t)
	times := `(  \d+\.\d{3} ms){3}\n`
	for _, tc := range []struct {
		args []string
		want string // a regular expression for the whole output
		code int
	}{
		{[]string{netnstest.AddrB}, `^traceroute to 198\.18\.2\.2 \(198\.18\.2\.2\), 30 hops max, 60 byte packets\n` +
			` 1  r1\.test \(198\.18\.1\.2\)` + times + ` 2  198\.18\.2\.2 \(198\.18\.2\.2\)` + times + `$`, 0},
		{[]string{"-n", netnstest.AddrB}, `^traceroute to 198\.18\.2\.2 \(198\.18\.2\.2\), 30 hops max, 60 byte packets\n` +
			` 1  198\.18\.1\.2` + times + ` 2  198\.18\.2\.2` + times + `$`, 0},
		{[]string{netnstest.Addr6B}, `^traceroute to fd00:2::2 \(fd00:2::2\), 30 hops max, 80 byte packets\n` +
			` 1  r1\.test \(fd00:1::2\)` + times + ` 2  fd00:2::2 \(fd00:2::2\)` + times + `$`, 0},
		{[]string{"-n", netnstest.Addr6B}, `^traceroute to fd00:2::2 \(fd00:2::2\), 30 hops max, 80 byte packets\n` +
			` 1  fd00:1::2` + times + ` 2  fd00:2::2` + times + `$`, 0},
		{[]string{netnstest.Unreach}, `^traceroute to 198\.18\.3\.1 \(198\.18\.3\.1\), 30 hops max, 60 byte packets\n` +
			` 1  r1\.test \(198\.18\.1\.2\)(  \d+\.\d{3} ms !H){3}\n$`, 1},
		{[]string{netnstest.Unreach6}, `^traceroute to fd00:3::1 \(fd00:3::1\), 30 hops max, 80 byte packets\n` +
			` 1  r1\.test \(fd00:1::2\)(  \d+\.\d{3} ms !N){3}\n$`, 1},
	} {
		// -w is a hang bound: every probe is answered.
		out, errOut, code := runIn(t, tp.A, netprogBin, append([]string{"traceroute", "-w", "10"}, tc.args...)...)
		if code != tc.code || !regexp.MustCompile(tc.want).MatchString(out) || errOut != "" {
			t.Errorf("traceroute %s: exit %d (want %d), stderr %q:\n%s\nwant (regexp):\n%s", strings.Join(tc.args, " "), code, tc.code, errOut, out, tc.want)
		}
	}
}

// traceroute 2.1 (traceroute -I) prints the same lines, digits aside, where
// it is installed; its exit status differs on purpose (see -h). The
// "unreachable" trace is IPv6's: R answers a source's IPv4 probes for an
// unreachable route five at once, then one a second, and two traces take six.
func TestTracerouteMatchesTraceroute(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("traceroute")
	if err != nil {
		t.Skip("traceroute is not installed (Debian: apt-get install traceroute)")
	}
	if v, _ := exec.Command(path, "-V").CombinedOutput(); !strings.Contains(string(v), "Modern traceroute for Linux") {
		t.Skipf("%s is not traceroute 2.x (Modern traceroute for Linux): %s", path, v)
	}
	tp := traceTopology(t)
	for _, args := range [][]string{
		{netnstest.AddrB}, {"-n", netnstest.AddrB}, {netnstest.Addr6B}, {netnstest.Unreach6}, {"-n", netnstest.Unreach6},
	} {
		args = append([]string{"-q", "3", "-w", "10"}, args...)
		got, _, _ := runIn(t, tp.A, netprogBin, append([]string{"traceroute"}, args...)...)
		want, _, _ := runIn(t, tp.A, path, append([]string{"-I"}, args...)...)
		if g, w := masked(got), masked(want); strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("traceroute %s (digits masked):\n--- netprog:\n%s--- traceroute -I:\n%s", strings.Join(args, " "), got, want)
		}
	}
}
