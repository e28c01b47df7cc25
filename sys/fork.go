package sys

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Fork in a Go program
//
// A Go program is always multi-threaded: the runtime runs goroutines on
// several OS threads, a garbage collector, a system monitor, a thread for
// signals. fork(2) copies the whole address space but only the thread that
// called it. In the child every other thread has vanished, possibly in the
// middle of holding a lock (the heap's, the scheduler's), and nothing will
// ever release it. So after a raw fork the child must not:
//
//   - allocate (the heap may be locked, and a GC may be half done);
//   - enter the scheduler: no channels, no mutexes, no goroutines, no
//     blocking Syscall (which calls runtime.entersyscall), no timers;
//   - grow its stack: a growth copies the stack through the runtime, and a
//     pending preemption request turns any stack check into a call into the
//     scheduler. Every function the child runs is therefore //go:nosplit,
//     which drops the stack check and leaves about 800 bytes of stack for the
//     whole call chain (the linker verifies the static chains);
//   - store pointers into memory: a store may need the GC's write barrier,
//     which works on per-thread buffers of the parent's runtime;
//   - be instrumented by the race detector (//go:norace): its bookkeeping
//     lives in the parent's threads too;
//   - run a Go signal handler: the handlers were installed for the parent's
//     runtime.
//
// What it may do: make raw system calls, read any memory, and write numbers
// and bytes into global, preallocated arrays. Anything that needs
// formatting (a prefix, a message) is prepared by the parent before the fork
// and read by the child from its copy of memory.
//
// Raw system calls means syscall.RawSyscall and RawSyscall6, called
// directly: they are nosplit and norace and do not tell the scheduler.
// golang.org/x/sys/unix's RawSyscall looks the same but is an assembly stub
// that jumps to them through an ABI wrapper, and under -race that
// generated wrapper calls the race detector's racefuncenter and
// racefuncexit. Likewise the builtin copy becomes runtime.slicecopy under
// -race, which checks the stack. Neither shows in the source, and the
// linker's nosplit check does not see them; internal/forkcheck, run by the
// tests, reads the compiled code of every child entry point to catch them.
//
// This is the pattern of Go's own syscall.forkAndExecInChild1, which does
// the same between fork and exec; the difference is that our child never
// execs: it runs a small function and leaves with exit_group(2).

// supportedFork lists the architectures whose clone(2) argument order and
// kernel struct sigaction (handler, flags, restorer, mask) this file uses;
// s390x swaps clone's first two arguments and mips orders sigaction
// differently.
var supportedFork = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" ||
	runtime.GOARCH == "riscv64" || runtime.GOARCH == "loong64" || runtime.GOARCH == "ppc64le"

// Fork creates a child process with clone3(2) (clone(2) where the kernel
// has no clone3) and exit signal SIGCHLD (no CLONE_VM, no CLONE_THREAD): a
// true fork, with its own copy of memory and descriptors, that sends
// SIGCHLD to the parent when it ends. In the parent it
// returns the child's pid; the child runs child and exits with exit_group(2)
// and child's result as its status (0-255). It never returns in the child.
//
// child must be a top-level function marked //go:nosplit and //go:norace
// (and //go:nocheckptr if it converts unsafe pointers), calling only
// functions marked the same way, such as the Child* functions of this
// package; it may read memory the parent prepared and write numbers into
// global arrays, nothing else (see the comment at the top of this file for
// why). The forking frame and the child's chain share the 800 bytes the
// runtime guarantees a nosplit chain: keep the child's frames small.
//
// How, step by step (the parent's part, then the child's):
//
//  1. Lock the goroutine to its OS thread, so the signal mask we set is the
//     mask of the thread that forks.
//  2. (clone only, see below) Block every signal on that thread with
//     rt_sigprocmask(2): the child is born with that mask, so no Go signal
//     handler can run in it before it has removed them. Signals for the process meanwhile go to other
//     threads; those for this thread wait.
//  3. clone3 with exit signal SIGCHLD and CLONE_CLEAR_SIGHAND, with
//     RawSyscall: no runtime bookkeeping around the call. CLONE_CLEAR_SIGHAND
//     (Linux 5.5) makes the kernel set every signal the parent caught back
//     to SIG_DFL in the child, keeping those it ignored ignored (as
//     execve(2) does), so SIGTERM ends the child and SIGPIPE would kill it,
//     as in any Unix child. A kernel without clone3 (ENOSYS, before 5.3) or
//     without the flag (EINVAL, 5.3 and 5.4) gets clone(SIGCHLD) instead,
//     and the child resets the handlers itself: one rt_sigaction(2) per
//     signal, 62 or more system calls that clone3 saves on every fork.
//  4. Parent: restore the mask, unlock the thread, return the pid.
//  5. Child: (after clone only: reset the handlers and unblock every
//     signal) run child; exit_group.
//
// Step 2, the mask's restoring in step 4 and the child's unblocking are
// for clone only: with clone3 the kernel has reset the handlers before the
// child runs a single instruction, so nothing needs blocking, a fork costs
// the parent one system call and the child none before its own work.
func Fork(child func() int) (int, error) {
	pid, _, err := fork(child, &forkArgs)
	return pid, err
}

// ForkPidfd is Fork that also returns a pidfd for the child (pidfd_open(2)
// would give the same): clone3's CLONE_PIDFD (Linux 5.2) has the kernel
// open it as it creates the child, which saves a forking server a system
// call per child. Where Fork falls back to clone, pidfd is -1 and the
// caller opens one with PidfdOpen; so it is where no descriptor is left
// for the pidfd (EMFILE, ENFILE): ForkPidfd then forks again without one,
// since the child matters more than the way to watch it. The pidfd is
// close-on-exec, as every pidfd is.
func ForkPidfd(child func() int) (pid, pidfd int, err error) {
	pid, pidfd, err = fork(child, &forkArgsPidfd)
	if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
		pid, _, err = fork(child, &forkArgs)
		pidfd = -1
	}
	return pid, pidfd, err
}

// fork is Fork and ForkPidfd: steps 1 to 4 around rawFork, with args as
// clone3's argument.
func fork(child func() int, args *cloneArgs) (pid, pidfd int, err error) {
	if !supportedFork {
		traceFork("clone", args, -1, -1, unix.ENOSYS)
		return -1, -1, syscallErr("clone", unix.ENOSYS)
	}
	// One fork at a time: forkPidfd, where the kernel writes the pidfd,
	// is a global (no pointer to this frame may reach the kernel).
	forkMu.Lock()
	defer forkMu.Unlock()
	forkPidfd = -1
	runtime.LockOSThread()
	rpid, errno := rawFork(child, args)
	runtime.UnlockOSThread()
	if errno != 0 {
		err = errno
	}
	name := "clone3"
	if noClone3 {
		name = "clone"
	}
	pidfd = -1
	if err == nil && name == "clone3" && args.flags&unix.CLONE_PIDFD != 0 {
		pidfd = int(forkPidfd)
	}
	traceFork(name, args, int(rpid), pidfd, err)
	if err != nil {
		return -1, -1, syscallErr(name, err)
	}
	return int(rpid), pidfd, nil
}

// cloneArgs is struct clone_args as clone3(2) takes it (the first
// version's 64 bytes: flags, pidfd, child_tid, parent_tid, exit_signal,
// stack, stack_size, tls).
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls uint64
}

var (
	// forkArgs is clone3's argument for Fork: a global, so no pointer to
	// the forking frame reaches the kernel and the frame stays small.
	forkArgs = cloneArgs{flags: unix.CLONE_CLEAR_SIGHAND, exitSignal: uint64(unix.SIGCHLD)}
	// forkArgsPidfd is ForkPidfd's: the same, with CLONE_PIDFD and where
	// the kernel writes the pidfd (set in init: the address of a global).
	forkArgsPidfd = cloneArgs{flags: unix.CLONE_CLEAR_SIGHAND | unix.CLONE_PIDFD, exitSignal: uint64(unix.SIGCHLD)}
	forkPidfd     int32
	forkMu        sync.Mutex
	// noClone3 is set by the parent, once, when the kernel refused clone3
	// or CLONE_CLEAR_SIGHAND: from then on Fork uses clone.
	noClone3 bool
)

// sigset_t as the kernel takes it (8 bytes: 64 signals), and struct
// sigaction as rt_sigaction(2) takes it on the architectures in
// supportedFork.
type kernelSigaction struct {
	handler  uintptr
	flags    uintptr
	restorer uintptr
	mask     uint64
}

const (
	sigDfl   = 0 // SIG_DFL
	sigIgn   = 1 // SIG_IGN
	nsig     = 64
	sigsetSz = 8
)

var (
	allSignals = ^uint64(0)
	noSignals  uint64

	// The child's rt_sigaction arguments: globals, so the child's frames
	// stay small and no pointer to its stack reaches the kernel.
	dflAction kernelSigaction // handler SIG_DFL, no flags, empty mask
	ignAction = kernelSigaction{handler: sigIgn}
	oldAction kernelSigaction // written by the kernel in the child's copy
)

func init() { forkArgsPidfd.pidfd = uint64(uintptr(unsafe.Pointer(&forkPidfd))) }

// rawFork is steps 2, 3 and 5 of Fork. It is nosplit and norace because
// the child returns from clone into this frame; noinline keeps its frame
// its own. In the parent only, it may set noClone3; the child writes no
// global but the kernel's oldAction.
//
// With clone3 the parent's thread needs no blocked signals: the kernel
// resets the child's handlers as it creates it, so no Go handler can run
// in the child, and a signal that reaches it at once takes its default
// action, as in any child. With clone the handlers are the parent's until
// the child has reset them, so every signal is blocked from before the
// clone until then.
//
//go:noinline
//go:nosplit
//go:norace
//go:nocheckptr
//netprog:forkchild
func rawFork(child func() int, args *cloneArgs) (pid uintptr, errno unix.Errno) {
	cleared := false // the kernel has reset the child's handlers
	if !noClone3 {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0, 0, 0, 0)
		switch {
		case errno == unix.ENOSYS || errno == unix.EINVAL:
			noClone3 = true // no clone3, or no CLONE_CLEAR_SIGHAND: clone below
		case errno != 0 || pid != 0:
			return pid, errno // the parent, or a failed clone3
		default:
			cleared = true
		}
	}
	if !cleared {
		var saved uint64
		syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
			uintptr(unsafe.Pointer(&allSignals)), uintptr(unsafe.Pointer(&saved)), sigsetSz, 0, 0)
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if errno != 0 || pid != 0 {
			// The parent (or a failed clone): put the thread's mask back.
			syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
				uintptr(unsafe.Pointer(&saved)), 0, sigsetSz, 0, 0)
			return pid, errno
		}
		resetSignalsInChild()
	}

	// The child. Only this thread exists; nothing below may allocate,
	// lock, grow the stack or store a pointer. After clone3 it has the
	// signal mask of the thread that forked, as a C child has its
	// parent's (a Go thread running Go code blocks none); after clone,
	// the everything-blocked mask, to be lifted now that the handlers are
	// reset. Then it runs child and exits with its result.
	if !cleared {
		syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
			uintptr(unsafe.Pointer(&noSignals)), 0, sigsetSz, 0, 0)
	}
	code := child()
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(code), 0, 0)
	}
}

// resetSignalsInChild sets every signal's action to SIG_DFL, except those
// that were SIG_IGN, which stay ignored (SIGKILL and SIGSTOP cannot be
// changed). Signals are still blocked while it runs, so none can arrive
// half-way.
//
//go:nosplit
//go:norace
//go:nocheckptr
func resetSignalsInChild() {
	for sig := uintptr(1); sig <= nsig; sig++ {
		if sig == uintptr(unix.SIGKILL) || sig == uintptr(unix.SIGSTOP) {
			continue
		}
		_, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig,
			uintptr(unsafe.Pointer(&dflAction)), uintptr(unsafe.Pointer(&oldAction)), sigsetSz, 0, 0)
		if e == 0 && oldAction.handler == sigIgn {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig,
				uintptr(unsafe.Pointer(&ignAction)), 0, sigsetSz, 0, 0)
		}
	}
}
