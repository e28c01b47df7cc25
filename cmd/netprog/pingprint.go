package main

// ping's output, line for line as iputils prints it: the replies, the
// ICMP errors, flood mode's dots, -D's timestamps. What the run measured
// comes from package raw; how it looks is the command's.

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"time"

	"netprog/raw"
)

// pingPrinter prints a run the way iputils ping does.
type pingPrinter struct {
	o       *pingOptions
	w       *bufio.Writer
	numeric bool
	v6      bool
	names   hostNames
}

// addr is iputils' pr_addr: "name (address)", or the address alone with -n
// (or when the target was given as an address, or there is no name).
func (pp *pingPrinter) addr(ip netip.Addr) string {
	if pp.numeric {
		return ip.String()
	}
	if name := pp.names.lookup(ip); name != "" {
		return name + " (" + ip.String() + ")"
	}
	return ip.String()
}

func (pp *pingPrinter) stamp() {
	if pp.o.timestamps {
		t := time.Now()
		fmt.Fprintf(pp.w, "[%d.%06d] ", t.Unix(), t.Nanosecond()/1000)
	}
}

func (pp *pingPrinter) flood(s string) {
	if pp.o.flood && !pp.o.quiet {
		pp.w.WriteString(s)
	}
}

func (pp *pingPrinter) reply(r *raw.Reply) {
	if pp.o.quiet {
		return
	}
	if pp.o.flood {
		if r.BadChecksum {
			pp.w.WriteString("\bC")
		} else {
			pp.w.WriteString("\b \b")
		}
		if pp.o.audible {
			pp.w.WriteByte('\a')
		}
		return
	}
	pp.stamp()
	fmt.Fprintf(pp.w, "%d bytes from %s: icmp_seq=%d", r.Bytes, pp.addr(r.From), r.Seq)
	if r.TTL >= 0 {
		fmt.Fprintf(pp.w, " ttl=%d", r.TTL)
	}
	if r.Truncated {
		pp.w.WriteString(" (truncated)\n")
		return
	}
	if r.HasRTT {
		fmt.Fprintf(pp.w, " time=%s ms", raw.FormatRTT(r.RTT))
	}
	if r.Dup {
		pp.w.WriteString(" (DUP!)")
	}
	if r.BadChecksum {
		pp.w.WriteString(" (BAD CHECKSUM!)")
	}
	if r.WrongByte >= 0 {
		fmt.Fprintf(pp.w, "\nwrong data byte #%d should be 0x%x but was 0x%x", r.WrongByte, r.Want, r.Got)
		for i := 16; i < len(r.Data); i++ {
			if i%32 == 16 {
				fmt.Fprintf(pp.w, "\n#%d\t", i)
			}
			fmt.Fprintf(pp.w, "%x ", r.Data[i])
		}
	}
	if pp.o.audible {
		pp.w.WriteByte('\a')
	}
	pp.w.WriteByte('\n')
}

func (pp *pingPrinter) icmpError(e *raw.ICMPError) {
	if e.Local != nil {
		switch {
		case pp.o.quiet:
		case pp.o.flood:
			pp.w.WriteString("E")
		default:
			pp.w.Flush()
			fmt.Fprintf(os.Stderr, "netprog ping: %s\n", e.Text())
		}
		return
	}
	if pp.o.quiet {
		return
	}
	if !e.Counted { // redirect, source quench: shown, not counted
		if !pp.o.flood {
			pp.stamp()
			fmt.Fprintf(pp.w, "From %s: icmp_seq=%d %s\n", pp.addr(e.From), e.Seq, e.Text())
		}
		return
	}
	if pp.o.flood {
		pp.w.WriteString("\bE")
		return
	}
	pp.stamp()
	fmt.Fprintf(pp.w, "From %s icmp_seq=%d %s\n", pp.addr(e.From), e.Seq, e.Text())
}
