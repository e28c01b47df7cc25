package sys

import "golang.org/x/sys/unix"

// MapShared wraps mmap(2) with MAP_SHARED|MAP_ANONYMOUS: n bytes of zeroed
// memory that stay shared with every child forked afterwards. fork(2) gives a
// child a private copy of all other memory (copy on write), so this is how a
// forked child can leave figures, such as bytes echoed, where its parent can
// read them. Release it with Unmap.
func MapShared(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	traceMapShared(n, b, err)
	return b, syscallErr("mmap", err)
}

// Unmap wraps munmap(2) for memory from MapShared.
func Unmap(b []byte) error {
	err := unix.Munmap(b)
	traceUnmap(b, err)
	return syscallErr("munmap", err)
}
