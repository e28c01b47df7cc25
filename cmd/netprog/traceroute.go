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
		watch:   "strace -e trace=setsockopt,sendto,recvmsg,poll ./netprog traceroute 127.0.0.1\n(setsockopt IP_TTL before each hop)",
		setup:   tracerouteSetup,
		getopt:  true,
	})
}

func tracerouteSetup(fs *flag.FlagSet) func([]string) error {
	maxTTL := fs.Int("m", 30, "`max_ttl`: the most hops to try")
	probes := fs.Int("q", 3, "`probes` per hop")
	var wait secondsFlag
	fs.Var(&wait, "w", "`wait` seconds for each probe's answer (default 5)")
	firstTTL := fs.Int("f", 1, "`first_ttl`: the hop to start at")
	numeric := fs.Bool("n", false, "print addresses only, no names")
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
		dst, err := sys.ResolveHost(host, family)
		if err != nil {
			return usageIfAddrError(err)
		}
		_, literal := netip.ParseAddr(host)
		names := hostNames{}
		name := func(ip netip.Addr) string {
			if *numeric || literal == nil {
				return ip.String()
			}
			// traceroute prints "address (address)" for a hop with no name.
			n := names.lookup(ip)
			if n == "" {
				n = ip.String()
			}
			return n + " (" + ip.String() + ")"
		}
		w := bufio.NewWriter(stdout)
		var last netip.Addr
		cfg := raw.TraceConfig{Dst: dst, FirstTTL: *firstTTL, MaxTTL: *maxTTL, Probes: *probes, Wait: wait.d}
		cfg.OnProbe = func(p raw.Probe) {
			if p.N == 0 {
				if p.TTL > *firstTTL {
					w.WriteByte('\n')
				}
				fmt.Fprintf(w, "%2d ", p.TTL)
				last = netip.Addr{}
			}
			if p.Timeout {
				w.WriteString(" *")
			} else {
				if p.From != last {
					fmt.Fprintf(w, " %s", name(p.From))
					last = p.From
				}
				fmt.Fprintf(w, "  %.3f ms", float64(p.RTT.Microseconds())/1000)
				if a := p.Annotation(); a != "" {
					w.WriteString(" " + a)
				}
			}
			w.Flush()
		}
		t, err := raw.NewTracer(cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "netprog traceroute: %v\n", err)
			return &exitError{2}
		}
		defer t.Close()
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
