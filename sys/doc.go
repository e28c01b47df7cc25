// Package sys is netprog's one door to the kernel: a thin layer over
// golang.org/x/sys/unix in which every system call the programs make is a
// small wrapper that
//
//   - returns failures as *os.SyscallError naming the call (and, for bind and
//     connect, the address), so a caller can print one clear line;
//   - retries EINTR where POSIX says the call may simply be restarted
//     (read, write, accept, recvfrom, sendto, wait4, ...), restarts poll,
//     select and epoll_wait with what is left of their timeout, and never
//     restarts where it may not: close(2) is never retried (on Linux the
//     descriptor is already gone), connect(2) is never restarted after
//     EINTR (the connection goes on asynchronously; we wait for it with
//     poll(2) and read SO_ERROR), and an interrupted clock_nanosleep(2)
//     returns the time left (Nanosleep);
//   - finishes partial writes: a write or send of n bytes returns only when all
//     n are written or an error stops it, and says how many got out;
//   - sends on sockets with MSG_NOSIGNAL, so a peer that went away yields EPIPE
//     instead of a SIGPIPE;
//   - reports itself to one hook, so `netprog --trace` prints each call in the
//     shape strace(1) prints it and a student can compare the two line by line
//     (the hook is trace.go; each wrapper's line is built by its traceX
//     function in trace_calls.go, trace_io.go, trace_proc.go or
//     trace_uring.go, and only when tracing is on).
//
// Descriptors are plain ints, as in C: the point of the course is to see them.
// Every socket is created with SOCK_CLOEXEC and every accepted one with
// accept4(SOCK_CLOEXEC), so no descriptor leaks into a program we might exec.
//
// The calls a forked child makes are the exception to all of the above
// (child.go, child_passfd.go, child_sndtimeo.go; fork.go says why): raw,
// untraced, allocation-free, returning a bare unix.Errno. They still retry
// EINTR, by the same policy.
//
// Each policy lives in one file: the retry policy (EINTR, for every call,
// the forked child's included) and what an accept(2) failure means
// (ClassifyAccept, and AcceptErrnoClass for a forked child) in retry.go;
// which errors make a program exit 1 rather than 2 in exitcode.go; how
// another goroutine's cancellation wakes a call blocked in the kernel in
// cancel.go (OnCancel).
package sys
