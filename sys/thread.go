package sys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Threads, as the kernel sees them: a thread is a task that shares its
// address space, descriptors and signal handlers with the others of its
// process (clone(2) with CLONE_VM|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD).
// Each has its own id (the tid; the process id is the tid of the first
// thread) and its own 15-byte name, which ps -L, top -H and
// /proc/PID/task/TID/comm show.

// TaskCommLen is the size of a thread's name in the kernel, NUL included
// (TASK_COMM_LEN): names are at most 15 bytes.
const TaskCommLen = 16

// Gettid wraps gettid(2): the calling thread's id. In the first thread of a
// process it equals getpid(2).
func Gettid() int {
	tid := unix.Gettid()
	trace("gettid", "", tid, nil)
	return tid
}

// Getpid wraps getpid(2).
func Getpid() int {
	pid := unix.Getpid()
	trace("getpid", "", pid, nil)
	return pid
}

// SetThreadName wraps prctl(PR_SET_NAME): it names the calling thread. The
// kernel keeps the first 15 bytes and silently drops the rest, so a longer
// name is an error here rather than a surprise in ps. Naming the first
// thread of a process renames the process in ps(1) as well.
func SetThreadName(name string) error {
	if len(name) >= TaskCommLen {
		return syscallErr("prctl", unix.EINVAL)
	}
	var buf [TaskCommLen]byte
	copy(buf[:], name)
	err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&buf[0])), 0, 0, 0)
	tracePrctlName("PR_SET_NAME", name, err)
	return syscallErr("prctl", err)
}

// ThreadName wraps prctl(PR_GET_NAME): the calling thread's name.
func ThreadName() (string, error) {
	var buf [TaskCommLen]byte
	err := unix.Prctl(unix.PR_GET_NAME, uintptr(unsafe.Pointer(&buf[0])), 0, 0, 0)
	name := unix.ByteSliceToString(buf[:])
	tracePrctlName("PR_GET_NAME", name, err)
	return name, syscallErr("prctl", err)
}
