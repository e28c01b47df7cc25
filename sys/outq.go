package sys

import "golang.org/x/sys/unix"

// SendQueued wraps ioctl(2) SIOCOUTQ (tcp(7)): how many bytes a TCP
// socket's send queue holds, sent but not yet acknowledged or not yet
// sent. It shrinking says the peer is reading, which no readiness event
// reports until a third of the buffer is free.
func SendQueued(fd int) (int, error) {
	n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	traceSIOCOUTQ(fd, n, err)
	return n, syscallErr("ioctl", err)
}
