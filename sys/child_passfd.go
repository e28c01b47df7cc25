package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// RecvFD for a forked child (see child.go for the rules; the call is the
// standard library's syscall.RawSyscall, since x/sys's is race-instrumented,
// through rawRestart).
// The message header, its one-byte data buffer and its control buffer are
// globals the parent's runtime set up at start, pointers included, so the
// child stores only numbers (the two lengths the kernel overwrites) and
// hands the kernel a pointer to memory it already had. Each child has its
// own copy of them: fork copies memory.

var (
	childFDByte [1]byte
	childFDCtl  [32]byte // at least unix.CmsgSpace(4): room for one descriptor
	childFDIov  = unix.Iovec{Base: &childFDByte[0]}
	childFDMsg  = unix.Msghdr{Iov: &childFDIov, Control: &childFDCtl[0]}

	childFDCtlLen  = childFDMsg.Controllen // len(childFDCtl), in the field's own type
	childFDDataOff = unix.CmsgLen(0)       // where the descriptor starts in childFDCtl
	childFDCmsgLen = unix.CmsgLen(4)       // cmsg_len of a message carrying one descriptor
)

func init() {
	childFDIov.SetLen(len(childFDByte))
	childFDMsg.SetIovlen(1)
	// Room for exactly one descriptor: a sender passing more would have
	// the rest closed by the kernel (MSG_CTRUNC) rather than leaked here.
	childFDMsg.SetControllen(unix.CmsgSpace(4))
	childFDCtlLen = childFDMsg.Controllen
}

// ChildRecvFD is RecvFD for a forked child: recvmsg(2) of one byte with an
// SCM_RIGHTS control message, MSG_CMSG_CLOEXEC; EINTR is retried. It
// returns the descriptor received; -1 and no error at end of file (the
// parent closed its end of the channel); EMFILE when the kernel could not
// install the descriptor in this process (MSG_CTRUNC); EBADMSG for a byte
// that carried none.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildRecvFD(sock int) (int, unix.Errno) {
	// The kernel wrote into both what the last message used; an
	// interrupted recvmsg writes nothing back, so once before the tries
	// is enough.
	childFDMsg.Controllen = childFDCtlLen
	childFDMsg.Flags = 0
	n, e := rawRestart(unix.SYS_RECVMSG, uintptr(sock), uintptr(unsafe.Pointer(&childFDMsg)),
		unix.MSG_CMSG_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	if n == 0 {
		return -1, 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&childFDCtl[0]))
	if uint64(childFDMsg.Controllen) >= uint64(childFDCmsgLen) && h.Level == unix.SOL_SOCKET &&
		h.Type == unix.SCM_RIGHTS && uint64(h.Len) == uint64(childFDCmsgLen) {
		return int(*(*int32)(unsafe.Pointer(&childFDCtl[childFDDataOff]))), 0
	}
	if childFDMsg.Flags&unix.MSG_CTRUNC != 0 {
		return -1, unix.EMFILE
	}
	return -1, unix.EBADMSG
}
