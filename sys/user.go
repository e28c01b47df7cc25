package sys

import "golang.org/x/sys/unix"

// Getuid wraps getuid(2): ping refuses short intervals to users other than
// root, as iputils does.
func Getuid() int {
	uid := unix.Getuid()
	trace("getuid", "", uid, nil)
	return uid
}
