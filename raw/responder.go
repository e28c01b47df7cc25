package raw

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The responder plays the far end of a ping with scripted faults. Run it
// where the kernel's own echo is off (net.ipv4.icmp_echo_ignore_all=1,
// net.ipv6.icmp.echo_ignore_all=1): it reads echo requests on a raw socket
// and answers them itself, late, twice, corrupted, with another identifier,
// cut short, or not at all, as the script says for each sequence number. So
// a test (or a student) gets exactly the losses, duplicates and bad
// checksums it asked for, with no netem in the kernel.

// Fault is what the responder does to the reply for one sequence number.
type Fault struct {
	Drop        bool          // no reply
	Delay       time.Duration // reply this much later
	Dups        int           // extra copies of the reply
	BadChecksum bool          // IPv4: a wrong ICMP checksum (ICMPv6 checksums are the kernel's)
	WrongID     bool          // reply with another identifier instead (a foreign reply)
	Truncate    int           // leave this many data bytes out
	OldStamp    bool          // forge the sender's timestamp: 1970 (a hostile reply)
}

// Script maps sequence numbers to faults; unlisted ones are answered
// normally.
type Script map[int]Fault

// ParseScript reads a script such as "2:drop 3:dup=2 4:delay=300ms
// 5:badsum 6:wrongid 7:trunc=20 8:delay=50ms,dup 9:oldstamp": items separated by
// spaces or semicolons, each SEQ:FAULT[,FAULT...].
func ParseScript(s string) (Script, error) {
	sc := Script{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ';' }) {
		seqStr, faults, ok := strings.Cut(item, ":")
		seq, err := strconv.Atoi(seqStr)
		if !ok || err != nil || seq < 0 || seq > 65535 {
			return nil, fmt.Errorf("script item %q: want SEQ:FAULT", item)
		}
		f := sc[seq]
		for _, fs := range strings.Split(faults, ",") {
			name, val, hasVal := strings.Cut(fs, "=")
			n := 1
			if hasVal && name != "delay" {
				if n, err = strconv.Atoi(val); err != nil || n < 0 {
					return nil, fmt.Errorf("script item %q: %q is not a count", item, val)
				}
			}
			switch name {
			case "drop":
				f.Drop = true
			case "delay":
				if f.Delay, err = time.ParseDuration(val); err != nil {
					return nil, fmt.Errorf("script item %q: %v", item, err)
				}
			case "dup":
				f.Dups = n
			case "badsum":
				f.BadChecksum = true
			case "wrongid":
				f.WrongID = true
			case "trunc":
				f.Truncate = n
			case "oldstamp":
				f.OldStamp = true
			default:
				return nil, fmt.Errorf("script item %q: unknown fault %q (drop, delay=D, dup[=N], badsum, wrongid, trunc=N, oldstamp)", item, name)
			}
		}
		sc[seq] = f
	}
	return sc, nil
}

// Responder answers echo requests on a raw socket as its Script says.
type Responder struct {
	V6     bool
	Script Script
	// BadChecksums counts requests dropped for a wrong ICMP checksum, as
	// the kernel's own responder drops them (icmp_rcv): a request whose
	// checksum fails was damaged or forged, and answering it would turn the
	// responder into a reflector for anything anyone sends. Read it after
	// Serve returns.
	BadChecksums int
	fd           int
}

// NewResponder opens the responder's raw ICMP (v6: ICMPv6) socket, which
// queues only echo requests.
func NewResponder(v6 bool, script Script) (*Responder, error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := sys.Socket(family, unix.SOCK_RAW, proto)
	if err != nil {
		return nil, err
	}
	if v6 {
		err = sys.SetICMPv6Filter(fd, ICMPv6Echo)
	} else {
		err = sys.SetICMPFilter(fd, ICMPEcho)
	}
	if err == nil {
		// Wake every 100 ms to notice a cancelled context.
		err = sys.SetRecvTimeout(fd, 100*time.Millisecond)
	}
	if err != nil {
		sys.Close(fd)
		return nil, err
	}
	return &Responder{V6: v6, Script: script, fd: fd}, nil
}

// Serve answers until ctx is cancelled, then closes the socket.
func (r *Responder) Serve(ctx context.Context) error {
	defer sys.Close(r.fd)
	var wg sync.WaitGroup
	defer wg.Wait() // delayed replies go out before the socket closes
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		n, from, _, err := sys.Recvfrom(r.fd, buf, 0)
		if err != nil {
			if sys.IsTemporary(err) {
				continue
			}
			return err
		}
		var pk Packet
		if r.V6 {
			pk, err = ParseICMP(buf[:n], true)
		} else {
			pk, err = ParseIPv4(buf[:n])
		}
		request := ICMPEcho
		if r.V6 {
			request = ICMPv6Echo
		}
		if err != nil || pk.Type != request {
			continue
		}
		if !pk.ChecksumOK { // IPv4 only: the kernel checks ICMPv6's
			r.BadChecksums++
			continue
		}
		f := r.Script[int(pk.Seq)]
		if f.Drop {
			continue
		}
		reply := r.reply(&pk, f)
		to := sys.Addr{Family: from.Family, IP: from.IP}
		send := func() {
			for i := 0; i <= f.Dups; i++ {
				sys.Sendto(r.fd, reply, 0, to)
			}
		}
		if f.Delay > 0 {
			wg.Add(1)
			time.AfterFunc(f.Delay, func() { defer wg.Done(); send() })
			continue
		}
		send()
	}
	return nil
}

// reply builds the echo reply to pk with fault f.
func (r *Responder) reply(pk *Packet, f Fault) []byte {
	data := pk.Data
	if f.Truncate > 0 {
		data = data[:max(len(data)-f.Truncate, 0)]
	}
	if f.OldStamp && len(data) >= timestampLen {
		data = append([]byte(nil), data...)
		binary.NativeEndian.PutUint64(data[0:], 1) // 1970-01-01 00:00:01
		binary.NativeEndian.PutUint64(data[8:], 0)
	}
	id := pk.ID
	if f.WrongID {
		id ^= 0x5a5a
	}
	t := ICMPEchoReply
	if r.V6 {
		t = ICMPv6EchoReply
	}
	b := Echo{V6: r.V6, Type: t, ID: id, Seq: pk.Seq, Data: data}.Marshal(nil)
	if f.BadChecksum && !r.V6 {
		binary.BigEndian.PutUint16(b[2:], binary.BigEndian.Uint16(b[2:])^0x00ff)
	}
	return b
}
