package sys

import (
	"time"

	"golang.org/x/sys/unix"
)

// Getrusage wraps getrusage(2): the CPU time (user and system) and other
// resource counts of the calling process (unix.RUSAGE_SELF), of its waited-for
// children (unix.RUSAGE_CHILDREN: a child's time is added only when it is
// reaped), or of the calling thread alone (unix.RUSAGE_THREAD, Linux): a load
// generator pinned to one OS thread uses that to tell whether it, rather than
// the server, was the limit.
func Getrusage(who int) (unix.Rusage, error) {
	var ru unix.Rusage
	err := unix.Getrusage(who, &ru)
	traceGetrusage(who, &ru, err)
	return ru, syscallErr("getrusage", err)
}

// CPUTime is the user plus system time in a Rusage.
func CPUTime(ru *unix.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
