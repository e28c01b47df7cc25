package sys

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ChildSetSendTimeout sets SO_SNDTIMEO to *tv with setsockopt(2) (see
// SetSendTimeout) for a forked child: with it, a send to a peer that never
// reads fails with EAGAIN after tv instead of blocking forever once the
// socket buffers are full, so an idle timeout also ends a client stuck that
// way. tv must point to memory the parent prepared.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildSetSendTimeout(fd int, tv *unix.Timeval) unix.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_SNDTIMEO,
		uintptr(unsafe.Pointer(tv)), unsafe.Sizeof(*tv), 0)
	return e
}
