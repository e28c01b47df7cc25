package sys

import "golang.org/x/sys/unix"

// UnshareFiles wraps unshare(2) with CLONE_FILES: the calling thread stops
// sharing the file descriptor table of its process and gets a copy of it,
// the same descriptors open on the same files.
//
// Why a program would: while the threads of a process share one table,
// every system call on a descriptor takes a reference to its file and drops
// it after (fdget's slow path, fs/file.c), two atomic operations the only
// thread of a process skips. A Go program always runs several threads.
// After the copy, what this thread opens or closes is opened or closed for
// it alone, and what the others close stays open here. So a Go caller must
// hold runtime.LockOSThread; every descriptor both sides use must be open
// before the call, the Go runtime's own poller included (its epoll
// descriptor and eventfd, opened the first time something needs them: see
// cmd/netprog's privateFileTable for how ping makes sure); and a descriptor
// the thread opens afterwards may be used and closed by its goroutine alone
// (not by another goroutine, nor by an os.File finalizer: those run on
// threads of the shared table).
func UnshareFiles() error {
	err := unix.Unshare(unix.CLONE_FILES)
	traceUnshare(unix.CLONE_FILES, err)
	return syscallErr("unshare", err)
}
