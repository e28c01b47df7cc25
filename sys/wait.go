package sys

import (
	"strconv"

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
	if Tracing() {
		status := "NULL"
		if err == nil && wpid > 0 {
			status = "[" + fmtWaitStatus(ws) + "]"
		}
		trace("wait4", itoa(pid)+", "+status+", "+fmtWaitOptions(options)+", NULL", wpid, err)
	}
	if err != nil {
		return -1, 0, syscallErr("wait4", err)
	}
	return wpid, ws, nil
}

// Reap collects every child that has already ended, without waiting:
// wait4(-1, WNOHANG) until it returns 0 (the others still run) or ECHILD (no
// child left), calling ended for each. This is the loop a forking server runs
// after each accept and on SIGCHLD: signals of the same kind do not queue,
// so one SIGCHLD may stand for many ended children, and only a loop collects
// them all. It returns how many it reaped.
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
	trace("kill", itoa(pid)+", "+unix.SignalName(sig), 0, err)
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
	{unix.WALL, "__WALL"}, {unix.WCLONE, "__WCLONE"},
}

func fmtWaitOptions(o int) string { return flagNames(o, waitFlags) }
