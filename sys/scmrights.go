package sys

import (
	"golang.org/x/sys/unix"
)

// Passing descriptors
//
// A descriptor is a number private to a process; the open file (here, a
// connected socket) it stands for is the kernel's. sendmsg(2) on an AF_UNIX
// socket can carry, beside its data, a control message of type SCM_RIGHTS
// listing descriptors (unix(7)); the kernel then installs in the receiver,
// at recvmsg(2), new descriptors for the same open files, as dup(2) would
// across processes. The sender may close its own at once: the file lives
// on in the message, then in the receiver. This is how a server hands a
// connection to a process it forked long before the client came (UNP's
// serv05), and how systemd, nginx's binary upgrade and envoy's hot restart
// pass listening sockets to a new process.
//
// At least one byte of ordinary data must go with the control message: a
// stream socket does not deliver an empty message, and the descriptors
// arrive with the byte they were attached to.

// fdMsgByte is the data byte that carries a descriptor.
var fdMsgByte = []byte{0}

// SendFD wraps sendmsg(2): it sends one byte with an SCM_RIGHTS control
// message carrying fd over the AF_UNIX socket sock, with MSG_NOSIGNAL (a
// receiver that is gone is EPIPE, not SIGPIPE). EINTR is retried: nothing
// was sent. The caller may close fd as soon as it returns.
func SendFD(sock, fd int) error {
	oob := unix.UnixRights(fd)
	var n int
	err := restart(func() (err error) {
		n, err = unix.SendmsgN(sock, fdMsgByte, oob, nil, unix.MSG_NOSIGNAL)
		return err
	})
	traceSendFD(sock, fd, oob, n, err)
	return syscallErr("sendmsg", err)
}

// RecvFD wraps recvmsg(2) for what SendFD sent: one byte and one
// descriptor, received with MSG_CMSG_CLOEXEC. It returns the new
// descriptor, or -1 and a nil error at end of file (the sender closed its
// end). A message whose descriptor the kernel could not install (the
// receiver is at RLIMIT_NOFILE: the kernel drops it and sets MSG_CTRUNC) is
// EMFILE; a byte with no descriptor at all is EBADMSG.
func RecvFD(sock int) (int, error) {
	var data [1]byte
	oob := make([]byte, unix.CmsgSpace(4))
	var n, oobn, rflags int
	err := restart(func() (err error) {
		n, oobn, rflags, _, err = unix.Recvmsg(sock, data[:], oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	fd := -1
	if err == nil && n > 0 {
		fd, err = parseRights(oob[:oobn], rflags)
	}
	traceRecvFD(sock, data[:], n, fd, oobn, rflags, err)
	if err != nil {
		return -1, syscallErr("recvmsg", err)
	}
	return fd, nil
}

// parseRights takes the one descriptor out of an SCM_RIGHTS control
// message. Any further descriptors (a sender that is not SendFD) are
// closed: a descriptor received is open in this process, and ignoring it
// would leak it.
func parseRights(oob []byte, rflags int) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	fd := -1
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, f := range fds {
			if fd < 0 {
				fd = f
			} else {
				Close(f)
			}
		}
	}
	switch {
	case fd >= 0:
		return fd, nil
	case rflags&unix.MSG_CTRUNC != 0:
		return -1, unix.EMFILE
	}
	return -1, unix.EBADMSG
}
