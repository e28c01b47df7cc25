package sys

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls a forked child may make (see fork.go): raw (the
// standard library's syscall.RawSyscall, not x/sys's, whose ABI wrapper is
// race-instrumented), nosplit, norace, allocation-free, returning a bare
// unix.Errno (converting it to an error interface could allocate). They are not traced: tracing formats
// text, which a child cannot do; strace -f shows them.
//
// A child has no Go signal handlers, so no SA_RESTART either; EINTR can still
// come from a stop and continue (SIGSTOP, SIGCONT) during a call with a
// timeout (signal(7)), and is retried as in the rest of the package, by
// rawRestart (retry.go).

// ChildRead wraps read(2) for a forked child; EINTR is retried.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildRead(fd int, p []byte) (int, unix.Errno) {
	n, e := rawRestart(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// ChildSend writes all of p to a socket with sendto(2) and MSG_NOSIGNAL, so
// a peer that went away is EPIPE rather than SIGPIPE, finishing partial
// writes and retrying EINTR. It returns how much was sent.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildSend(fd int, p []byte) (int, unix.Errno) {
	sent := 0
	for sent < len(p) {
		n, e := rawRestart(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[sent])),
			uintptr(len(p)-sent), unix.MSG_NOSIGNAL, 0, 0)
		if e != 0 {
			return sent, e
		}
		sent += int(n)
	}
	return sent, 0
}

// ChildWrite writes all of p with write(2) (for a child's output on a
// terminal or pipe), finishing partial writes and retrying EINTR.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildWrite(fd int, p []byte) unix.Errno {
	for done := 0; done < len(p); {
		n, e := rawRestart(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done), 0, 0, 0)
		if e != 0 {
			return e
		}
		done += int(n)
	}
	return 0
}

// ChildAccept wraps accept4(2) with SOCK_CLOEXEC and no address (a prefork
// child does not print its peers); EINTR is retried.
//
//go:nosplit
//go:norace
func ChildAccept(lfd int) (int, unix.Errno) {
	fd, e := rawRestart(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), 0
}

// ChildClose wraps close(2), never retried (see Close).
//
//go:nosplit
//go:norace
func ChildClose(fd int) unix.Errno {
	_, _, e := syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return e
}

// ChildCloseRange wraps close_range(2) (Linux 5.9): it closes every open
// descriptor from first to last inclusive in one call; descriptors not open
// are skipped. A child uses it to drop everything it inherited and does not
// need (listening sockets, the runtime's epoll descriptor, other clients'
// sockets a concurrent accept had open at the time of the fork).
//
//go:nosplit
//go:norace
func ChildCloseRange(first, last uint) unix.Errno {
	_, _, e := syscall.RawSyscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(last), 0)
	return e
}

// ChildCloseAllBut closes every descriptor from 3 up except keep: the child
// keeps its standard input, output and error and the one socket it serves.
// On a kernel older than close_range (ENOSYS) the descriptors stay open.
//
//go:nosplit
//go:norace
func ChildCloseAllBut(keep int) unix.Errno {
	if keep > 3 {
		if e := ChildCloseRange(3, uint(keep-1)); e != 0 {
			return e
		}
	}
	return ChildCloseRange(uint(keep+1), ^uint(0))
}

// ChildSetRecvTimeout sets SO_RCVTIMEO to *tv with setsockopt(2) (see
// SetRecvTimeout). tv must point to memory the parent prepared.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildSetRecvTimeout(fd int, tv *unix.Timeval) unix.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO,
		uintptr(unsafe.Pointer(tv)), unsafe.Sizeof(*tv), 0)
	return e
}

// ChildGetpid wraps getpid(2).
//
//go:nosplit
//go:norace
func ChildGetpid() int {
	pid, _, _ := syscall.RawSyscall(unix.SYS_GETPID, 0, 0, 0)
	return int(pid)
}

// ChildSleep wraps clock_nanosleep(2) on CLOCK_MONOTONIC, the call the
// parent's Nanosleep makes too (the Go runtime's own sleeps are
// nanosleep(2), so strace -e trace=clock_nanosleep shows the program's
// sleeps alone): it sleeps for *ts, which it consumes (after an EINTR the
// kernel writes the time left into it and the sleep goes on). ts must
// point to memory the parent prepared.
//
//go:nosplit
//go:norace
//go:nocheckptr
func ChildSleep(ts *unix.Timespec) unix.Errno {
	_, e := rawRestart(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0,
		uintptr(unsafe.Pointer(ts)), uintptr(unsafe.Pointer(ts)), 0, 0)
	return e
}

// ChildCopy is copy(dst, src) for a child. The builtin copy is no good
// there: under -race (and wherever the compiler chooses) it calls
// runtime.slicecopy, which checks the stack, so a preemption request
// pending at the time of the fork sends the child into the scheduler,
// where it waits forever on a lock of the vanished parent threads.
//
//go:nosplit
//go:norace
func ChildCopy(dst, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = src[i]
	}
	return n
}

// ChildCopyString is ChildCopy from a string (a conversion to []byte
// would allocate).
//
//go:nosplit
//go:norace
func ChildCopyString(dst []byte, src string) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = src[i]
	}
	return n
}

// ChildFormatInt writes v in decimal at the start of dst and returns how many
// bytes it used (0 if dst is too short): a child's strconv.Itoa. Digits
// are produced backwards in place, so no scratch buffer is needed.
//
//go:nosplit
//go:norace
func ChildFormatInt(dst []byte, v int) int {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	n := 1
	for t := u / 10; t > 0; t /= 10 {
		n++
	}
	if neg {
		n++
	}
	if n > len(dst) {
		return 0
	}
	for i := n - 1; i >= 0; i-- {
		dst[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			if neg {
				dst[0] = '-'
			}
			break
		}
	}
	return n
}
