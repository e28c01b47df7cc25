// Package sys is netprog's one door to the kernel: a thin layer over
// golang.org/x/sys/unix in which every system call the programs make is a
// small wrapper that
//
//   - returns failures as *os.SyscallError naming the call (and, for bind and
//     connect, the address), so a caller can print one clear line;
//   - retries EINTR where POSIX says the call may simply be restarted
//     (read, write, accept, recvfrom, sendto, wait4, ...), and never where it
//     may not: close(2) is never retried (on Linux the descriptor is already
//     gone), and connect(2) is never restarted after EINTR (the connection goes
//     on asynchronously; we wait for it with poll(2) and read SO_ERROR);
//   - finishes partial writes: a write or send of n bytes returns only when all
//     n are written or an error stops it, and says how many got out;
//   - sends on sockets with MSG_NOSIGNAL, so a peer that went away yields EPIPE
//     instead of a SIGPIPE;
//   - reports itself to one hook, so `netprog --trace` prints each call in the
//     shape strace(1) prints it and a student can compare the two line by line.
//
// Descriptors are plain ints, as in C: the point of the course is to see them.
// Every socket is created with SOCK_CLOEXEC and every accepted one with
// accept4(SOCK_CLOEXEC), so no descriptor leaks into a program we might exec.
//
// The retry policy lives in retry.go and nowhere else.
package sys
