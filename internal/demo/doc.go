// Package demo holds the course's demonstrations: programs that serve
// nobody and exist to show one behaviour of the kernel, each with the
// system calls that make it visible. cmd/netprog gives each a command, reads
// its flags and calls it here; what a demo prints goes to the writer it is
// given (a forked child's lines excepted: see Fork).
//
//   - Fork (fork-demo): fork(2) returns twice; parent and child each have
//     their own pid and their own copy of memory, so the child's increment
//     of a counter is not the parent's.
//   - Zombie (zombie-demo): a child that has ended is a zombie, state Z,
//     until its parent reaps it with wait4(2); unreaped, it is re-parented
//     to a subreaper or init, which reaps it.
//   - Thread (thread-demo): threads share one address space: two named
//     kernel threads, their ids (gettid), a join, and a counter both see.
//   - Nonblock (nonblock-demo): recv on a blocking socket waits, with
//     SO_RCVTIMEO it waits at most that long, on a nonblocking socket it
//     fails at once with EAGAIN, and poll(2) is how a nonblocking program
//     waits.
//   - Ports (ports): the IANA port ranges beside this kernel's ephemeral
//     range and privileged ports, and the port a connect is given.
//
// The demos make every call through package sys, so `netprog --trace`
// shows them, and their output and system calls are what the README's
// strace listings and cmd/netprog's tests expect: change them together.
package demo
