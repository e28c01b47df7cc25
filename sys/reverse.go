package sys

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"
)

// LookupAddr asks the system resolver (/etc/hosts, then DNS) for the name of
// an address, as getnameinfo(3) does for ping's "64 bytes from localhost
// (127.0.0.1)". It returns "" when there is none. Like ResolveHost it is the
// project's only other use of package net outside tests.
func LookupAddr(ip netip.Addr) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, ip.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	return strings.TrimSuffix(names[0], ".")
}
