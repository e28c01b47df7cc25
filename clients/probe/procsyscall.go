package probe

// What a server's threads are blocked in, from /proc/PID/task/TID/syscall:
// a server stuck sending to a client that does not read.

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Syscall names the system call each thread of the tree is blocked in
// (from /proc/PID/task/TID/syscall), for a fact: "sendto" when a server is
// stuck writing to a client that does not read. Empty where it cannot be
// read.
func (p Proc) Syscall() []string {
	pids, _ := p.Tree()
	seen := map[string]bool{}
	var names []string
	for _, pid := range pids {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, t.Name()))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				continue
			}
			n, err := strconv.Atoi(f[0])
			if err != nil {
				continue
			}
			name := syscallNames[n]
			if name != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// AllSending reports whether every thread of the server's tree is
// blocked in a call that sends (sendto, write, sendmsg): a server that can
// do nothing until the peer it writes to reads.
func (p Proc) AllSending() bool {
	pids, states := p.Tree()
	n := 0
	for _, pid := range pids {
		if states[pid] == 'Z' {
			continue
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, t.Name()))
			if err != nil {
				return false
			}
			f := strings.Fields(string(b))
			if len(f) == 0 {
				return false
			}
			switch nr, _ := strconv.Atoi(f[0]); nr {
			case unix.SYS_SENDTO, unix.SYS_WRITE, unix.SYS_SENDMSG:
				n++
			default:
				return false // running, or in another call
			}
		}
	}
	return n > 0
}

// syscallNames are the calls a server blocked on a client may be in.
var syscallNames = map[int]string{
	unix.SYS_SENDTO: "sendto", unix.SYS_WRITE: "write", unix.SYS_SENDMSG: "sendmsg",
	unix.SYS_RECVFROM: "recvfrom", unix.SYS_READ: "read", unix.SYS_RECVMSG: "recvmsg",
}
