package e2e

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"netprog/clients/probe"
)

// What the tests read of a running server in /proc. The readers of
// `netprog check` (clients/probe) do most of it: states, the process
// tree, CPU time, descriptors, threads, memory. Here are only what they do
// not say: a process's parent, and how often its threads woke up.

// Status reads a process's parent pid and state from /proc/PID/stat
// (fields 4 and 3; the command name, field 2, may hold spaces and
// parentheses: the fields are counted from its last ")").
func Status(pid int) (ppid int, state byte, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err
}

// ChildStates maps the processes whose parent is pid to their state
// letters (Z: zombie). (This kernel has no /proc/PID/task/TID/children:
// the tree comes from every process's parent field.)
func ChildStates(pid int) map[int]byte {
	pids, _ := probe.Proc{Pid: pid}.Tree()
	kids := map[int]byte{}
	for _, p := range pids[min(1, len(pids)):] {
		if ppid, st, err := Status(p); err == nil && ppid == pid {
			kids[p] = st
		}
	}
	return kids
}

// Children lists the processes whose parent is pid, zombies included.
func Children(pid int) []int { return slices.Sorted(maps.Keys(ChildStates(pid))) }

// Zombies lists pid's children that are zombies.
func Zombies(pid int) []int {
	var zs []int
	for p, st := range ChildStates(pid) {
		if st == 'Z' {
			zs = append(zs, p)
		}
	}
	return slices.Sorted(slices.Values(zs))
}

// KidsString shows children with their state letters: "812:S 813:Z".
func KidsString(kids map[int]byte) string {
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(kids)) {
		parts = append(parts, fmt.Sprintf("%d:%c", p, kids[p]))
	}
	return strings.Join(parts, " ")
}

// WatchChildren samples pid's children every millisecond until stop is
// called; stop returns the most it saw at once (a zombie counts: a child
// takes its room until it is reaped).
func WatchChildren(pid int) (stop func() int) {
	done := make(chan struct{})
	peak := make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-done:
				peak <- most
				return
			default:
			}
			most = max(most, len(ChildStates(pid)))
			time.Sleep(time.Millisecond)
		}
	}()
	return func() int {
		close(done)
		return <-peak
	}
}

// FDs is how many descriptors pid has open.
func FDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(ents), err
}

// StatusField reads a "Name: N kB"-style field of /proc/PID/status (VmRSS,
// Threads) as a number (kB for memory); -1 if the process is gone.
func StatusField(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return -1
}

// Wakeups is how many times the threads of pid's tree have been switched
// out (voluntary_ctxt_switches and nonvoluntary_ctxt_switches of
// /proc/PID/task/TID/status): every blocking system call that returns is
// one. A server that waits for events wakes once per event; one that
// polls, even with a pause between tries, wakes at its pace whatever
// happens, and however little CPU each try takes. (Threads that exited
// meanwhile take their counts with them: compare readings of a tree whose
// threads stay.)
func Wakeups(pid int) int64 {
	pids, _ := probe.Proc{Pid: pid}.Tree()
	var n int64
	for _, p := range pids {
		dir := "/proc/" + strconv.Itoa(p) + "/task"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			b, err := os.ReadFile(dir + "/" + e.Name() + "/status")
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				for _, f := range []string{"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"} {
					if v, ok := strings.CutPrefix(line, f); ok {
						k, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
						n += k
					}
				}
			}
		}
	}
	return n
}
