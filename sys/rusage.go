package sys

import (
	"strconv"
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
	if Tracing() {
		name := map[int]string{unix.RUSAGE_SELF: "RUSAGE_SELF", unix.RUSAGE_CHILDREN: "RUSAGE_CHILDREN",
			unix.RUSAGE_THREAD: "RUSAGE_THREAD"}[who]
		if name == "" {
			name = strconv.Itoa(who)
		}
		trace("getrusage", name+", {ru_utime={tv_sec="+strconv.FormatInt(ru.Utime.Sec, 10)+
			", tv_usec="+strconv.FormatInt(ru.Utime.Usec, 10)+"}, ...}", 0, err)
	}
	return ru, syscallErr("getrusage", err)
}

// CPUTime is the user plus system time in a Rusage.
func CPUTime(ru *unix.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
