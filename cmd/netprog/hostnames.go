package main

import (
	"net/netip"

	"netprog/sys"
)

// hostNames caches reverse lookups for the programs that print
// "name (address)" (ping, traceroute): each address is looked up once, as
// iputils does, and not again for every reply from it.
type hostNames map[netip.Addr]string

// lookup is ip's name from the system resolver, or "" if it has none.
func (n hostNames) lookup(ip netip.Addr) string {
	name, ok := n[ip]
	if !ok {
		name = sys.LookupAddr(ip)
		n[ip] = name
	}
	return name
}
