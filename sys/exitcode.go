package sys

import "golang.org/x/sys/unix"

// IsPeerFailure reports whether err is a failure of the peer or the path to it
// rather than of this program or its system: the programs exit 1 for these and
// 2 for everything else, as iputils' ping does.
func IsPeerFailure(err error) bool {
	switch Errno(err) {
	case unix.ECONNREFUSED, unix.ECONNRESET, unix.EPIPE, unix.ETIMEDOUT,
		unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENOTCONN,
		unix.ECONNABORTED:
		return true
	}
	return false
}
