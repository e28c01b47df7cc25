package sys

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Unlink wraps unlink(2).
func Unlink(path string) error {
	err := unix.Unlink(path)
	tracePath("unlink", path, err)
	return syscallErr("unlink "+path, err)
}

// removeStaleSocket removes the file a dead server left at an AF_UNIX path.
// bind(2) on a path that exists fails with EADDRINUSE even when no one
// listens there any more (the file outlives the socket, unix(7)); we remove
// it only when it is a socket and a connect to it is refused, so a live
// server's socket, or any other file, is never touched.
func removeStaleSocket(path string) {
	if abstract(path) {
		return // no file: the kernel forgets it with its last socket
	}
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

// boundFiles remembers the AF_UNIX socket files this process made with
// bind(2), by path: their device and inode numbers, which say whether the
// file at the path is still the one we made.
var boundFiles sync.Map // path → fileID

type fileID struct{ dev, ino uint64 }

// lstat wraps lstat(2).
func lstat(path string) (fileID, error) {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	tracePath("lstat", path, err)
	return fileID{st.Dev, st.Ino}, syscallErr("lstat "+path, err)
}

// abstract reports whether an AF_UNIX path names the abstract namespace
// (unix(7)): golang.org/x/sys/unix takes a leading '@' for its NUL byte.
// There is no file there: a file of that name in the working directory is
// someone else's.
func abstract(path string) bool { return path != "" && (path[0] == '@' || path[0] == 0) }

func rememberBound(path string) {
	if abstract(path) {
		return
	}
	if id, err := lstat(path); err == nil {
		boundFiles.Store(path, id)
	}
}

// UnlinkBound removes the socket file at path only if it is still the one
// this process's bind(2) made there (the same device and inode), and says
// whether it did. The file outlives the socket (unix(7)), so a server that
// stops should remove it; but by then the path may name another server's
// socket (one that replaced ours while we ran) or any other file, and
// removing that would break a live server or lose data.
//
// An abstract name has no file to remove: true.
func UnlinkBound(path string) (bool, error) {
	if abstract(path) {
		return true, nil
	}
	want, ok := boundFiles.Load(path)
	if !ok {
		return false, nil
	}
	got, err := lstat(path)
	if err != nil || got != want.(fileID) {
		return false, err
	}
	boundFiles.Delete(path)
	return true, Unlink(path)
}
