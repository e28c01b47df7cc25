package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Server CPU time from /proc, for a process and everything it forked.
//
// A model's cost lives in different places: a threaded or event-driven
// server's in its own utime and stime (all threads, dead ones included); a
// forking server's mostly in its children, which count in the parent's
// cutime/cstime only once reaped (wait4), and in the live children's own
// counters until then. So the CPU of a server is its own utime+stime, plus
// cutime+cstime (reaped children), plus the same, recursively, for each live
// child. A child that exits between two samples moves from the third term to
// the second without changing the sum. /proc/PID/stat counts in clock
// ticks (USER_HZ, 100 per second on Linux), 10ms of rounding per sample:
// in the noise for a server process busy for most of a second, but not for
// a thousand small children, which are read in nanoseconds (descendantCPU).

// userHZ is sysconf(_SC_CLK_TCK), fixed at 100 by the Linux ABI for /proc.
const userHZ = 100

// procTimes reads utime+stime and cutime+cstime of one process.
func procTimes(pid int) (self, children time.Duration, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces or
	// parentheses itself: split after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, so f[11]; then stime,
	// cutime, cstime.
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var t [4]int64
	for k := range t {
		if t[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
	}
	tick := time.Second / userHZ
	return time.Duration(t[0]+t[1]) * tick, time.Duration(t[2]+t[3]) * tick, nil
}

// treeCPU is the CPU time of pid and all its descendants, reaped or live.
func treeCPU(pid int) time.Duration {
	self, reaped, err := procTimes(pid)
	if err != nil {
		return 0
	}
	total := self + reaped
	for _, c := range children(pid) {
		total += descendantCPU(c)
	}
	return total
}

// descendantCPU is the CPU time of a live child and its own descendants.
// A forking server's children are many and each runs briefly (a thousand
// children sharing half a second of CPU get half a millisecond each), so
// clock ticks would round most of them to nothing at both ends of the
// window: their time is read in nanoseconds from each thread's
// /proc/PID/task/TID/schedstat (its first field is the time spent on a
// CPU, sum_exec_runtime) instead. A child's reaped children still come
// from cutime/cstime.
func descendantCPU(pid int) time.Duration {
	_, reaped, err := procTimes(pid)
	if err != nil {
		return 0 // gone: reaped, and counted in its parent's cutime now
	}
	total := reaped
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, _ := os.ReadDir(dir)
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				total += time.Duration(ns)
			}
		}
	}
	for _, c := range children(pid) {
		total += descendantCPU(c)
	}
	return total
}

// children lists pid's live children from /proc/PID/task/*/children: a
// child belongs to the thread that forked it, and a Go program forks from
// whichever thread it is on.
func children(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// descendants lists every live process below pid.
func descendants(pid int) []int {
	var all []int
	for _, c := range children(pid) {
		all = append(all, c)
		all = append(all, descendants(c)...)
	}
	return all
}
