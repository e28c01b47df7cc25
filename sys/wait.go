package sys

import (
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A child that has ended stays in the process table as a zombie (state Z,
// <defunct> in ps) holding its pid, exit status and resource usage until its
// parent collects them with a wait call. A server that forks must reap, or
// zombies pile up until fork fails with EAGAIN. If the parent dies first, the
// kernel re-parents its children to the nearest ancestor marked
// PR_SET_CHILD_SUBREAPER, or to init (pid 1), which reaps them.

// Wait4 wraps wait4(2): it waits for the child pid (-1: any child) to end
// and returns its pid and status. With options WNOHANG it does not wait: pid
// 0 means children exist but none has ended yet. ECHILD means there is no
// child left to wait for. EINTR is retried (a SIGCHLD handler of the
// runtime may interrupt a blocking wait).
func Wait4(pid, options int) (int, unix.WaitStatus, error) {
	var ws unix.WaitStatus
	var wpid int
	err := restart(func() (err error) {
		wpid, err = unix.Wait4(pid, &ws, options, nil)
		return err
	})
	traceWait4(pid, ws, options, wpid, err)
	if err != nil {
		return -1, 0, syscallErr("wait4", err)
	}
	return wpid, ws, nil
}

// Reap collects every child that has already ended, without waiting:
// wait4(-1, WNOHANG) until it returns 0 (the others still run) or ECHILD (no
// child left), calling ended for each. This is the loop a C server runs in
// its SIGCHLD handler: signals of the same kind do not queue, so one
// SIGCHLD may stand for many ended children, and only a loop collects them
// all. It returns how many it reaped. (netprog's forking servers wait for
// their children's pidfds instead, on their main thread: see
// servers/children.go for why a Go program cannot wait for SIGCHLD.)
func Reap(ended func(pid int, status unix.WaitStatus)) int {
	n := 0
	for {
		pid, ws, err := Wait4(-1, unix.WNOHANG)
		if err != nil || pid <= 0 {
			return n
		}
		n++
		ended(pid, ws)
	}
}

// Kill wraps kill(2): send sig to the process pid.
func Kill(pid int, sig unix.Signal) error {
	err := unix.Kill(pid, sig)
	traceKill(pid, sig, err)
	return syscallErr("kill", err)
}

// ExitDescription says how a reaped child ended: "exit status 0", "killed by
// signal 9 (SIGKILL)", "killed by signal 11 (SIGSEGV), core dumped".
func ExitDescription(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return "exit status " + itoa(ws.ExitStatus())
	case ws.Signaled():
		s := "killed by signal " + itoa(int(ws.Signal())) + " (" + unix.SignalName(ws.Signal()) + ")"
		if ws.CoreDump() {
			s += ", core dumped"
		}
		return s
	case ws.Stopped():
		return "stopped by signal " + itoa(int(ws.StopSignal())) + " (" + unix.SignalName(ws.StopSignal()) + ")"
	}
	return "status 0x" + strconv.FormatUint(uint64(ws), 16)
}

// fmtWaitStatus renders a status as strace does:
// {WIFEXITED(s) && WEXITSTATUS(s) == 0}.
func fmtWaitStatus(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return "{WIFEXITED(s) && WEXITSTATUS(s) == " + itoa(ws.ExitStatus()) + "}"
	case ws.Signaled():
		s := "{WIFSIGNALED(s) && WTERMSIG(s) == " + unix.SignalName(ws.Signal())
		if ws.CoreDump() {
			s += " && WCOREDUMP(s)"
		}
		return s + "}"
	case ws.Stopped():
		return "{WIFSTOPPED(s) && WSTOPSIG(s) == " + unix.SignalName(ws.StopSignal()) + "}"
	}
	return "0x" + strconv.FormatUint(uint64(ws), 16)
}

var waitFlags = []flagName{
	{unix.WNOHANG, "WNOHANG"}, {unix.WUNTRACED, "WSTOPPED"}, {unix.WCONTINUED, "WCONTINUED"},
	{unix.WCLONE, "__WCLONE"}, {unix.WALL, "__WALL"},
}

func fmtWaitOptions(o int) string { return flagNames(o, waitFlags) }

// PidfdOpen wraps pidfd_open(2) (Linux 5.3): a descriptor that refers to
// the process pid itself, not to its number, so it can never name another
// process that got the number after this one was reaped. poll(2) and
// epoll report it readable (POLLIN) once the process has ended: a parent
// waits for its children's ends in the same call as for its sockets,
// without signals. The descriptor is close-on-exec; close it after the
// child is reaped.
func PidfdOpen(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	tracePidfdOpen(pid, fd, err)
	if err != nil {
		return -1, syscallErr("pidfd_open", err)
	}
	return fd, nil
}

// WaitEnded waits for the child pid to end without reaping it:
// waitid(P_PID, pid, WEXITED|WNOWAIT). The child stays a zombie, its
// status still there for a later wait4; zombie-demo shows it so.
func WaitEnded(pid int) error {
	var info unix.Siginfo
	err := restart(func() error { return unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) })
	traceWaitid(pid, err)
	return syscallErr("waitid", err)
}

// Nanosleep sleeps for d with clock_nanosleep(2) on CLOCK_MONOTONIC, in the
// calling thread: a sleep that strace shows as the program's own, where
// time.Sleep parks the goroutine and lets the runtime wait (futex, or its
// epoll's timeout). A signal handler that runs on this thread ends the
// sleep early (EINTR): it returns the time left, and the caller decides
// whether to sleep again. (The Go runtime's own sleeps, the system
// monitor's, are nanosleep(2): clock_nanosleep is this program's.)
func Nanosleep(d time.Duration) (left time.Duration, err error) {
	if d <= 0 {
		return 0, nil
	}
	ts := unix.NsecToTimespec(d.Nanoseconds())
	var rem unix.Timespec
	err = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &rem)
	traceNanosleep(ts, rem, err)
	if interrupted(err) {
		return time.Duration(rem.Nano()), nil
	}
	return 0, syscallErr("clock_nanosleep", err)
}

// Sleep is Nanosleep until all of d has passed, whatever signals come.
func Sleep(d time.Duration) error {
	for d > 0 {
		var err error
		if d, err = Nanosleep(d); err != nil {
			return err
		}
	}
	return nil
}

// fmtTimespec renders a timespec as strace does: {tv_sec=1, tv_nsec=0}.
func fmtTimespec(ts unix.Timespec) string {
	return "{tv_sec=" + itoa(int(ts.Sec)) + ", tv_nsec=" + itoa(int(ts.Nsec)) + "}"
}
