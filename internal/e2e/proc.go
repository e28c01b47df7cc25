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
// not say: a process's parent, and what the scheduler did with its threads.

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

// Activity is what the threads of a process tree did, from their
// /proc/PID/task/TID/schedstat: time on a CPU, time runnable but waiting
// for one, and how many times they were given one.
type Activity struct {
	CPU, Waited time.Duration
	Runs        int64
}

func (a Activity) String() string {
	return fmt.Sprintf("%v on a CPU, %v waiting for one, %d runs", a.CPU.Round(time.Millisecond), a.Waited.Round(time.Millisecond), a.Runs)
}

// Sched reads the activity of pid's tree so far. (Threads that exited
// take theirs with them: compare readings of a tree whose threads stay.)
func Sched(pid int) Activity {
	pids, _ := probe.Proc{Pid: pid}.Tree()
	var a Activity
	for _, p := range pids {
		dir := "/proc/" + strconv.Itoa(p) + "/task"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 3 {
				continue
			}
			cpu, _ := strconv.ParseInt(f[0], 10, 64)
			wait, _ := strconv.ParseInt(f[1], 10, 64)
			runs, _ := strconv.ParseInt(f[2], 10, 64)
			a.CPU += time.Duration(cpu)
			a.Waited += time.Duration(wait)
			a.Runs += runs
		}
	}
	return a
}

// Spins watches pid's tree for d, with nothing to do but what the test
// set up before, and says how it spun, "" if it did not. A server that
// waits for events is given a CPU once per event, a handful here. One
// that spins wants a CPU all along: it is on one, or waiting for one,
// for most of the window, however loaded the machine (a spin the machine
// starved still waited). One that polls with a pause between tries is
// given a CPU at its pace: a try every millisecond is a thousand runs a
// second, however little each takes (and if the machine keeps it
// waiting, the waits add up instead). So: under half the window on or
// waiting for a CPU, and under 25 runs a second.
func Spins(pid int, d time.Duration) (string, Activity) {
	a0 := Sched(pid)
	time.Sleep(d)
	a := Sched(pid)
	a.CPU -= a0.CPU
	a.Waited -= a0.Waited
	a.Runs -= a0.Runs
	switch {
	case a.CPU+a.Waited > d/2:
		return fmt.Sprintf("it wanted a CPU for %v of %v (%v)", (a.CPU + a.Waited).Round(time.Millisecond), d, a), a
	case a.Runs > int64(25*d/time.Second):
		return fmt.Sprintf("it ran %d times in %v (%v): it polls", a.Runs, d, a), a
	}
	return "", a
}
