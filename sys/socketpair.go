package sys

import "golang.org/x/sys/unix"

// Socketpair wraps socketpair(2): two sockets already connected to each
// other, with no address and no listen or accept: the two ends of a private
// channel. Made before a fork, one end stays with the parent and the other
// goes to the child, which is how UNP's pre-forked servers talk to their
// children (and, unlike a pipe, an AF_UNIX pair runs both ways and carries
// descriptors: SendFD). SOCK_CLOEXEC is always added.
func Socketpair(family, typ, proto int) ([2]int, error) {
	typ |= unix.SOCK_CLOEXEC
	fds, err := unix.Socketpair(family, typ, proto)
	traceSocketpair(family, typ, proto, fds, err)
	if err != nil {
		return [2]int{-1, -1}, syscallErr("socketpair", err)
	}
	return fds, nil
}
