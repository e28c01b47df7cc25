package sys

// The --trace lines of the calls about processes: fork, wait, signals,
// limits, capabilities (trace_calls.go has the sockets' and files').

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

func traceWait4(pid int, ws unix.WaitStatus, options, wpid int, err error) {
	if !Tracing() {
		return
	}
	status := "NULL"
	if err == nil && wpid > 0 {
		status = "[" + fmtWaitStatus(ws) + "]"
	}
	trace("wait4", itoa(pid)+", "+status+", "+fmtWaitOptions(options)+", NULL", wpid, err)
}

func traceNanosleep(ts, rem unix.Timespec, err error) {
	if !Tracing() {
		return
	}
	trace("clock_nanosleep", "CLOCK_MONOTONIC, 0, "+fmtTimespec(ts)+", "+fmtTimespec(rem), 0, err)
}

func traceGetrlimit(resource int, r *unix.Rlimit, err error) {
	if !Tracing() {
		return
	}
	trace("getrlimit", strconv.Itoa(resource)+", {rlim_cur="+strconv.FormatUint(r.Cur, 10)+
		", rlim_max="+strconv.FormatUint(r.Max, 10)+"}", 0, err)
}

func traceGetrusage(who int, ru *unix.Rusage, err error) {
	if !Tracing() {
		return
	}
	name := map[int]string{unix.RUSAGE_SELF: "RUSAGE_SELF", unix.RUSAGE_CHILDREN: "RUSAGE_CHILDREN",
		unix.RUSAGE_THREAD: "RUSAGE_THREAD"}[who]
	if name == "" {
		name = strconv.Itoa(who)
	}
	trace("getrusage", name+", {ru_utime={tv_sec="+strconv.FormatInt(ru.Utime.Sec, 10)+
		", tv_usec="+strconv.FormatInt(ru.Utime.Usec, 10)+"}, ...}", 0, err)
}

func traceKill(pid int, sig unix.Signal, err error) {
	if !Tracing() {
		return
	}
	trace("kill", itoa(pid)+", "+unix.SignalName(sig), 0, err)
}

func tracePidfdOpen(pid, fd int, err error) {
	if !Tracing() {
		return
	}
	trace("pidfd_open", itoa(pid)+", 0", fd, err)
}

func traceWaitid(pid int, err error) {
	if !Tracing() {
		return
	}
	trace("waitid", "P_PID, "+itoa(pid)+", {...}, WEXITED|WNOWAIT, NULL", 0, err)
}

func traceCapget(data [2]unix.CapUserData, err error) {
	if !Tracing() {
		return
	}
	trace("capget", "{_LINUX_CAPABILITY_VERSION_3, 0}, "+fmtCaps(data), 0, err)
}

func traceCapset(none [2]unix.CapUserData, err error) {
	if !Tracing() {
		return
	}
	trace("capset", "{_LINUX_CAPABILITY_VERSION_3, 0}, "+fmtCaps(none)+" (every thread)", 0, err)
}

func tracePrctlName(op, name string, err error) {
	if !Tracing() {
		return
	}
	trace("prctl", op+", "+fmtData([]byte(name)), 0, err)
}

// traceFork shows the fork as clone3 with its struct clone_args, or as
// the clone that fork(2) makes.
func traceFork(name string, args *cloneArgs, pid, pidfd int, err error) {
	if !Tracing() {
		return
	}
	if name == "clone" {
		trace(name, "child_stack=NULL, flags=SIGCHLD", pid, err)
		return
	}
	if args.flags&unix.CLONE_PIDFD != 0 {
		// As strace shows it: the pidfd the kernel wrote after "=>".
		written := ""
		if err == nil {
			written = " => {pidfd=[" + itoa(pidfd) + "]}"
		}
		trace(name, "{flags=CLONE_PIDFD|CLONE_CLEAR_SIGHAND, pidfd=0x"+strconv.FormatUint(args.pidfd, 16)+
			", exit_signal=SIGCHLD, stack=NULL, stack_size=0}"+written+", "+itoa(int(unsafe.Sizeof(cloneArgs{}))), pid, err)
		return
	}
	trace(name, "{flags=CLONE_CLEAR_SIGHAND, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, "+itoa(int(unsafe.Sizeof(cloneArgs{}))), pid, err)
}
