package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"netprog/raw"
	"netprog/sys"
)

func init() {
	register(&command{
		name:    "ping",
		teaches: "ICMP echo over a raw socket, line for line like iputils ping (falls back to an ICMP datagram socket without CAP_NET_RAW)",
		args:    "HOST",
		watch: "sudo strace -yy -e trace=%network,ppoll ./netprog ping -c 3 127.0.0.1\n" +
			"(socket(SOCK_RAW), ICMP_FILTER, SO_ATTACH_FILTER, SO_TIMESTAMPNS; then sendto, ppoll, recvmsg per request;\n" +
			"sudo: under strace a program loses its file capabilities)",
		setup: pingSetup, getopt: true,
	})
}

// secondsFlag is a duration given in (fractional) seconds, as ping's -i and
// -W take it.
type secondsFlag struct {
	d   time.Duration
	set bool
}

func (s *secondsFlag) String() string {
	if s == nil || !s.set {
		return ""
	}
	return strconv.FormatFloat(s.d.Seconds(), 'g', -1, 64)
}

func (s *secondsFlag) Set(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > float64(1<<31-1)/1000 {
		return fmt.Errorf("bad value %q (seconds, e.g. 0.2)", v)
	}
	s.d, s.set = time.Duration(f*float64(time.Second)), true
	return nil
}

// pingOptions are ping's flags.
type pingOptions struct {
	v4, v6, quiet, numeric, flood, timestamps, outstanding, audible bool
	count, size, ttl, deadline                                      int
	countSet, ttlSet                                                bool // -c, -t given (0 is then an error, not "unset")
	interval, timeout                                               secondsFlag
	pattern, iface                                                  string
}

func pingSetup(fs *flag.FlagSet) func([]string) error {
	o := &pingOptions{}
	fs.BoolVar(&o.v4, "4", false, "use IPv4")
	fs.BoolVar(&o.v6, "6", false, "use IPv6 (localhost means ::1)")
	fs.IntVar(&o.count, "c", 0, "stop after `count` replies")
	fs.Var(&o.interval, "i", "wait `interval` seconds between requests (default 1; root may go below 0.002)")
	fs.IntVar(&o.size, "s", raw.DefaultSize, "data `size` in bytes (0-65507; 16 or more carry a timestamp for the RTT)")
	fs.IntVar(&o.ttl, "t", 0, "IP time to live (`ttl`, 1-255)")
	fs.Var(&o.timeout, "W", "`timeout`: seconds to wait for a reply when none came (default 10)")
	fs.IntVar(&o.deadline, "w", 0, "`deadline`: stop after this many seconds, however many requests went out")
	fs.BoolVar(&o.quiet, "q", false, "quiet: only the first line and the statistics")
	fs.BoolVar(&o.numeric, "n", false, "numeric: no reverse lookups of addresses")
	fs.BoolVar(&o.flood, "f", false, "flood: a request as soon as the reply is in; prints . per request and erases one per reply")
	fs.BoolVar(&o.timestamps, "D", false, "print the time of day before each line")
	fs.BoolVar(&o.outstanding, "O", false, "report a request still unanswered when the next goes out")
	fs.BoolVar(&o.audible, "a", false, "audible: ring the bell for each reply")
	fs.StringVar(&o.pattern, "p", "", "fill the data with this hex `pattern` (up to 16 bytes)")
	fs.StringVar(&o.iface, "I", "", "send from this `interface` name or source address")
	return func(args []string) error {
		// Flags may follow HOST too (ping 127.0.0.1 -c 3): parse the rest again.
		var hosts []string
		for len(args) > 0 {
			hosts = append(hosts, args[0])
			if err := fs.Parse(getoptArgs(fs, args[1:])); err != nil {
				return usagef("%v", err)
			}
			args = fs.Args()
		}
		fs.Visit(func(f *flag.Flag) {
			o.countSet = o.countSet || f.Name == "c"
			o.ttlSet = o.ttlSet || f.Name == "t"
		})
		if len(hosts) != 1 {
			if len(hosts) == 0 {
				return usagef("missing HOST")
			}
			return usagef("one HOST only, got %q", hosts)
		}
		return runPing(o, hosts[0])
	}
}

// parsePattern reads -p as iputils does: hex digits, two per byte, at most
// 16 bytes.
func parsePattern(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return nil, fmt.Errorf("patterns must be specified as hex digits: %s", s)
		}
	}
	if len(s)%2 == 1 {
		s = s[:len(s)-1] + "0" + s[len(s)-1:] // "%2x" reads a lone last digit as one byte
	}
	b, _ := hex.DecodeString(s)
	if len(b) > 16 {
		b = b[:16]
	}
	return b, nil
}

func (o *pingOptions) config(dst netip.Addr) (raw.Config, error) {
	cfg := raw.Config{Dst: dst, Count: o.count, Flood: o.flood, TTL: o.ttl}
	switch {
	case o.count < 0 || (o.countSet && o.count == 0):
		return cfg, usagef("invalid argument: '%d': out of range: 1 <= value <= 9223372036854775807", o.count)
	case o.size < 0 || o.size > raw.MaxSize:
		return cfg, usagef("invalid argument: '%d': out of range: 0 <= value <= %d", o.size, raw.MaxSize)
	case o.ttl < 0 || o.ttl > 255:
		return cfg, usagef("invalid argument: '%d': out of range: 0 <= value <= 255", o.ttl)
	case o.ttlSet && o.ttl == 0:
		// The kernel refuses IP_TTL 0 (ip(7)); iputils reports its EINVAL.
		return cfg, errors.New("cannot set unicast time-to-live: invalid argument")
	case o.deadline < 0:
		return cfg, usagef("invalid argument: '%d': out of range: 0 <= value <= 2147483647", o.deadline)
	case o.timeout.set && o.timeout.d < time.Millisecond:
		return cfg, usagef("bad linger time: %s", o.timeout.String())
	}
	cfg.Size = o.size
	if o.size == 0 {
		cfg.Size = raw.NoData
	}
	if o.interval.set {
		cfg.Interval = o.interval.d
		if cfg.Interval == 0 {
			cfg.Interval = -1 // -i 0: no wait at all
		}
	}
	cfg.Timeout = o.timeout.d
	cfg.Deadline = time.Duration(o.deadline) * time.Second
	var err error
	if cfg.Pattern, err = parsePattern(o.pattern); err != nil {
		return cfg, usagef("%v", err)
	}
	if o.iface != "" {
		if ip, err := netip.ParseAddr(o.iface); err == nil {
			cfg.Source = ip
		} else if i := strings.IndexByte(o.iface, '%'); i > 0 {
			if ip, err := netip.ParseAddr(o.iface[:i]); err == nil {
				cfg.Source, cfg.Interface = ip, o.iface[i+1:]
			}
		} else {
			cfg.Interface = o.iface
		}
	}
	return cfg, nil
}

func runPing(o *pingOptions, host string) error {
	if o.v4 && o.v6 {
		return usagef("only one -4 or -6 option may be specified") // iputils' words
	}
	family, _ := ipFamily(o.v4, o.v6)
	dst, err := sys.ResolveTarget(host, family)
	if err != nil {
		return usageIfAddrError(err)
	}
	cfg, err := o.config(dst)
	if err != nil {
		return err
	}
	_, literal := netip.ParseAddr(host)
	pp := &pingPrinter{o: o, w: bufio.NewWriterSize(stdout, 64<<10), v6: dst.Is6(),
		numeric: o.numeric || o.flood || literal == nil, names: hostNames{}}
	// With -q there is nothing to say per packet: no hook at all, and the
	// pinger then skips building the report (its data compare).
	if o.flood && !o.quiet {
		cfg.OnSend = func(int) { pp.flood(".") }
	}
	cfg.OnSendError = func(seq int, err error) {
		if o.quiet {
			return
		}
		if o.flood {
			pp.w.WriteString("E")
			return
		}
		pp.w.Flush()
		fmt.Fprintf(os.Stderr, "netprog ping: %v\n", err)
	}
	if !o.quiet {
		cfg.OnReply = pp.reply
	}
	cfg.OnError = pp.icmpError
	if o.outstanding {
		cfg.OnMissing = func(seq int) {
			pp.stamp()
			fmt.Fprintf(pp.w, "no answer yet for icmp_seq=%d\n", seq)
		}
	}
	cfg.OnIdle = func() { pp.w.Flush() }

	p, err := raw.NewPinger(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "netprog ping: %v\n", err)
		return &exitError{2}
	}
	defer p.Close()
	if err := dropAfterOpen(); err != nil { // the socket is open: privilege.go
		return err
	}
	// SIGINT ends the run with the statistics; SIGQUIT prints a status
	// line on stderr and goes on. Both are taken before the header is
	// printed: once it shows, a signal is ping's, not the runtime's default
	// (for SIGQUIT a goroutine dump and exit 2).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGQUIT)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-quit:
				fmt.Fprint(os.Stderr, p.Stats().StatusLine())
			case <-done:
				return
			}
		}
	}()
	if p.Datagram() {
		fmt.Fprintf(os.Stderr, "netprog ping: no CAP_NET_RAW: using an ICMP datagram socket (ping_group_range allows it); the kernel picks identifier %d\n", p.ID())
	}
	if len(cfg.Pattern) > 0 && !o.quiet {
		fmt.Fprintf(pp.w, "PATTERN: 0x%x\n", cfg.Pattern)
	}
	from := ""
	if cfg.Interface != "" || cfg.Source.IsValid() {
		from = fmt.Sprintf("from %s %s: ", p.Source(), cfg.Interface)
	}
	if dst.Is6() {
		target := dst.String()
		if !pp.numeric && strings.IndexByte(host, ':') < 0 {
			target = pp.addr(dst)
		}
		fmt.Fprintf(pp.w, "PING %s(%s) %s%d data bytes\n", host, target, from, p.Size())
	} else {
		fmt.Fprintf(pp.w, "PING %s (%s) %s%d(%d) bytes of data.\n", host, dst, from, p.Size(), p.Size()+8+20)
	}
	pp.w.Flush()

	if o.flood {
		privateFileTable() // ping_filetable.go
	}
	st, err := p.Run(ctx)
	signal.Stop(quit)
	close(done)
	wg.Wait()
	st.WriteSummary(pp.w, host)
	pp.w.Flush()
	if err != nil {
		fmt.Fprintf(os.Stderr, "netprog ping: %v\n", err)
		return &exitError{2}
	}
	if st.Received == 0 || (o.deadline > 0 && st.Received < o.count) {
		return &exitError{1}
	}
	return nil
}
