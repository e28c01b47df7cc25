package raw

import "fmt"

// Describe is iputils' text for an ICMP message, as ping prints it after
// "From 10.0.0.1 icmp_seq=3 ": "Destination Host Unreachable", "Time to
// live exceeded", and for ICMPv6 "Destination unreachable: No route",
// "Time exceeded: Hop limit". info is the header's second word (MTU,
// pointer, gateway), already in host order.
func Describe(v6 bool, typ, code int, info uint32) string {
	if v6 {
		return describe6(typ, code, info)
	}
	return describe4(typ, code, info)
}

var unreach4 = map[int]string{
	0: "Destination Net Unreachable", 1: "Destination Host Unreachable",
	2: "Destination Protocol Unreachable", 3: "Destination Port Unreachable",
	5: "Source Route Failed", 6: "Destination Net Unknown", 7: "Destination Host Unknown",
	8: "Source Host Isolated", 9: "Destination Net Prohibited", 10: "Destination Host Prohibited",
	11: "Destination Net Unreachable for Type of Service",
	12: "Destination Host Unreachable for Type of Service",
	13: "Packet filtered", 14: "Precedence Violation", 15: "Precedence Cutoff",
}

func describe4(typ, code int, info uint32) string {
	switch typ {
	case ICMPEchoReply:
		return "Echo Reply"
	case ICMPDestUnreach:
		if code == 4 {
			return fmt.Sprintf("Frag needed and DF set (mtu = %d)", info&0xffff)
		}
		if s, ok := unreach4[code]; ok {
			return s
		}
		return fmt.Sprintf("Dest Unreachable, Bad Code: %d", code)
	case ICMPSourceQuench:
		return "Source Quench"
	case ICMPRedirect:
		s := map[int]string{0: "Redirect Network", 1: "Redirect Host",
			2: "Redirect Type of Service and Network", 3: "Redirect Type of Service and Host"}[code]
		if s == "" {
			s = fmt.Sprintf("Redirect, Bad Code: %d", code)
		}
		gw := fmt.Sprintf("%d.%d.%d.%d", byte(info>>24), byte(info>>16), byte(info>>8), byte(info))
		return s + "(New nexthop: " + gw + ")"
	case ICMPEcho:
		return "Echo Request"
	case ICMPTimeExceeded:
		switch code {
		case 0:
			return "Time to live exceeded"
		case 1:
			return "Frag reassembly time exceeded"
		}
		return fmt.Sprintf("Time exceeded, Bad Code: %d", code)
	case ICMPParameterProb:
		return fmt.Sprintf("Parameter problem: pointer = %d", info>>24)
	}
	return fmt.Sprintf("Bad ICMP type: %d", typ)
}

var unreach6 = map[int]string{
	0: "No route", 1: "Administratively prohibited", 2: "Beyond scope of source address",
	3: "Address unreachable", 4: "Port unreachable",
	5: "Source address failed ingress/egress policy", 6: "Reject route to destination",
}

func describe6(typ, code int, info uint32) string {
	switch typ {
	case ICMPv6DestUnreach:
		s, ok := unreach6[code]
		if !ok {
			s = fmt.Sprintf("Unknown code %d", code)
		}
		return "Destination unreachable: " + s
	case ICMPv6PacketTooBig:
		s := fmt.Sprintf("Packet too big: mtu=%d", info)
		if code != 0 {
			s += fmt.Sprintf(", code=%d", code)
		}
		return s
	case ICMPv6TimeExceeded:
		switch code {
		case 0:
			return "Time exceeded: Hop limit"
		case 1:
			return "Time exceeded: Defragmentation failure"
		}
		return fmt.Sprintf("Time exceeded: code %d", code)
	case ICMPv6ParamProb:
		s := map[int]string{0: "Wrong header field ", 1: "Unknown header ", 2: "Unknown option "}[code]
		if s == "" {
			s = fmt.Sprintf("code %d ", code)
		}
		return fmt.Sprintf("Parameter problem: %sat %d", s, info)
	case ICMPv6Echo:
		return "Echo request"
	case ICMPv6EchoReply:
		return "Echo reply"
	}
	return fmt.Sprintf("unknown icmp type: %d", typ)
}
