package sys

// EventfdSignal adds 1 to the counter of an eventfd (see Eventfd) with an
// 8-byte write(2), which makes it readable: how a goroutine wakes a loop
// blocked in select, poll or epoll_wait on a descriptor that loop watches
// (the self-pipe trick, in one descriptor).
func EventfdSignal(fd int) error {
	one := [8]byte{1} // the counter is a uint64 in host byte order (little endian here)
	_, err := Write(fd, one[:])
	return err
}
