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
//
// Pinger attaches it when it opens the socket, before the first request.
// iputils waits until it reads another pinger's reply, which saves a flood
// the program's cost (about 2% of its time on loopback), but not its
// replies: when another flood starts while this process waits for a CPU,
// the other's replies fill the buffer before any of them is read, and the
// next reply of ours is dropped. Tried here, a flood lost a reply so in 5
// of 28 runs with busy loops beside it (none with the filter attached at
// once; TestFloodBesideAnotherFlood).

// discardQueued throws away what a raw socket queued before its filters
// were set. The kernel hands a raw ICMP socket a copy of every ICMP packet
// of its network namespace from the moment socket(2) returns, and
// ICMP_FILTER and SO_ATTACH_FILTER judge only what arrives after them. A
// process that loses its CPU between the two, beside a flood, finds its
// receive buffer full of the other pinger's packets, and the reply to its
// first request dropped for want of room (iputils loses it so; netprog did
// until this, TestFilterWindowAfterSocket). Nothing of ours can be in the
// queue: no request has gone out. (libpcap drains its socket after setting
// a filter, for the same reason.)
//
// The reads are bounded, since the ICMP errors the filters let through
// could go on arriving while we read: at most one per minTruesize bytes of
// the receive buffer (SO_RCVBUF, read before ping shrinks it), more than a
// full buffer can hold.
func discardQueued(fd int) error {
	size, err := sys.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return err
	}
	for range size/minTruesize + 1 {
		// A zero-length read of a datagram socket takes the whole datagram
		// off the queue; MSG_TRUNC makes it say how long it was.
		if _, _, _, err := sys.Recvfrom(fd, nil, unix.MSG_DONTWAIT); err != nil {
			if sys.IsTemporary(err) {
				return nil // EAGAIN: the queue is empty
			}
			return err
		}
	}
	return nil
}

// minTruesize is less than the kernel memory any queued packet is charged
// to the buffer (its data, struct sk_buff and skb_shared_info): a full
// buffer of the default size (rmem_default, 208 KiB) held 256 to 371
// packets of a flood on loopback, 575 to 832 bytes each.
const minTruesize = 256

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
