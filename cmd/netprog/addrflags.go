package main

import (
	"errors"
	"flag"

	"netprog/sys"
)

// addrFlags are the address flags every server and client shares: -host and
// -port (the course's defaults), or -addr host:port / unix:/path; -4 or -6.
type addrFlags struct {
	host    string
	port    int
	addr    string
	addrSet bool // -addr given, even as ""
	v4, v6  bool
}

func newAddrFlags(fs *flag.FlagSet, defaultPort int) *addrFlags {
	a := &addrFlags{}
	fs.StringVar(&a.host, "host", "localhost", "host name or address (\"\" or 0.0.0.0: every address)")
	fs.IntVar(&a.port, "port", defaultPort, "port (0: the kernel picks an ephemeral one)")
	fs.Func("addr", "full address instead of -host/-port: host:port, [ipv6]:port or unix:/path", func(v string) error {
		a.addr, a.addrSet = v, true
		return nil
	})
	fs.BoolVar(&a.v4, "4", false, "use IPv4")
	fs.BoolVar(&a.v6, "6", false, "use IPv6 (localhost means ::1)")
	return a
}

func (a *addrFlags) family() (int, error) { return ipFamily(a.v4, a.v6) }

// ipFamily is the address family the -4 and -6 flags ask for.
func ipFamily(v4, v6 bool) (int, error) {
	switch {
	case v4 && v6:
		return 0, usagef("-4 and -6 exclude each other")
	case v4:
		return sys.IPv4, nil
	case v6:
		return sys.IPv6, nil
	}
	return sys.AnyFamily, nil
}

// resolve turns the flags into one address; bad ones are usage errors.
func (a *addrFlags) resolve() (sys.Addr, error) {
	fam, err := a.family()
	if err != nil {
		return sys.Addr{}, err
	}
	s := a.addr
	if a.addrSet && s == "" {
		return sys.Addr{}, usagef("-addr: empty address (want host:port, [ipv6]:port or unix:/path)")
	}
	if s == "" {
		if a.port < 0 || a.port > 65535 {
			return sys.Addr{}, usagef("port %d out of range 0-65535", a.port)
		}
		s = sys.JoinHostPort(a.host, a.port)
	}
	addr, err := sys.ResolveAddr(s, fam)
	if err != nil {
		return sys.Addr{}, usageIfAddrError(err)
	}
	return addr, nil
}

// usageIfAddrError turns a malformed address (sys.AddrError) into a usage
// error, exit 2 with a pointer to -h; other errors (an unresolvable name, a
// resolver failure) pass unchanged.
func usageIfAddrError(err error) error {
	var ae *sys.AddrError
	if errors.As(err, &ae) {
		return usagef("%v", err)
	}
	return err
}

// noArgs rejects stray arguments after the flags.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}
