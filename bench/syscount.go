package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Counting a server's system calls over the measured window of a separate,
// short run. perf stat counts the raw_syscalls:sys_enter tracepoint in the
// kernel, cheaply enough not to change what it measures; strace -c -f
// stops the process twice per call (ptrace), which slows the server ten- to
// a hundredfold but counts the same calls. Both attach to the server and
// to each of its live children (-p), and follow children forked while
// attached.
//
// Attaching takes tens of milliseconds. It happens inside the generator's
// Started hook, while the generator is paused and the server therefore
// idle, and detaching inside Stopped, so the counted interval and the
// generator's window hold the same requests, give or take the one in
// flight on each connection at either edge (which offset each other).

// syscallCount is what one counting run found.
type syscallCount struct {
	Method     string           `json:"method"`
	Total      int64            `json:"total"`
	Requests   int64            `json:"requests"`
	PerRequest float64          `json:"per_request"`
	ByName     map[string]int64 `json:"by_name,omitempty"`
	// PageFaults is the server's page faults (every thread and child) in
	// the same interval, counted by perf only: a forking server's
	// children fault on the pages fork shared with them, and so does the
	// parent on the pages it writes next.
	PageFaults           int64   `json:"page_faults,omitempty"`
	PageFaultsPerRequest float64 `json:"page_faults_per_request,omitempty"`
}

// counter counts the system calls of a set of processes between start and
// stop.
type counter interface {
	method() string
	start(pids func() []int) error
	// stop detaches and returns the calls counted, by name where known,
	// and the page faults (-1: not counted).
	stop() (total int64, byName map[string]int64, faults int64, err error)
}

// newCounter picks the method: "auto" is perf when it works here, else
// strace, else nothing.
func newCounter(method, dir string) (counter, error) {
	switch method {
	case "off":
		return nil, nil
	case "perf":
		return newPerf(dir)
	case "strace":
		return newStrace(dir)
	case "auto":
		if c, err := newPerf(dir); err == nil {
			return c, nil
		}
		if c, err := newStrace(dir); err == nil {
			return c, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("-syscalls %q: want auto, perf, strace or off", method)
}

// The calls the table breaks down, when perf has their tracepoints: the
// data path of each model (read, write, sendto, recvfrom), its way of
// waiting (select, poll, epoll_wait and their p-variants, io_uring_enter),
// connection set-up and tear-down, and the costs of processes and threads
// (clone, wait4, signal set-up in a new child, futex, the Go runtime's
// sleeps and preemption signals).
var perfNamed = []string{
	"read", "write", "sendto", "recvfrom", "select", "pselect6", "poll", "ppoll",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "io_uring_enter", "accept4", "close", "close_range", "shutdown",
	"clone", "clone3", "wait4", "exit_group", "rt_sigaction", "rt_sigprocmask", "futex", "nanosleep",
	"tgkill", "mmap", "munmap", "madvise", "prctl", "setsockopt",
}

type perfCounter struct {
	events []string
	dir    string
	out    string
	cmd    *exec.Cmd
	done   chan struct{} // closed when perf has exited
	stderr strings.Builder
}

func tracepointExists(name string) bool {
	for _, root := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			return true
		}
	}
	return false
}

func newPerf(dir string) (counter, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, err
	}
	if out, err := exec.Command("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("perf stat does not work here: %v: %s", err, lastLines(out, 2))
	}
	p := &perfCounter{dir: dir, out: filepath.Join(dir, "perf.out"), events: []string{"raw_syscalls:sys_enter", "page-faults"}}
	for _, n := range perfNamed {
		if tracepointExists("syscalls/sys_enter_" + n) {
			p.events = append(p.events, "syscalls:sys_enter_"+n)
		}
	}
	return p, nil
}

func (p *perfCounter) method() string { return "perf stat" }

// perfFdBudget bounds the counters perf opens: one per event per thread,
// and a server with a thousand threads or children would need tens of
// thousands of descriptors (past RLIMIT_NOFILE, and slow to set up). Past
// the budget only the total is counted.
const perfFdBudget = 3000

// start attaches perf to the processes pids lists. A process that exits
// while perf attaches (a forking server's last child being reaped) makes
// perf give up, so it tries again, up to three times, with a fresh list.
func (p *perfCounter) start(pids func() []int) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = p.attach(pids()); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func (p *perfCounter) attach(pids []int) error {
	list := make([]string, len(pids))
	tasks := 0
	for i, pid := range pids {
		list[i] = strconv.Itoa(pid)
		t, _ := os.ReadDir("/proc/" + list[i] + "/task")
		tasks += len(t)
	}
	events := p.events
	if tasks*len(events) > perfFdBudget {
		events = events[:2] // the total and the page faults
	}
	// perf's control channel: two FIFOs, new each time so that nothing
	// left from an earlier perf is read. Writing "enable" and reading its
	// "ack" proves perf has opened and enabled every counter, since it
	// reads commands only once set up. Both are opened read-write so that
	// neither open waits for the other end.
	ctlPath, ackPath := filepath.Join(p.dir, "perf.ctl"), filepath.Join(p.dir, "perf.ack")
	for _, f := range []string{ctlPath, ackPath} {
		os.Remove(f)
		if err := unix.Mkfifo(f, 0o600); err != nil {
			return fmt.Errorf("mkfifo %s: %v", f, err)
		}
	}
	ctl, err := os.OpenFile(ctlPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer ctl.Close()
	ack, err := os.OpenFile(ackPath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer ack.Close()
	os.Remove(p.out)
	p.stderr.Reset()
	p.cmd = exec.Command("perf", "stat", "-x,", "-o", p.out, "--control", "fifo:"+ctlPath+","+ackPath,
		"-e", strings.Join(events, ","), "-p", strings.Join(list, ","))
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(p.cmd, p.done)
	if _, err := ctl.WriteString("enable\n"); err != nil {
		return err
	}
	buf := make([]byte, 16)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("perf stat exited while attaching: %s", strings.TrimSpace(p.stderr.String()))
		default:
		}
		ack.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := ack.Read(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "ack") {
			return nil
		}
	}
	p.cmd.Process.Kill()
	<-p.done
	return errors.New("perf stat did not acknowledge within 10s")
}

func (p *perfCounter) stop() (int64, map[string]int64, int64, error) {
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return 0, nil, -1, errors.New("perf stat did not stop within 10s of SIGINT")
	}
	f, err := os.Open(p.out)
	if err != nil {
		return 0, nil, -1, fmt.Errorf("perf stat: %v: %s", err, strings.TrimSpace(p.stderr.String()))
	}
	defer f.Close()
	var total int64
	faults := int64(-1)
	by := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// CSV: count,unit,event,running time,percentage,...
		fields := strings.Split(sc.Text(), ",")
		if len(fields) < 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue // "<not counted>": zero
		}
		switch ev := fields[2]; {
		case ev == "raw_syscalls:sys_enter":
			total = n
		case ev == "page-faults":
			faults = n
		case strings.HasPrefix(ev, "syscalls:sys_enter_"):
			if n > 0 {
				by[strings.TrimPrefix(ev, "syscalls:sys_enter_")] = n
			}
		}
	}
	return total, by, faults, sc.Err()
}

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

type straceCounter struct {
	dir string
	out string
	cmd *exec.Cmd
}

func newStrace(dir string) (counter, error) {
	if _, err := exec.LookPath("strace"); err != nil {
		return nil, err
	}
	return &straceCounter{dir: dir, out: filepath.Join(dir, "strace.out")}, nil
}

func (s *straceCounter) method() string { return "strace -c -f" }

func (s *straceCounter) start(pidList func() []int) error {
	pids := pidList()
	args := []string{"-c", "-f", "-o", s.out}
	for _, pid := range pids {
		args = append(args, "-p", strconv.Itoa(pid))
	}
	os.Remove(s.out)
	s.cmd = exec.Command("strace", args...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	// Attached when every thread of every process names a tracer.
	deadline := time.Now().Add(10 * time.Second)
	for !allTraced(pids) {
		if time.Now().After(deadline) {
			return errors.New("strace did not attach within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func allTraced(pids []int) bool {
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/task"
		tasks, err := os.ReadDir(dir)
		if err != nil {
			continue // gone
		}
		for _, t := range tasks {
			b, err := os.ReadFile(dir + "/" + t.Name() + "/status")
			if err != nil {
				continue
			}
			i := strings.Index(string(b), "TracerPid:")
			if i < 0 {
				return false
			}
			f := strings.Fields(string(b[i+len("TracerPid:"):]))
			if len(f) == 0 || f[0] == "0" {
				return false
			}
		}
	}
	return true
}

func (s *straceCounter) stop() (int64, map[string]int64, int64, error) {
	s.cmd.Process.Signal(syscall.SIGINT)
	if err := s.cmd.Wait(); err != nil && !isSignalExit(err) {
		return 0, nil, -1, fmt.Errorf("strace: %v", err)
	}
	b, err := os.ReadFile(s.out)
	if err != nil {
		return 0, nil, -1, err
	}
	total, by, err := parseStraceSummary(string(b))
	return total, by, -1, err
}

// parseStraceSummary reads strace -c's table:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 45.12    0.001234           2       600           read
//	...
//	100.00    0.002735           1      1800        12 total
func parseStraceSummary(s string) (int64, map[string]int64, error) {
	by := map[string]int64{}
	var total int64
	found := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[0], "%") || strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[len(f)-1]
		calls, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		if name == "total" {
			total, found = calls, true
		} else {
			by[name] = calls
		}
	}
	if !found {
		return 0, nil, fmt.Errorf("no total in strace's summary: %s", lastLines([]byte(s), 3))
	}
	return total, by, nil
}
