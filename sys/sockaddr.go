package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The addresses accept4(2), getsockname(2) and getpeername(2) return, read
// from the kernel's sockaddr bytes here rather than by x/sys's conversion:
// for AF_INET, unix.Accept4 and unix.Getsockname first ask the socket for
// its protocol with getsockopt(SO_PROTOCOL) (to tell L2TP over IP apart), a
// system call per accepted connection that strace shows beside the
// lesson's own. netprog's sockets are TCP, UDP and AF_UNIX: the family is
// all the conversion needs.

// sockaddrBuf is a sockaddr for the kernel to fill, with its length (the
// value-result argument of accept4, getsockname and getpeername).
type sockaddrBuf struct {
	raw unix.RawSockaddrAny
	len uint32
}

// call makes trap(fd, &raw, &len, a3) with len reset to the buffer's size,
// restarting after EINTR, and returns the call's result.
func (b *sockaddrBuf) call(trap uintptr, fd int, a3 uintptr) (int, error) {
	var r uintptr
	err := restart(func() error {
		b.len = unix.SizeofSockaddrAny
		var e unix.Errno
		r, _, e = unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&b.raw)), uintptr(unsafe.Pointer(&b.len)), a3, 0, 0)
		if e != 0 {
			return e
		}
		return nil
	})
	return int(r), err
}

// addr is the address the kernel wrote, as x/sys would convert it (an
// abstract AF_UNIX name, and an unnamed one, begin with '@').
func (b *sockaddrBuf) addr() Addr {
	if b.raw.Addr.Family != unix.AF_UNIX {
		return rawToAddr(unsafe.Pointer(&b.raw), int(b.len))
	}
	pp := (*unix.RawSockaddrUnix)(unsafe.Pointer(&b.raw))
	path := pp.Path[:]
	if path[0] == 0 {
		path[0] = '@' // the abstract namespace, as x/sys writes it
	}
	n := 0
	for n < len(path) && path[n] != 0 {
		n++
	}
	return Addr{Family: unix.AF_UNIX, Path: string(unsafe.Slice((*byte)(unsafe.Pointer(&path[0])), n))}
}
