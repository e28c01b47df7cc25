// Package raw is ping and traceroute over raw ICMP sockets, built directly on
// the system calls of package sys, and as faithful to iputils' ping as a
// student comparing the two line by line needs it to be.
//
// A raw socket (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), raw(7)) hands the
// program every ICMP packet the host receives, IP header and all, and sends
// whatever ICMP message the program builds. That is why ping needs root or
// CAP_NET_RAW, and why it has work to do on every packet: the checksum
// (RFC 1071), the identifier that tells its replies from another pinger's, a
// sequence number per request, the IP header length (IHL) before the ICMP
// header, and for an ICMP error the original header the router quoted back.
// The kernel helps three ways, and Pinger uses all three: ICMP_FILTER and
// ICMP6_FILTER queue only the ICMP types ping wants, a classic BPF program
// (SO_ATTACH_FILTER) drops other pingers' replies before they take room in
// the receive buffer, and SO_TIMESTAMPNS stamps each packet when it arrived,
// so a round trip never includes how late the program got around to reading.
// The filters judge only what arrives after them: what the socket queued
// before is read and thrown away before the first request (discardQueued).
//
// Without the privilege, Pinger falls back to an ICMP datagram socket
// (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), icmp(7) "ping sockets") where
// net.ipv4.ping_group_range allows it: there the kernel chooses the
// identifier, fills in the checksum, hands back only this socket's replies
// without IP header, and queues ICMP errors on the socket's error queue
// (IP_RECVERR), read with recvmsg(MSG_ERRQUEUE).
//
// The API is a Config and a context: Ping (or NewPinger and Run) calls back
// for every request sent, every reply and every ICMP error as they happen,
// and returns the Stats at the end. There is no global state; several
// Pingers in one process never count each other's replies.
//
// Package net is not used: addresses are netip.Addr, names are resolved by
// sys.ResolveHost.
package raw
