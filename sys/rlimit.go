package sys

import "golang.org/x/sys/unix"

// Getrlimit wraps getrlimit(2) (prlimit64 on Linux): the soft (Cur) and
// hard (Max) limits of a resource, such as RLIMIT_NOFILE, the number of
// descriptors the process may have open.
func Getrlimit(resource int) (unix.Rlimit, error) {
	var r unix.Rlimit
	err := unix.Getrlimit(resource, &r)
	traceGetrlimit(resource, &r, err)
	return r, syscallErr("getrlimit", err)
}
