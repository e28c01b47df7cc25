package probe

// What the probes read of a server in /proc: its process and every
// descendant (a forking server's children, a wrapper's server), their CPU
// time, descriptors, threads, states and memory. What its threads are
// blocked in is procsyscall.go's; the kernel's tables of sockets, to find
// who holds a connection and what waits in TIME_WAIT, socktable.go's.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Proc is a server process watched in /proc.
type Proc struct{ Pid int }

// stat reads /proc/PID/stat and returns its fields from the third on
// (state, ppid, ...; proc(5) numbers them from 1). The command name,
// field 2, may hold spaces and parentheses: the fields are counted from
// its last ")".
func stat(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return f, nil
}

// State is the process's state letter (R, S, D, Z, ...); 0 when it is
// gone.
func State(pid int) byte {
	f, err := stat(pid)
	if err != nil {
		return 0
	}
	return f[0][0]
}

// Alive reports whether the process is there and not a zombie.
func (p Proc) Alive() bool {
	s := State(p.Pid)
	return s != 0 && s != 'Z' && s != 'X'
}

// parents maps every process in /proc to its parent, with its state.
func parents() map[int][2]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	m := map[int][2]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := stat(pid)
		if err != nil {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		m[pid] = [2]int{ppid, int(f[0][0])}
	}
	return m
}

// Tree is the process and its descendants, the process first, with their
// state letters.
func (p Proc) Tree() (pids []int, states map[int]byte) {
	all := parents()
	states = map[int]byte{}
	if st, ok := all[p.Pid]; ok {
		pids = append(pids, p.Pid)
		states[p.Pid] = byte(st[1])
	}
	for i := 0; i < len(pids); i++ {
		for pid, st := range all {
			if st[0] == pids[i] && states[pid] == 0 {
				pids = append(pids, pid)
				states[pid] = byte(st[1])
			}
		}
	}
	return pids, states
}

// Children counts the process's direct children and the zombies among
// them.
func (p Proc) Children() (n, zombies int) {
	for pid, st := range parents() {
		if st[0] == p.Pid && pid != p.Pid {
			n++
			if st[1] == 'Z' {
				zombies++
			}
		}
	}
	return n, zombies
}

// CPU is the user and system time of the process and its descendants
// (utime and stime of /proc/PID/stat, fields 14 and 15, in clock ticks:
// USER_HZ, 100 a second), and of the children they have reaped (cutime
// and cstime, 16 and 17: a forking server's children that came and went
// between two readings still count).
func (p Proc) CPU() time.Duration {
	pids, _ := p.Tree()
	var ticks int64
	for _, pid := range pids {
		f, err := stat(pid)
		if err != nil {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * ClockTick
}

// ClockTick is what CPU counts in (USER_HZ): a process that ran for a
// few microseconds across a tick is charged the whole tick, so no less
// than two ticks of CPU says anything about a window.
const ClockTick = time.Second / 100

// StatusField reads a "Name: N kB"-style field of /proc/PID/status
// (VmRSS, Threads) as a number (kB for memory); -1 if the process is gone.
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

// Usage is a reading of a server's resources: every number covers the
// process and its live descendants.
type Usage struct {
	FDs      int   // open descriptors
	Threads  int   // threads
	Children int   // the server's descendants, zombies included
	Zombies  int   // of which zombies
	RSS      int64 // resident memory, bytes (a forked child's shared pages count twice: an upper bound)
}

func (u Usage) String() string {
	return fmt.Sprintf("%s, %s, %s (%s), RSS %d KiB",
		plural(u.FDs, "descriptor", "descriptors"), plural(u.Threads, "thread", "threads"),
		plural(u.Children, "child", "children"), plural(u.Zombies, "zombie", "zombies"), u.RSS>>10)
}

// Usage reads the server's resources now.
func (p Proc) Usage() Usage {
	pids, states := p.Tree()
	var u Usage
	for _, pid := range pids {
		if pid != p.Pid {
			u.Children++
			if states[pid] == 'Z' {
				u.Zombies++
				continue
			}
		}
		if ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd"); err == nil {
			u.FDs += len(ents)
		}
		if n := StatusField(pid, "Threads"); n > 0 {
			u.Threads += int(n)
		}
		if r := StatusField(pid, "VmRSS"); r > 0 {
			u.RSS += r << 10
		}
	}
	return u
}

// Settled reads the server's resources once two readings 20 ms apart
// agree on descriptors, threads, children and zombies (the clients of an
// earlier probe have gone, their children exited), or after 2 s.
func (p Proc) Settled() Usage {
	u := p.Usage()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		v := p.Usage()
		if v.FDs == u.FDs && v.Threads == u.Threads && v.Children == u.Children && v.Zombies == u.Zombies {
			return v
		}
		u = v
	}
	return u
}

// RSS is the resident memory of the process and its descendants.
func (p Proc) RSS() int64 { return p.Usage().RSS }
