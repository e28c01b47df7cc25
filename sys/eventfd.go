package sys

import "golang.org/x/sys/unix"

// Eventfd wraps eventfd2(2), always with EFD_CLOEXEC: a counter descriptor
// that poll(2) sees readable once something wrote to it, which is how another
// goroutine wakes a loop blocked in poll.
func Eventfd(flags int) (int, error) {
	flags |= unix.EFD_CLOEXEC
	fd, err := unix.Eventfd(0, flags)
	traceEventfd(flags, fd, err)
	if err != nil {
		return -1, syscallErr("eventfd2", err)
	}
	return fd, nil
}

// EventfdSignal adds 1 to the counter of an eventfd (see Eventfd) with an
// 8-byte write(2), which makes it readable: how a goroutine wakes a loop
// blocked in select, poll or epoll_wait on a descriptor that loop watches
// (the self-pipe trick, in one descriptor).
func EventfdSignal(fd int) error {
	one := [8]byte{1} // the counter is a uint64 in host byte order (little endian here)
	_, err := Write(fd, one[:])
	return err
}
