package sys

import "golang.org/x/sys/unix"

// Dup wraps fcntl(2) with F_DUPFD_CLOEXEC: a second descriptor, the lowest
// free number, for the same open file (dup(2), but close-on-exec like every
// descriptor this package opens). Each can be closed on its own; the file
// is released with the last. A server that shares one listening socket
// among several event loops gives each loop its own descriptor, so each can
// register it in its own epoll and close it when it stops.
func Dup(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	traceDupfd(fd, nfd, err)
	if err != nil {
		return -1, syscallErr("fcntl", err)
	}
	return nfd, nil
}
