package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// SQE is struct io_uring_sqe, one request in the submission ring (64
// bytes). The kernel's unions are flattened into the field each request
// uses: Off is also addr2, OpFlags is msg_flags, accept_flags,
// timeout_flags, cancel_flags or poll32_events depending on the opcode,
// BufIndex is also buf_group.
type SQE struct {
	Opcode      uint8
	Flags       uint8  // IOSQE_*
	Ioprio      uint16 // for accept and recv: the multishot flags
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64 // comes back unchanged in the request's completions
	BufIndex    uint16
	Personality uint16
	FileIndex   uint32
	Addr3       uint64
	_           uint64
}

// CQE is struct io_uring_cqe, one result in the completion ring: the
// request's UserData, its result (what the system call would have returned,
// or -errno) and IORING_CQE_F_* flags.
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Err returns the completion's error as an Errno (nil when Res >= 0).
func (c CQE) Err() error {
	if c.Res < 0 {
		return unix.Errno(-c.Res)
	}
	return nil
}

// More reports whether a multishot request stays armed after this
// completion: without IORING_CQE_F_MORE it is over and must be submitted
// again to go on.
func (c CQE) More() bool { return c.Flags&IORING_CQE_F_MORE != 0 }

// BufferID returns the provided buffer this completion's data went into,
// and whether there is one (IORING_CQE_F_BUFFER).
func (c CQE) BufferID() (uint16, bool) {
	return uint16(c.Flags >> IORING_CQE_BUFFER_SHIFT), c.Flags&IORING_CQE_F_BUFFER != 0
}

// Opcodes (enum io_uring_op), with the kernel that brought each.
const (
	IORING_OP_NOP          = 0
	IORING_OP_POLL_ADD     = 6  // 5.1
	IORING_OP_TIMEOUT      = 11 // 5.4
	IORING_OP_ACCEPT       = 13 // 5.5; multishot 5.19
	IORING_OP_ASYNC_CANCEL = 14 // 5.5
	IORING_OP_CLOSE        = 19 // 5.6
	IORING_OP_READ         = 22 // 5.6
	IORING_OP_WRITE        = 23 // 5.6
	IORING_OP_SEND         = 26 // 5.6
	IORING_OP_RECV         = 27 // 5.6; multishot 6.0
	IORING_OP_SHUTDOWN     = 34 // 5.11
	IORING_OP_LAST         = 58 // 6.18's count, the probe's upper bound here
)

// SQE flags (IOSQE_*).
const (
	IOSQE_FIXED_FILE       = 1 << 0
	IOSQE_IO_DRAIN         = 1 << 1
	IOSQE_IO_LINK          = 1 << 2
	IOSQE_IO_HARDLINK      = 1 << 3
	IOSQE_ASYNC            = 1 << 4
	IOSQE_BUFFER_SELECT    = 1 << 5 // take the buffer from the group in BufIndex
	IOSQE_CQE_SKIP_SUCCESS = 1 << 6
)

// Multishot flags, in Ioprio.
const (
	IORING_ACCEPT_MULTISHOT    = 1 << 0 // one accept SQE, a completion per connection
	IORING_RECVSEND_POLL_FIRST = 1 << 0
	IORING_RECV_MULTISHOT      = 1 << 1 // one recv SQE, a completion per arrival
)

// CQE flags.
const (
	IORING_CQE_F_BUFFER        = 1 << 0 // the upper 16 bits are a buffer ID
	IORING_CQE_F_MORE          = 1 << 1 // the multishot request stays armed
	IORING_CQE_F_SOCK_NONEMPTY = 1 << 2
	IORING_CQE_BUFFER_SHIFT    = 16
)

// IORING_ASYNC_CANCEL_ALL cancels every request matching, not just the
// first (5.19).
const IORING_ASYNC_CANCEL_ALL = 1 << 0

// The Prep methods fill an SQE the way liburing's io_uring_prep_* do,
// starting from a zeroed entry: a field left over from the entry's previous
// use would change the meaning of the request.

// PrepNop makes a request that does nothing and completes with 0.
func (s *SQE) PrepNop(userData uint64) {
	*s = SQE{Opcode: IORING_OP_NOP, UserData: userData}
}

// PrepAccept makes accept4(fd, NULL, NULL, flags); with multishot it stays
// armed and completes once per connection, each Res a new descriptor
// (IORING_ACCEPT_MULTISHOT, 5.19; older kernels fail it with EINVAL).
func (s *SQE) PrepAccept(fd int, flags int, multishot bool, userData uint64) {
	*s = SQE{Opcode: IORING_OP_ACCEPT, Fd: int32(fd), OpFlags: uint32(flags), UserData: userData}
	if multishot {
		s.Ioprio = IORING_ACCEPT_MULTISHOT
	}
}

// PrepRecv makes recv(fd, p, len(p), flags). p must stay untouched and
// alive until the request completes.
func (s *SQE) PrepRecv(fd int, p []byte, flags int, userData uint64) {
	*s = SQE{Opcode: IORING_OP_RECV, Fd: int32(fd), Addr: bufAddr(p), Len: uint32(len(p)),
		OpFlags: uint32(flags), UserData: userData}
}

// PrepRecvSelect makes a recv whose buffer the kernel picks, when data
// arrives, from the provided-buffer group bgid (IOSQE_BUFFER_SELECT), so no
// memory is tied up by a connection that is idle. With multishot the request
// stays armed and completes once per arrival (IORING_RECV_MULTISHOT, 6.0);
// it ends (no IORING_CQE_F_MORE) at end of file, on an error, or with
// ENOBUFS when the group runs out of buffers.
func (s *SQE) PrepRecvSelect(fd int, bgid uint16, maxLen int, multishot bool, userData uint64) {
	*s = SQE{Opcode: IORING_OP_RECV, Fd: int32(fd), Flags: IOSQE_BUFFER_SELECT, BufIndex: bgid, UserData: userData}
	if multishot {
		s.Ioprio = IORING_RECV_MULTISHOT // the length comes from each buffer
	} else {
		s.Len = uint32(maxLen)
	}
}

// PrepSend makes send(fd, p, len(p), flags|MSG_NOSIGNAL): a peer that went
// away yields EPIPE in the completion, never a SIGPIPE. p must stay untouched
// and alive until the request completes. Like send(2), it may send less than
// all of p.
func (s *SQE) PrepSend(fd int, p []byte, flags int, userData uint64) {
	*s = SQE{Opcode: IORING_OP_SEND, Fd: int32(fd), Addr: bufAddr(p), Len: uint32(len(p)),
		OpFlags: uint32(flags | unix.MSG_NOSIGNAL), UserData: userData}
}

// PrepRead makes read(fd, p, len(p)) at the file's current position.
func (s *SQE) PrepRead(fd int, p []byte, userData uint64) {
	*s = SQE{Opcode: IORING_OP_READ, Fd: int32(fd), Addr: bufAddr(p), Len: uint32(len(p)),
		Off: ^uint64(0), UserData: userData}
}

// PrepPollAdd completes once fd has one of events (POLLIN, ...): poll(2)
// for one descriptor, as a request.
func (s *SQE) PrepPollAdd(fd int, events uint32, userData uint64) {
	*s = SQE{Opcode: IORING_OP_POLL_ADD, Fd: int32(fd), OpFlags: events, UserData: userData}
}

// KernelTimespec is struct __kernel_timespec, 64-bit on every architecture.
type KernelTimespec struct {
	Sec  int64
	Nsec int64
}

// PrepTimeout makes a timer that completes with ETIME after ts (relative);
// the kernel reads ts when the entry is submitted.
func (s *SQE) PrepTimeout(ts *KernelTimespec, userData uint64) {
	*s = SQE{Opcode: IORING_OP_TIMEOUT, Fd: -1, Addr: uint64(uintptr(unsafe.Pointer(ts))), Len: 1, UserData: userData}
}

// PrepCancel asks the kernel to cancel the pending request whose user data
// is target: that request completes with ECANCELED (or, if it was already
// finishing, normally), and this one with 0, ENOENT (nothing to cancel) or
// EALREADY.
func (s *SQE) PrepCancel(target uint64, userData uint64) {
	*s = SQE{Opcode: IORING_OP_ASYNC_CANCEL, Fd: -1, Addr: target, UserData: userData}
}

// PrepClose makes close(fd). A request still pending on fd holds its own
// reference to the socket, so close does not end it: cancel first.
func (s *SQE) PrepClose(fd int, userData uint64) {
	*s = SQE{Opcode: IORING_OP_CLOSE, Fd: int32(fd), UserData: userData}
}

// PrepShutdown makes shutdown(fd, how).
func (s *SQE) PrepShutdown(fd, how int, userData uint64) {
	*s = SQE{Opcode: IORING_OP_SHUTDOWN, Fd: int32(fd), Len: uint32(how), UserData: userData}
}

// bufAddr is the address the kernel is to use for p. The Go heap does not
// move objects, so the address stays valid as long as p is reachable: the
// caller keeps p referenced until the request completes.
func bufAddr(p []byte) uint64 {
	if len(p) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&p[0])))
}

var opNames = map[uint8]string{
	IORING_OP_NOP: "NOP", IORING_OP_POLL_ADD: "POLL_ADD", IORING_OP_TIMEOUT: "TIMEOUT",
	IORING_OP_ACCEPT: "ACCEPT", IORING_OP_ASYNC_CANCEL: "ASYNC_CANCEL", IORING_OP_CLOSE: "CLOSE",
	IORING_OP_READ: "READ", IORING_OP_WRITE: "WRITE", IORING_OP_SEND: "SEND", IORING_OP_RECV: "RECV",
	IORING_OP_SHUTDOWN: "SHUTDOWN",
}

// OpName returns "IORING_OP_RECV" for IORING_OP_RECV, for messages.
func OpName(op uint8) string {
	if n, ok := opNames[op]; ok {
		return "IORING_OP_" + n
	}
	return "IORING_OP_" + itoa(int(op))
}
