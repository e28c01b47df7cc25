package sys

import "golang.org/x/sys/unix"

// Setns wraps setns(2): the calling thread joins the namespace fd refers to
// (nstype CLONE_NEWNET: a network namespace, as /var/run/netns/NAME). Only
// this thread moves, so a Go caller must hold runtime.LockOSThread; a socket
// created meanwhile stays in that namespace for good.
func Setns(fd, nstype int) error {
	err := unix.Setns(fd, nstype)
	traceSetns(fd, nstype, err)
	return syscallErr("setns", err)
}
