package sys

import (
	"os"

	"golang.org/x/sys/unix"
)

// Unlink wraps unlink(2).
func Unlink(path string) error {
	err := unix.Unlink(path)
	trace("unlink", `"`+path+`"`, 0, err)
	return syscallErr("unlink "+path, err)
}

// removeStaleSocket removes the file a dead server left at an AF_UNIX path.
// bind(2) on a path that exists fails with EADDRINUSE even when no one
// listens there any more (the file outlives the socket, unix(7)); we remove
// it only when it is a socket and a connect to it is refused, so a live
// server's socket, or any other file, is never touched.
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	fd, err := Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return
	}
	err = Connect(fd, Addr{Family: unix.AF_UNIX, Path: path})
	Close(fd)
	if Errno(err) == unix.ECONNREFUSED {
		Unlink(path)
	}
}
