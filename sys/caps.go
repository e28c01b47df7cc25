package sys

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capabilities, and why dropping them takes every thread.
//
// A user may be given ping without being root the way iputils is given it:
// a file capability on the binary (setcap cap_net_raw+ep netprog), so that
// exec hands the process CAP_NET_RAW and nothing else. Such a process must
// hold the capability only as long as the call that needs it: socket(2) of
// a raw socket, and the options set on it. Then it drops everything, as
// iputils does (its CapEff is 0 while it pings), and netprog is one binary,
// so every other command drops at once: a chat server must not be able to
// open raw sockets because ping may.
//
// Capabilities belong to a thread, not to the process (capabilities(7)),
// and a Go program has several threads from its first instruction: capset
// from one goroutine leaves the others holding CAP_NET_RAW, and the next
// goroutine scheduled there can use it. syscall.AllThreadsSyscall runs the
// call on every thread, as glibc's setuid does for C programs. It cannot
// when cgo is linked in (threads the Go runtime does not know of), so the
// release binary is built with CGO_ENABLED=0; a build that cannot drop
// refuses to run with a capability at all.

// FileCapabilities reports whether the process runs with a file
// capability: a user other than root who holds a permitted capability (root
// holds them all, and is handled as root).
func FileCapabilities() (bool, error) {
	if unix.Getuid() == 0 {
		return false, nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	err := unix.Capget(&hdr, &data[0])
	traceCapget(data, err)
	if err != nil {
		return false, os.NewSyscallError("capget", err)
	}
	return data[0].Permitted|data[1].Permitted != 0, nil
}

// ErrCannotDrop is what DropCapabilities returns from a build that cannot
// change every thread's capabilities (cgo, the race detector).
var ErrCannotDrop = errors.New("this build cannot drop capabilities on every thread (build it with CGO_ENABLED=0)")

// DropCapabilities wraps capset(2) and prctl(PR_SET_NO_NEW_PRIVS), each
// made on every thread of the process: afterwards no thread holds a
// permitted, effective or inheritable capability, and no exec can give one
// back.
func DropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET,
		uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&none[0])), 0)
	err := errnoErr(e)
	traceCapset(none, err)
	if e == syscall.ENOTSUP {
		return ErrCannotDrop
	}
	if err != nil {
		return os.NewSyscallError("capset", err)
	}
	_, _, e = syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0)
	err = errnoErr(e)
	trace("prctl", "PR_SET_NO_NEW_PRIVS, 1 (every thread)", 0, err)
	if err != nil {
		return os.NewSyscallError("prctl", err)
	}
	return nil
}

// errnoErr makes a raw call's errno an error: nil for 0.
func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// fmtCaps renders capget/capset's data as strace does:
// {effective=..., permitted=..., inheritable=...}, as hex masks.
func fmtCaps(d [2]unix.CapUserData) string {
	mask := func(lo, hi uint32) string { return "0x" + strconv.FormatUint(uint64(hi)<<32|uint64(lo), 16) }
	return "{effective=" + mask(d[0].Effective, d[1].Effective) +
		", permitted=" + mask(d[0].Permitted, d[1].Permitted) +
		", inheritable=" + mask(d[0].Inheritable, d[1].Inheritable) + "}"
}
