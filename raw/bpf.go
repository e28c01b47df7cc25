package raw

import (
	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The classic BPF programs ping attaches with SO_ATTACH_FILTER (the ones
// iputils attaches, in the notation of bpf_asm). A raw ICMP socket receives
// a copy of every ICMP packet of the host; with another ping flooding, their
// replies would fill our receive buffer and ours would be dropped. The
// program runs in the kernel before the packet is queued: an echo reply with
// another identifier is dropped (return 0), everything else is kept whole
// (return 0xffffffff: "up to this many bytes").

func bpfStmt(code uint16, k uint32) unix.SockFilter {
	return unix.SockFilter{Code: code, K: k}
}

func bpfJump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// filterIPv4 is for a raw IPv4 socket, where the packet starts with the IP
// header:
//
//	ldxb 4*([0]&0xf)        ; X = IP header length (IHL)
//	ldh  [x+4]              ; A = ICMP identifier
//	jeq  #id, ours, notours
//	ours:    ret #0xffffffff
//	notours: ldb [x+0]      ; A = ICMP type
//	jeq  #0 (echo reply), drop, keep
//	keep:    ret #0xffffffff
//	drop:    ret #0
func filterIPv4(id uint16) []unix.SockFilter {
	return []unix.SockFilter{
		bpfStmt(unix.BPF_LDX|unix.BPF_B|unix.BPF_MSH, 0),
		bpfStmt(unix.BPF_LD|unix.BPF_H|unix.BPF_IND, 4),
		bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, uint32(id), 0, 1),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0xffffffff),
		bpfStmt(unix.BPF_LD|unix.BPF_B|unix.BPF_IND, 0),
		bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, ICMPEchoReply, 1, 0),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0xffffffff),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0),
	}
}

// filterIPv6 is the same for a raw ICMPv6 socket, where the packet starts
// with the ICMPv6 header (the kernel strips the IPv6 header first).
func filterIPv6(id uint16) []unix.SockFilter {
	return []unix.SockFilter{
		bpfStmt(unix.BPF_LD|unix.BPF_H|unix.BPF_ABS, 4),
		bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, uint32(id), 0, 1),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0xffffffff),
		bpfStmt(unix.BPF_LD|unix.BPF_B|unix.BPF_ABS, 0),
		bpfJump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, ICMPv6EchoReply, 1, 0),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0xffffffff),
		bpfStmt(unix.BPF_RET|unix.BPF_K, 0),
	}
}

// attachFilter attaches the program for a raw socket of the family v6 says
// that keeps identifier id's replies.
func attachFilter(fd int, v6 bool, id uint16) error {
	if v6 {
		return sys.AttachFilter(fd, filterIPv6(id))
	}
	return sys.AttachFilter(fd, filterIPv4(id))
}

// A flood attaches its filter later: at the first echo reply it reads that
// is not its own (foreignReply), as iputils does ("someone runs another
// ping on this host"). The program runs in the kernel on every packet
// queued, and on loopback a flood with it attached takes about 2% longer
// (bench/ping.sh). A flood can wait for it because it reads its queue
// after every request: another pinger's replies are read, and the filter
// attached, before they can pile up and crowd out its own. So that it is
// true from the first request on, the queue is read empty once before it
// (drainForeign): a flood started beside another finds the other's replies
// there and attaches its filter before it sends. A ping at an interval
// waits in poll between requests, where a flood beside could fill its
// queue in a millisecond: it attaches the filter when it opens the socket.

// filterLater reports whether the BPF filter waits for a foreign reply.
func (p *Pinger) filterLater() bool { return !p.dgram && p.interval == 0 }

// foreignReply attaches the BPF filter, if it waits, after an echo reply
// with another identifier was read. A failure is kept for the loop to
// return: the run cannot count on its replies any more.
func (p *Pinger) foreignReply() {
	if !p.filterPending {
		return
	}
	p.filterPending = false
	p.filterErr = attachFilter(p.fd, p.v6, p.id)
}

// drainForeign reads the queue empty before the first request of a run whose
// filter waits, so that replies of other pingers already there attach it.
// Empty, not just up to the first of them: beside a flood, the socket's
// buffer fills with the other's replies in the millisecond or two between
// socket() and now, and the filter keeps out only those that come after
// it; one left behind would drop our first reply. Nothing read here is
// ours: nothing was sent yet. It reads at most drainLimit packets: what
// the network sends is not a reason to loop (ICMP errors about other
// programs' traffic pass any filter).
func (p *Pinger) drainForeign() error {
	if !p.filterPending {
		return nil
	}
	for range drainLimit {
		if err := sys.RecvmsgBufNonblock(p.fd, &p.msg, 0); err != nil {
			if sys.IsTemporary(err) {
				return p.filterErr
			}
			return err
		}
		p.handle(&p.msg)
	}
	return p.filterErr
}

// drainLimit is more packets than a full receive buffer holds (SO_RCVBUF
// 64 KiB, doubled by the kernel; an 84-byte packet takes about 1 KiB of it).
const drainLimit = 1024
