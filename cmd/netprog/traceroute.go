package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"

	"netprog/raw"
	"netprog/sys"
)

func init() {
	register(&command{
		name:    "traceroute",
		teaches: "the routers on the way: ICMP echo probes with TTL 1, 2, 3, ... and the \"time exceeded\" each router answers",
		args:    "HOST",
		watch:   "sudo strace -yy -e trace=setsockopt,sendto,recvmsg,ppoll ./netprog traceroute 127.0.0.1\n(setsockopt IP_TTL before each hop; sudo: under strace a program loses its file capabilities)",
		setup:   tracerouteSetup,
		getopt:  true,
	})
}

func tracerouteSetup(fs *flag.FlagSet) func([]string) error {
	// Exit status, documented here for want of a better place in -h:
	// netprog's rule (0 result, 1 no result, 2 usage or system error) rather
	// than traceroute's 0 for any finished trace.
	maxTTL := fs.Int("m", 30, "`max_ttl`: exit status 1 if the destination has not answered within max_ttl hops or\n"+
		"the trace ended at an \"unreachable\" (0 if it answered, 2 usage or system error:\n"+
		"netprog's rule, as for ping; traceroute exits 0 either way). The most hops to try")
	probes := fs.Int("q", 3, "`probes` per hop")
	var wait secondsFlag
	fs.Var(&wait, "w", "`wait` seconds for each probe's answer (default 5)")
	firstTTL := fs.Int("f", 1, "`first_ttl`: the hop to start at")
	numeric := fs.Bool("n", false, "print addresses only; without -n a hop is \"name (address)\", the address\n"+
		"standing in for the name when it has none, as traceroute prints it")
	v4 := fs.Bool("4", false, "use IPv4")
	v6 := fs.Bool("6", false, "use IPv6")
	return func(args []string) error {
		var hosts []string
		for len(args) > 0 { // flags may follow HOST too
			hosts = append(hosts, args[0])
			if err := fs.Parse(getoptArgs(fs, args[1:])); err != nil {
				return usagef("%v", err)
			}
			args = fs.Args()
		}
		switch {
		case len(hosts) != 1:
			return usagef("want one HOST")
		case *v4 && *v6:
			return usagef("-4 and -6 exclude each other")
		case *maxTTL < 1 || *maxTTL > 255:
			return usagef("-m %d: want 1-255", *maxTTL)
		case *firstTTL < 1 || *firstTTL > *maxTTL:
			return usagef("-f %d: want 1 to max_ttl", *firstTTL)
		case *probes < 1 || *probes > 10:
			return usagef("-q %d: want 1-10", *probes)
		}
		family, _ := ipFamily(*v4, *v6) // both: refused above
		host := hosts[0]
		dst, err := sys.ResolveTarget(host, family) // "" refused, as getaddrinfo does
		if err != nil {
			return usageIfAddrError(err)
		}
		w := bufio.NewWriter(stdout)
		lines := &hopLines{w: w, first: *firstTTL, name: hopName(*numeric, hostNames{}.lookup)}
		cfg := raw.TraceConfig{Dst: dst, FirstTTL: *firstTTL, MaxTTL: *maxTTL, Probes: *probes, Wait: wait.d,
			OnProbe: lines.probe}
		t, err := raw.NewTracer(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "netprog traceroute: %v\n", err)
			return &exitError{2}
		}
		defer t.Close()
		if err := dropAfterOpen(); err != nil { // the socket is open: privilege.go
			return err
		}
		if t.Datagram() {
			fmt.Fprintln(os.Stderr, "netprog traceroute: no CAP_NET_RAW: using an ICMP datagram socket (ping_group_range allows it)")
		}
		fmt.Fprintf(w, "traceroute to %s (%s), %d hops max, %d byte packets\n", host, dst, *maxTTL, t.PacketLen())
		w.Flush()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		probesDone, err := t.Run(ctx)
		w.WriteByte('\n')
		w.Flush()
		if err != nil {
			return err
		}
		for _, p := range probesDone {
			if p.Reached {
				return nil
			}
		}
		return &exitError{1} // the destination never answered
	}
}

// hopName is how a hop's address is printed: traceroute's "name (address)",
// with the address as its own name when the reverse lookup finds none, or
// the bare address with -n.
func hopName(numeric bool, lookup func(netip.Addr) string) func(netip.Addr) string {
	return func(ip netip.Addr) string {
		if numeric {
			return ip.String()
		}
		n := lookup(ip)
		if n == "" {
			n = ip.String()
		}
		return n + " (" + ip.String() + ")"
	}
}

// hopLines prints the probes as traceroute 2.1 does, each as soon as it is
// known: " 2  name (address)  0.182 ms !H *  0.046 ms", the hop number on
// two columns, the address again only when it differs from the hop's last
// answer.
type hopLines struct {
	w     *bufio.Writer
	first int // the first hop (-f): no line break before it
	name  func(netip.Addr) string
	last  netip.Addr // who answered the hop's last answered probe
}

func (h *hopLines) probe(p raw.Probe) {
	w := h.w
	if p.N == 0 {
		if p.TTL > h.first {
			w.WriteByte('\n')
		}
		fmt.Fprintf(w, "%2d ", p.TTL)
		h.last = netip.Addr{}
	}
	if p.Timeout {
		w.WriteString(" *")
	} else {
		if p.From != h.last {
			w.WriteString(" " + h.name(p.From))
			h.last = p.From
		}
		fmt.Fprintf(w, "  %.3f ms", float64(p.RTT.Microseconds())/1000)
		if a := p.Annotation(); a != "" {
			w.WriteString(" " + a)
		}
	}
	w.Flush()
}
