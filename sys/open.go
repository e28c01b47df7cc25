package sys

import "golang.org/x/sys/unix"

// Open wraps openat(2) relative to the current directory (AT_FDCWD, what
// open(2) does), always with O_CLOEXEC.
func Open(path string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC
	var fd int
	err := restart(func() (err error) {
		fd, err = unix.Openat(unix.AT_FDCWD, path, flags, 0)
		return err
	})
	traceOpen(path, flags, fd, err)
	if err != nil {
		return -1, syscallErr("open "+path, err)
	}
	return fd, nil
}
