package sys

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The trace hook: when a writer is set, every wrapper in this package prints
// one line per system call, in the shape strace(1) prints it:
//
//	bind(3, {AF_INET, 127.0.0.1:8090}) = 0
//	bind(3, {AF_INET, 127.0.0.1:8090}) = -1 EADDRINUSE (Address already in use)
//
// Arguments are formatted only when tracing is on, so the hook costs one
// atomic load per call otherwise. This file holds the hook and the
// formatting of values (addresses, buffers, flags, options); the line of
// each wrapper whose arguments need more than naming is built by its own
// traceX function in trace_calls.go, trace_io.go and trace_uring.go, so
// the wrappers read as x/sys's do: the call, the trace, the error.

var (
	traceOut atomic.Pointer[io.Writer]
	traceMu  sync.Mutex // one line at a time, from any goroutine
)

// SetTrace sends one strace-style line per system call to w; nil turns
// tracing off.
func SetTrace(w io.Writer) {
	if w == nil {
		traceOut.Store(nil)
		return
	}
	traceOut.Store(&w)
}

// Tracing reports whether the trace hook is on.
func Tracing() bool { return traceOut.Load() != nil }

// trace prints "name(args) = ret" or "name(args) = -1 ENAME (Message)".
func trace(name, args string, ret int, err error) {
	wp := traceOut.Load()
	if wp == nil {
		return
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	b.WriteString(args)
	b.WriteString(") = ")
	if err != nil {
		b.WriteString(errnoText(err))
	} else {
		b.WriteString(strconv.Itoa(ret))
	}
	b.WriteByte('\n')
	traceMu.Lock()
	io.WriteString(*wp, b.String())
	traceMu.Unlock()
}

// errnoText renders an error as strace does: "-1 ENAME (Message)".
func errnoText(err error) string {
	e := Errno(err)
	if e == 0 {
		return "-1 (" + err.Error() + ")"
	}
	msg := e.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return "-1 " + unix.ErrnoName(e) + " (" + msg + ")"
}

// fmtSockaddr renders an address as {AF_INET, 127.0.0.1:8090}.
func fmtSockaddr(a Addr) string {
	return "{" + familyName(a.Family) + ", " + a.String() + "}"
}

func familyName(f int) string {
	switch f {
	case unix.AF_INET:
		return "AF_INET"
	case unix.AF_INET6:
		return "AF_INET6"
	case unix.AF_UNIX:
		return "AF_UNIX"
	case unix.AF_UNSPEC:
		return "AF_UNSPEC"
	}
	return strconv.Itoa(f)
}

// traceStrLen is how much of a buffer a trace line shows, like strace -s 32.
const traceStrLen = 32

// fmtData renders a buffer as strace does: a C string literal, cut at 32
// bytes with "..." after it.
func fmtData(p []byte) string {
	cut := false
	if len(p) > traceStrLen {
		p, cut = p[:traceStrLen], true
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range p {
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c < ' ' || c > '~' {
				fmt.Fprintf(&b, `\%o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	if cut {
		b.WriteString("...")
	}
	return b.String()
}

// flagNames renders a bit mask as A|B|C from a table, leftover bits in hex.
func flagNames(v int, table []flagName) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for _, f := range table {
		if f.bit != 0 && v&f.bit == f.bit {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatInt(int64(v), 16))
	}
	return strings.Join(parts, "|")
}

// flagName is one bit of a flags argument and its name. A table lists
// them in the order strace prints them (its xlat files' order: mostly the
// lowest bit first, but SOCK_CLOEXEC before SOCK_NONBLOCK and __WCLONE
// before __WALL), so a --trace line reads as strace's
// (TestFlagNamesAsStracePrints).
type flagName struct {
	bit  int
	name string
}

var msgFlags = []flagName{
	{unix.MSG_OOB, "MSG_OOB"}, {unix.MSG_PEEK, "MSG_PEEK"},
	{unix.MSG_TRUNC, "MSG_TRUNC"}, {unix.MSG_DONTWAIT, "MSG_DONTWAIT"},
	{unix.MSG_WAITALL, "MSG_WAITALL"}, {unix.MSG_ERRQUEUE, "MSG_ERRQUEUE"},
	{unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"}, {unix.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}

var sockTypeFlags = []flagName{
	{unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"}, {unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"},
}

func fmtSockType(t int) string {
	base := t &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
	name := map[int]string{unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM",
		unix.SOCK_RAW: "SOCK_RAW", unix.SOCK_SEQPACKET: "SOCK_SEQPACKET"}[base]
	if name == "" {
		name = strconv.Itoa(base)
	}
	if rest := t & (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC); rest != 0 {
		name += "|" + flagNames(rest, sockTypeFlags)
	}
	return name
}

func fmtProto(family, p int) string {
	switch {
	case p == 0 && family == unix.AF_UNIX:
		return "0"
	case p == 0:
		return "IPPROTO_IP"
	case p == unix.IPPROTO_TCP:
		return "IPPROTO_TCP"
	case p == unix.IPPROTO_UDP:
		return "IPPROTO_UDP"
	case p == unix.IPPROTO_ICMP:
		return "IPPROTO_ICMP"
	case p == unix.IPPROTO_ICMPV6:
		return "IPPROTO_ICMPV6"
	}
	return strconv.Itoa(p)
}

var optNames = map[[2]int]string{
	{unix.SOL_SOCKET, unix.SO_REUSEADDR}:        "SOL_SOCKET, SO_REUSEADDR",
	{unix.SOL_SOCKET, unix.SO_REUSEPORT}:        "SOL_SOCKET, SO_REUSEPORT",
	{unix.SOL_SOCKET, unix.SO_RCVTIMEO}:         "SOL_SOCKET, SO_RCVTIMEO_OLD",
	{unix.SOL_SOCKET, unix.SO_SNDTIMEO}:         "SOL_SOCKET, SO_SNDTIMEO_OLD",
	{unix.SOL_SOCKET, unix.SO_ERROR}:            "SOL_SOCKET, SO_ERROR",
	{unix.SOL_SOCKET, unix.SO_LINGER}:           "SOL_SOCKET, SO_LINGER",
	{unix.SOL_SOCKET, unix.SO_RCVBUF}:           "SOL_SOCKET, SO_RCVBUF",
	{unix.SOL_SOCKET, unix.SO_SNDBUF}:           "SOL_SOCKET, SO_SNDBUF",
	{unix.SOL_SOCKET, unix.SO_KEEPALIVE}:        "SOL_SOCKET, SO_KEEPALIVE",
	{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS}:      "SOL_SOCKET, SO_TIMESTAMPNS_OLD",
	{unix.IPPROTO_TCP, unix.TCP_NODELAY}:        "SOL_TCP, TCP_NODELAY",
	{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY}:       "SOL_IPV6, IPV6_V6ONLY",
	{unix.IPPROTO_IP, unix.IP_TTL}:              "SOL_IP, IP_TTL",
	{unix.IPPROTO_IP, unix.IP_RECVERR}:          "SOL_IP, IP_RECVERR",
	{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS}: "SOL_IPV6, IPV6_UNICAST_HOPS",
}

func fmtOpt(level, opt int) string {
	if s, ok := optNames[[2]int{level, opt}]; ok {
		return s
	}
	return strconv.Itoa(level) + ", " + strconv.Itoa(opt)
}
