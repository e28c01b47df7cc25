package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read wraps read(2), restarting it after EINTR. n == 0 with a nil error is
// end of file: on a socket, the peer closed its side. On a nonblocking
// descriptor with nothing to read the error is EAGAIN (IsTemporary).
func Read(fd int, p []byte) (int, error) {
	var n int
	err := restart(func() (err error) {
		n, err = unix.Read(fd, p)
		return err
	})
	if n < 0 {
		n = 0
	}
	traceRead(fd, p, n, err)
	return n, syscallErr("read", err)
}

// Write wraps write(2) and finishes partial writes: it returns when all of p
// is written or an error stops it, and n says how much got out (on a
// nonblocking descriptor the error may be EAGAIN with 0 < n < len(p)). EINTR
// restarts the rest. On a socket whose peer is gone this is EPIPE (Go's
// runtime ignores the SIGPIPE for descriptors other than 1 and 2); sockets
// should use Send, which asks for no signal at all.
func Write(fd int, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		var m int
		err := restart(func() (err error) {
			m, err = unix.Write(fd, p[n:])
			return err
		})
		if m < 0 {
			m = 0
		}
		traceWrite(fd, p, n, m, err)
		n += m
		if err != nil {
			return n, syscallErr("write", err)
		}
	}
	return n, nil
}

// Send writes all of p to a connected socket with sendto(2) and
// MSG_NOSIGNAL, so a reset peer gives EPIPE rather than killing the process
// with SIGPIPE (send(2)); it finishes partial writes like Write.
func Send(fd int, p []byte, flags int) (int, error) {
	flags |= unix.MSG_NOSIGNAL
	n := 0
	for n < len(p) {
		var m int
		err := restart(func() (err error) {
			m, err = sendto(fd, p[n:], flags)
			return err
		})
		traceSend(fd, p, n, flags, m, err)
		if m > 0 {
			n += m
		}
		if err != nil {
			return n, syscallErr("sendto", err)
		}
	}
	return n, nil
}

// Recv wraps recvfrom(2) on a connected socket (send's twin): recv(2),
// which is recvfrom with no address to fill. n == 0 with a nil error is
// end of file.
func Recv(fd int, p []byte, flags int) (int, error) {
	n, err := recvfrom(fd, p, flags, nil)
	traceRecv(fd, p, flags, n, err)
	return n, syscallErr("recvfrom", err)
}

// recvfrom is recvfrom(2) as the kernel has it, restarting after EINTR:
// the sender's address into from's buffer (sockaddr.go), or none when
// from is nil. It returns what the call returned (with MSG_TRUNC, the
// datagram's full length), 0 on error.
func recvfrom(fd int, p []byte, flags int, from *sockaddrBuf) (int, error) {
	var ptr, name, namelen unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	if from != nil {
		name, namelen = unsafe.Pointer(&from.raw), unsafe.Pointer(&from.len)
	}
	var n int
	err := restart(func() error {
		if from != nil {
			from.len = unix.SizeofSockaddrAny
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), uintptr(name), uintptr(namelen))
		if e != 0 {
			n = 0
			return e
		}
		n = int(r)
		return nil
	})
	return n, err
}

// Recvfrom wraps recvfrom(2) for datagrams and returns the sender. A datagram
// longer than p is cut by the kernel (UDP keeps record boundaries and drops
// the rest); we ask with MSG_TRUNC, which makes recvfrom return the real
// length, so trunc says when that happened and full how long it was.
func Recvfrom(fd int, p []byte, flags int) (n int, from Addr, full int, err error) {
	flags |= unix.MSG_TRUNC
	var b sockaddrBuf // sockaddr.go: no getsockopt per datagram
	n, err = recvfrom(fd, p, flags, &b)
	full = n
	if n > len(p) {
		n = len(p)
	}
	if err == nil && b.len > 0 {
		from = b.addr()
	}
	traceRecvfrom(fd, p, flags, from, n, full, err)
	return n, from, full, syscallErr("recvfrom", err)
}

// Sendto wraps sendto(2) for one datagram to a. A datagram is sent whole or
// not at all, so there is no partial write to finish; EMSGSIZE means it is
// too big for the protocol.
func Sendto(fd int, p []byte, flags int, to Addr) (int, error) {
	flags |= unix.MSG_NOSIGNAL
	err := restart(func() error { return unix.Sendto(fd, p, flags, to.Sockaddr()) })
	n := len(p)
	if err != nil {
		n = 0
	}
	traceSendto(fd, p, flags, to, n, err)
	return n, syscallErr("sendto", err)
}

// Recvmsg wraps recvmsg(2): data into p, ancillary data (control messages,
// such as SO_TIMESTAMPNS or IP_RECVERR) into oob. It returns the data
// length, the control length, the message flags (MSG_TRUNC, MSG_CTRUNC) and
// the sender.
func Recvmsg(fd int, p, oob []byte, flags int) (n, oobn, rflags int, from Addr, err error) {
	var sa unix.Sockaddr
	err = restart(func() (err error) {
		n, oobn, rflags, sa, err = unix.Recvmsg(fd, p, oob, flags)
		return err
	})
	if n < 0 {
		n = 0
	}
	from = AddrFrom(sa)
	traceRecvmsg(fd, p, flags, from, n, oobn, rflags, err)
	return n, oobn, rflags, from, syscallErr("recvmsg", err)
}

// sendto is send(2) as the kernel has it, sendto(fd, buf, len, flags, NULL,
// 0): x/sys/unix's Sendto does not return how much was sent, and a stream
// socket may take less than all of it.
func sendto(fd int, p []byte, flags int) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// ReadNonblock is Read for a descriptor in nonblocking mode, as an event
// loop reads: read(2) returns at once, with data, end of file or EAGAIN, so
// it is made as a raw system call (syscall.RawSyscall), without telling the
// Go scheduler that the thread is entering the kernel (entersyscall and
// exitsyscall: bookkeeping for calls that may block, about a tenth of a
// microsecond a call). On a blocking descriptor use Read: a raw call that
// blocks keeps its processor from every other goroutine, the garbage
// collector included.
func ReadNonblock(fd int, p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, e := rawRestart(unix.SYS_READ, uintptr(fd), uintptr(ptr), uintptr(len(p)), 0, 0, 0)
	n := int(r)
	var err error
	if e != 0 {
		n, err = 0, e
	}
	traceRead(fd, p, n, err)
	switch {
	case err == unix.EAGAIN:
		return 0, errReadAgain
	case err != nil:
		return 0, syscallErr("read", err)
	}
	return n, nil
}

// The EAGAIN of ReadNonblock and SendNonblock, made once: an event loop
// meets it on every edge-triggered read, and a new error each time would
// be garbage each time.
var (
	errReadAgain = syscallErr("read", unix.EAGAIN)
	errSendAgain = syscallErr("sendto", unix.EAGAIN)
)

// SendNonblock is Send for a socket in nonblocking mode (see ReadNonblock):
// sendto(2) with MSG_NOSIGNAL as raw system calls, until all of p is sent
// or an error (EAGAIN: the socket's buffer is full) stops it.
func SendNonblock(fd int, p []byte, flags int) (int, error) {
	flags |= unix.MSG_NOSIGNAL
	n := 0
	for n < len(p) {
		r, e := rawRestart(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n), uintptr(flags), 0, 0)
		m := int(r)
		var err error
		if e != 0 {
			m, err = 0, e
		}
		traceSend(fd, p, n, flags, m, err)
		n += m
		switch {
		case err == unix.EAGAIN:
			return n, errSendAgain
		case err != nil:
			return n, syscallErr("sendto", err)
		}
	}
	return n, nil
}

// SendtoBufNonblock is SendtoBuf made as a raw system call, for a loop that
// sends as fast as replies come (ping -f): with MSG_DONTWAIT sendto(2)
// cannot block, so it need not tell the Go scheduler (see ReadNonblock).
// A full socket buffer (EAGAIN) falls back to SendtoBuf, which waits for
// room as the caller asked. It allocates nothing unless tracing is on or
// the call fails.
func SendtoBufNonblock(fd int, p []byte, flags int, to *SockaddrBuf) (int, error) {
	if flags&unix.MSG_DONTWAIT != 0 {
		return sendtoBufRaw(fd, p, flags, to)
	}
	n, err := sendtoBufRaw(fd, p, flags|unix.MSG_DONTWAIT, to)
	if err == errSendtoAgain {
		return SendtoBuf(fd, p, flags, to)
	}
	return n, err
}

var errSendtoAgain = syscallErr("sendto", unix.EAGAIN)

func sendtoBufRaw(fd int, p []byte, flags int, to *SockaddrBuf) (int, error) {
	flags |= unix.MSG_NOSIGNAL
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, e := rawRestart(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)),
		uintptr(flags), uintptr(unsafe.Pointer(&to.raw)), uintptr(to.len))
	n := int(r)
	if e == unix.EAGAIN && flags&unix.MSG_DONTWAIT != 0 {
		return 0, errSendtoAgain // SendtoBufNonblock tries again, traced there
	}
	var err error
	if e != 0 {
		n, err = 0, e
	}
	traceSendto(fd, p, flags, to.Addr, n, err)
	return n, syscallErr("sendto", err)
}

// RecvmsgBufNonblock is RecvmsgBuf with MSG_DONTWAIT, made as a raw system
// call (see ReadNonblock): nothing queued is EAGAIN at once.
func RecvmsgBufNonblock(fd int, m *Msg, flags int) error {
	flags |= unix.MSG_DONTWAIT
	m.prepare()
	r, e := rawRestart(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), uintptr(flags), 0, 0, 0)
	if e != 0 {
		m.N, m.ControlN, m.Flags = 0, 0, 0
	} else {
		m.N, m.ControlN, m.Flags = int(r), int(m.hdr.Controllen), int(m.hdr.Flags)
	}
	var err error
	if e != 0 {
		err = e
	}
	traceRecvmsgBuf(fd, m, flags, err)
	if e == unix.EAGAIN {
		return errRecvmsgAgain
	}
	return syscallErr("recvmsg", err)
}

var errRecvmsgAgain = syscallErr("recvmsg", unix.EAGAIN)
