package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the tests read of a running server in /proc: its children and
// their states, its CPU time, its open descriptors.

// procStat reads /proc/PID/stat and returns its fields from the third on
// (state, ppid, ...; proc(5) numbers them from 1). The command name, field
// 2, may hold spaces and parentheses: the fields are counted from its
// last ")".
func procStat(pid int) ([]string, error) {
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

// procStatus reads a process's parent pid and state from /proc/PID/stat
// (fields 4 and 3).
func procStatus(pid int) (ppid int, state byte, err error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, 0, err
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err
}

// procCPU is a process's user+system CPU time: /proc/PID/stat fields 14
// and 15, in clock ticks (USER_HZ, 100 a second on Linux).
func procCPU(pid int) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100, nil
}

// treeCPU is the CPU time of pid, which must be running, and of its
// children (one that is gone by the time it is read counts nothing).
func treeCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	total, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range children(pid) {
		if cpu, err := procCPU(k); err == nil {
			total += cpu
		}
	}
	return total
}

// childStates maps the processes whose parent is pid to their state
// letters (Z: zombie). This kernel has no /proc/PID/task/TID/children
// (CONFIG_PROC_CHILDREN), so it scans /proc/*/stat for the parent field.
// It panics if /proc cannot be read: every check here looks there, and it
// may run outside the test's goroutine (watchChildren), where t.Fatal
// cannot stop the test.
func childStates(pid int) map[int]byte {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		panic(err)
	}
	kids := map[int]byte{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, state, err := procStatus(p); err == nil && ppid == pid {
			kids[p] = state
		}
	}
	return kids
}

// children lists the processes whose parent is pid, zombies included.
func children(pid int) []int {
	return slices.Sorted(maps.Keys(childStates(pid)))
}

// kidsString shows children with their state letters: "812:S 813:Z".
func kidsString(kids map[int]byte) string {
	var parts []string
	for p, s := range kids {
		parts = append(parts, fmt.Sprintf("%d:%c", p, s))
	}
	return strings.Join(parts, " ")
}

// watchChildren samples pid's children every millisecond until stop is
// called; stop returns the most it saw at once (a zombie counts: a child
// takes its room until it is reaped).
func watchChildren(pid int) (stop func() int) {
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
			most = max(most, len(childStates(pid)))
			time.Sleep(time.Millisecond)
		}
	}()
	return func() int {
		close(done)
		return <-peak
	}
}

// openFDs is how many descriptors pid has open.
func openFDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(ents), err
}

// fdCount is openFDs of a process that must be there.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	n, err := openFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
