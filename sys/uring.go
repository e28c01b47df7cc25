package sys

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring(7) is Linux's asynchronous I/O interface (5.1 and later): two
// rings of memory shared between a process and the kernel. The process
// writes requests (submission queue entries, SQEs) into one, the kernel
// writes their results (completion queue entries, CQEs) into the other, and a
// single io_uring_enter(2) both hands the kernel any number of new requests
// and waits for any number of results. A server that keeps its rings busy
// makes far fewer system calls than one that calls accept, read and write
// itself: that is the whole point, and what `strace -c` shows.
//
// golang.org/x/sys/unix has the three system call numbers but none of the
// structures, so the kernel ABI (include/uapi/linux/io_uring.h) is spelled
// out here and in uring_sqe.go, with the kernel's names. Only what netprog
// uses is defined.

// IoUringParams is struct io_uring_params: what io_uring_setup(2) is asked
// for (Flags, CqEntries) and what it answers (sizes, Features, and the
// offsets of the ring fields inside the memory to mmap).
type IoUringParams struct {
	SqEntries    uint32
	CqEntries    uint32
	Flags        uint32
	SqThreadCPU  uint32
	SqThreadIdle uint32
	Features     uint32
	WqFd         uint32
	resv         [3]uint32
	SqOff        IoSqringOffsets
	CqOff        IoCqringOffsets
}

// IoSqringOffsets is struct io_sqring_offsets: where each field of the
// submission ring lies, in bytes from the start of its mapping.
type IoSqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, resv1 uint32
	UserAddr                                                        uint64
}

// IoCqringOffsets is struct io_cqring_offsets, the same for the completion
// ring.
type IoCqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, resv1 uint32
	UserAddr                                                        uint64
}

// GeteventsArg is struct io_uring_getevents_arg: with IORING_ENTER_EXT_ARG,
// io_uring_enter's last two arguments are a pointer to one and its size,
// instead of a signal mask and its size.
type GeteventsArg struct {
	Sigmask     uint64 // a sigset_t to wait under, or 0
	SigmaskSz   uint32
	MinWaitUsec uint32 // batch wait (IORING_FEAT_MIN_TIMEOUT), see Ring.SubmitAndWaitBatch
	Ts          uint64 // a *KernelTimespec bounding the whole wait, or 0: none (netprog sets none)
}

// The kernel checks the size of what it is given; a wrong layout here would
// be a silent disaster, so it is checked at compile time.
var (
	_ [120]byte = [unsafe.Sizeof(IoUringParams{})]byte{}
	_ [64]byte  = [unsafe.Sizeof(SQE{})]byte{}
	_ [24]byte  = [unsafe.Sizeof(GeteventsArg{})]byte{}
	_ [16]byte  = [unsafe.Sizeof(CQE{})]byte{}
)

// io_uring_setup(2) flags.
const (
	IORING_SETUP_IOPOLL        = 1 << 0
	IORING_SETUP_SQPOLL        = 1 << 1
	IORING_SETUP_CQSIZE        = 1 << 3  // CqEntries is set (5.5)
	IORING_SETUP_CLAMP         = 1 << 4  // clamp sizes to the maximum instead of EINVAL (5.6)
	IORING_SETUP_SUBMIT_ALL    = 1 << 7  // go on submitting after an SQE fails (5.18)
	IORING_SETUP_COOP_TASKRUN  = 1 << 8  // no IPI to interrupt us for completions (5.19)
	IORING_SETUP_SINGLE_ISSUER = 1 << 12 // only one thread ever submits (6.0)
	IORING_SETUP_DEFER_TASKRUN = 1 << 13 // completions are run only when we wait for them (6.1)
)

// Features the kernel reports in IoUringParams.Features.
const (
	IORING_FEAT_SINGLE_MMAP = 1 << 0  // SQ and CQ rings share one mapping (5.4)
	IORING_FEAT_NODROP      = 1 << 1  // a full CQ never loses a completion (5.5)
	IORING_FEAT_FAST_POLL   = 1 << 5  // sockets are polled internally, no worker thread (5.7)
	IORING_FEAT_EXT_ARG     = 1 << 8  // io_uring_enter takes a GeteventsArg (5.11)
	IORING_FEAT_MIN_TIMEOUT = 1 << 15 // GeteventsArg.MinWaitUsec is honoured (6.12)
)

// io_uring_enter(2) flags.
const (
	IORING_ENTER_GETEVENTS = 1 << 0
	IORING_ENTER_SQ_WAKEUP = 1 << 1
	IORING_ENTER_SQ_WAIT   = 1 << 2
	IORING_ENTER_EXT_ARG   = 1 << 3
)

// Offsets to pass to mmap(2) for each part of a ring.
const (
	IORING_OFF_SQ_RING = 0
	IORING_OFF_CQ_RING = 0x8000000
	IORING_OFF_SQES    = 0x10000000
)

// Flags the kernel sets in the SQ ring's flags word.
const (
	IORING_SQ_NEED_WAKEUP = 1 << 0
	IORING_SQ_CQ_OVERFLOW = 1 << 1 // completions wait in the kernel's overflow list
	IORING_SQ_TASKRUN     = 1 << 2
)

// io_uring_register(2) opcodes.
const (
	IORING_REGISTER_PROBE       = 8
	IORING_REGISTER_PBUF_RING   = 22
	IORING_UNREGISTER_PBUF_RING = 23
)

var setupFlagNames = []flagName{
	{IORING_SETUP_IOPOLL, "IORING_SETUP_IOPOLL"}, {IORING_SETUP_SQPOLL, "IORING_SETUP_SQPOLL"},
	{IORING_SETUP_CQSIZE, "IORING_SETUP_CQSIZE"}, {IORING_SETUP_CLAMP, "IORING_SETUP_CLAMP"},
	{IORING_SETUP_SUBMIT_ALL, "IORING_SETUP_SUBMIT_ALL"}, {IORING_SETUP_COOP_TASKRUN, "IORING_SETUP_COOP_TASKRUN"},
	{IORING_SETUP_SINGLE_ISSUER, "IORING_SETUP_SINGLE_ISSUER"}, {IORING_SETUP_DEFER_TASKRUN, "IORING_SETUP_DEFER_TASKRUN"},
}

var enterFlagNames = []flagName{
	{IORING_ENTER_GETEVENTS, "IORING_ENTER_GETEVENTS"}, {IORING_ENTER_SQ_WAKEUP, "IORING_ENTER_SQ_WAKEUP"},
	{IORING_ENTER_SQ_WAIT, "IORING_ENTER_SQ_WAIT"}, {IORING_ENTER_EXT_ARG, "IORING_ENTER_EXT_ARG"},
}

var registerOpNames = map[uint32]string{
	IORING_REGISTER_PROBE:       "IORING_REGISTER_PROBE",
	IORING_REGISTER_PBUF_RING:   "IORING_REGISTER_PBUF_RING",
	IORING_UNREGISTER_PBUF_RING: "IORING_UNREGISTER_PBUF_RING",
}

// IoUringSetup wraps io_uring_setup(2): it creates a ring with room for
// entries submissions, fills in p (sizes, features, mmap offsets) and returns
// the ring's descriptor, which the kernel always opens close-on-exec. A
// kernel built without io_uring fails with ENOSYS; one where it is switched
// off (sysctl kernel.io_uring_disabled, or a seccomp filter such as Docker's
// default profile) fails with EPERM or ENOSYS; an unknown flag is EINVAL.
func IoUringSetup(entries uint32, p *IoUringParams) (int, error) {
	flags := p.Flags
	r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	fd := int(r)
	var err error
	if e != 0 {
		fd, err = -1, e
	}
	traceIoUringSetup(entries, flags, p, fd, err)
	return fd, syscallErr("io_uring_setup", err)
}

// IoUringEnter wraps io_uring_enter(2) without its signal-mask argument: it
// tells the kernel that toSubmit new entries wait in the submission ring and,
// with IORING_ENTER_GETEVENTS, waits until at least minComplete completions
// are in the completion ring. It returns how many entries the kernel took.
// A wait interrupted by a signal fails with EINTR having taken nothing, so
// it is restarted with the same arguments.
func IoUringEnter(fd int, toSubmit, minComplete, flags uint32) (int, error) {
	return IoUringEnterArg(fd, toSubmit, minComplete, flags, nil)
}

// IoUringEnterArg is IoUringEnter with an io_uring_getevents_arg (arg not
// nil adds IORING_ENTER_EXT_ARG to flags): a timeout for the wait, or a
// batch wait. A wait that times out fails with ETIME unless entries were
// submitted, in which case it returns their count like any other.
func IoUringEnterArg(fd int, toSubmit, minComplete, flags uint32, arg *GeteventsArg) (int, error) {
	var argsz uintptr
	if arg != nil {
		flags |= IORING_ENTER_EXT_ARG
		argsz = unsafe.Sizeof(*arg)
	}
	var n int
	err := restart(func() error {
		// The pointer is converted in the call expression itself, the only
		// place where Go keeps what it points to alive and unmoved for the
		// duration of the system call (unsafe.Pointer rule 4).
		r, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags),
			uintptr(unsafe.Pointer(arg)), argsz)
		if e != 0 {
			n = -1
			return e
		}
		n = int(r)
		return nil
	})
	traceIoUringEnter(fd, toSubmit, minComplete, flags, arg, argsz, n, err)
	return n, syscallErr("io_uring_enter", err)
}

// IoUringRegister wraps io_uring_register(2): it hands the ring a resource
// (a provided-buffer ring, ...) or asks it something (IORING_REGISTER_PROBE).
// arg points to the opcode's structure and must stay alive during the call.
func IoUringRegister(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(opcode), uintptr(arg), uintptr(nrArgs), 0, 0)
	n := int(r)
	var err error
	if e != 0 {
		n, err = -1, e
	}
	traceIoUringRegister(fd, opcode, arg, nrArgs, n, err)
	return n, syscallErr("io_uring_register", err)
}

// mmap wraps mmap(2) for the rings: fd -1 asks for anonymous memory.
func mmap(fd int, offset int64, length int, prot, flags int) ([]byte, error) {
	b, err := unix.Mmap(fd, offset, length, prot, flags)
	traceMmap(fd, offset, length, prot, flags, b, err)
	return b, syscallErr("mmap", err)
}

// munmap wraps munmap(2).
func munmap(b []byte) error {
	if b == nil {
		return nil
	}
	addr, length := uintptr(unsafe.Pointer(&b[0])), len(b)
	err := unix.Munmap(b)
	traceMunmap(addr, length, err)
	return syscallErr("munmap", err)
}

var protFlags = []flagName{{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}}

var mapFlags = []flagName{
	{unix.MAP_SHARED, "MAP_SHARED"}, {unix.MAP_PRIVATE, "MAP_PRIVATE"},
	{unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {unix.MAP_POPULATE, "MAP_POPULATE"},
}

func fmtPtr(p unsafe.Pointer) string {
	if p == nil {
		return "NULL"
	}
	return "0x" + strconv.FormatUint(uint64(uintptr(p)), 16)
}
