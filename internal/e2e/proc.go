package e2e

import (
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

// ThreadNames maps each of pid's threads to its name, from
// /proc/PID/task/TID/comm (the thread model names its client threads
// client-N; the runtime's keep the program's name). A thread that ends
// while it is read is left out.
func ThreadNames(pid int) map[int]string {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	ents, _ := os.ReadDir(dir)
	names := map[int]string{}
	for _, e := range ents {
		comm, err := os.ReadFile(dir + e.Name() + "/comm")
		if err != nil {
			continue
		}
		tid, _ := strconv.Atoi(e.Name())
		names[tid] = strings.TrimSpace(string(comm))
	}
	return names
}

// StatusField reads a "Name: N kB"-style field of /proc/PID/status (VmRSS,
// Threads) as a number (kB for memory); -1 if the process is gone.
func StatusField(pid int, field string) int64 { return probe.StatusField(pid, field) }

// Activity is what the threads of a process tree did, from their
// /proc/PID/task/TID/schedstat: time on a CPU, time runnable but waiting
// for one, and how many times they were given one. MainRuns counts the
// runs of each process's first thread alone: in netprog, the thread of
// the server's loop (cmd/netprog locks the main goroutine to it), apart
// from the Go runtime's own threads (its sysmon wakes up to a hundred
// times a second while a goroutine sits in a system call with a timeout).
type Activity struct {
	CPU, Waited    time.Duration
	Runs, MainRuns int64
}

func (a Activity) String() string {
	return fmt.Sprintf("%v on a CPU, %v waiting for one, %d runs, %d of the main threads",
		a.CPU.Round(time.Millisecond), a.Waited.Round(time.Millisecond), a.Runs, a.MainRuns)
}

func (a Activity) sub(b Activity) Activity {
	return Activity{CPU: a.CPU - b.CPU, Waited: a.Waited - b.Waited, Runs: a.Runs - b.Runs, MainRuns: a.MainRuns - b.MainRuns}
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
			if e.Name() == strconv.Itoa(p) {
				a.MainRuns += runs
			}
		}
	}
	return a
}

// treeSize is how many threads pid's tree has.
func treeSize(pid int) int {
	pids, _ := probe.Proc{Pid: pid}.Tree()
	n := 0
	for _, p := range pids {
		ents, _ := os.ReadDir("/proc/" + strconv.Itoa(p) + "/task")
		n += len(ents)
	}
	return n
}

// Spins watches pid's tree for d, with nothing to do but what the test
// set up before, and says how it spun, "" if it did not. A server that
// spins busily uses the CPU: more than half the window. One that polls,
// with a pause between tries, uses little, but its loop's thread is given
// a CPU at the loop's pace, however little each try takes: a try every
// millisecond is a thousand runs a second (fewer if the machine keeps it
// waiting for a CPU each time, but still tens). A server that waits for
// events runs once per event (and a fork server at its descriptor limit,
// by design, ten times a second to reap its children): under 25 runs of
// the main threads a second. (What a test binary's runtime does on its
// other threads does not count: its sysmon wakes up to a hundred times a
// second while a goroutine is in a system call.)
//
// The window opens once the server has done with what came before (a
// fork server's children for the last clients have started, say): once
// 200 ms pass with at most two runs and the same threads, or after 5 s,
// when a server that spins never got there.
func Spins(pid int, d time.Duration) (string, Activity) { return spins(pid, d, true) }

// SpinsAnyThread is Spins for a server whose loop may run on any of its
// threads (a Go test binary running a model in a goroutine): every
// thread's runs count, the runtime's too, and the bound is 250 a second
// (the runtime's sysmon wakes up to 100 times a second; a loop that
// tries every millisecond, a thousand).
func SpinsAnyThread(pid int, d time.Duration) (string, Activity) { return spins(pid, d, false) }

func spins(pid int, d time.Duration, mainOnly bool) (string, Activity) {
	runs := func(a Activity) int64 {
		if mainOnly {
			return a.MainRuns
		}
		return a.Runs
	}
	limit := int64(25 * d / time.Second)
	if !mainOnly {
		limit = int64(250 * d / time.Second)
	}
	prev, procs := Sched(pid), treeSize(pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		a, n := Sched(pid), treeSize(pid)
		quiet := runs(a)-runs(prev) <= 2 && n == procs
		prev, procs = a, n
		if quiet {
			break
		}
	}
	a0 := Sched(pid)
	time.Sleep(d)
	a := Sched(pid).sub(a0)
	switch {
	case a.CPU > d/2:
		return fmt.Sprintf("it used %v of CPU in %v (%v)", a.CPU.Round(time.Millisecond), d, a), a
	case runs(a) > limit:
		return fmt.Sprintf("it ran %d times in %v (%v): it polls", runs(a), d, a), a
	}
	return "", a
}

// SignalPending reports whether sig waits to be delivered to pid (in
// SigPnd or ShdPnd of /proc/PID/status: the thread's or the process's
// pending set). A signal sent with kill(2) is pending until a thread of
// the process takes it: then it has been handled (or ignored, or the
// process is dying). False once the process is gone.
func SignalPending(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	bit := uint64(1) << (uint(sig) - 1)
	for _, line := range strings.Split(string(b), "\n") {
		for _, f := range []string{"SigPnd:", "ShdPnd:"} {
			if v, ok := strings.CutPrefix(line, f); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && m&bit != 0 {
					return true
				}
			}
		}
	}
	return false
}

// StartTime is a process's start time (field 22 of /proc/PID/stat, in
// clock ticks since boot), which tells it from a later process given the
// same pid; "" if it is gone.
func StartTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// AcceptQueued counts the listening TCP sockets on addr's port (host:port)
// that have a connection waiting to be accepted: for a socket in LISTEN,
// /proc/net/tcp's rx_queue is its accept queue's length. 0 once a server
// has taken in every connection that came (its own count, not its log).
func AcceptQueued(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if err != nil || p == 0 {
		return -1 // no port to look at: never "none waiting"
	}
	local := fmt.Sprintf(":%04X", p)
	waiting := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			// sl local_address rem_address st tx_queue:rx_queue ...
			fs := strings.Fields(line)
			if len(fs) > 4 && strings.HasSuffix(fs[1], local) && fs[3] == "0A" {
				if _, rx, ok := strings.Cut(fs[4], ":"); ok && strings.Trim(rx, "0") != "" {
					waiting++
				}
			}
		}
	}
	return waiting
}
