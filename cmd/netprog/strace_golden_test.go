package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// What the lesson goldens compare: a strace -f log, read into events, the
// Go runtime's own calls filtered out (runtimeCall, one documented
// filter), and what changes from run to run normalised (normalizer), so
// that two runs of a lesson's command give the same text.
//
// The events are grouped by who made them, since the order between two
// processes (or two threads) is the scheduler's, while the order within
// one is the program's:
//
//	== parent      the traced program's main thread (its pid)
//	== thread      another thread of the program: one section each,
//	               or all of them merged in log order (mergeThreads)
//	== child       a process it forked: one section each
//
// Sections of threads and of children are compared as sets (sorted by
// their text): which worker took which client is the kernel's choice.

// straceEvent is one line of a strace -f log, a call joined from its
// "<unfinished ...>" and "<... resumed>" halves.
type straceEvent struct {
	Pid  int
	Name string // the call; "+++" for an exit, "---" for a signal
	Text string // name(args) = result, or "exited with 0"
}

var (
	// A line starts with its pid under -f ("PID call" with -o,
	// "[pid PID] call" on a terminal), with nothing otherwise (pid 0).
	evCall       = regexp.MustCompile(`^(?:(?:\[pid\s+)?(\d+)\]?\s+)?(\w+)\((.*)$`)
	evUnfinished = regexp.MustCompile(`^(.*?) ?<unfinished \.\.\.>$`)
	evResumed    = regexp.MustCompile(`^(?:(?:\[pid\s+)?(\d+)\]?\s+)?<\.\.\. (\w+) resumed>(.*)$`)
	evExit       = regexp.MustCompile(`^(?:(?:\[pid\s+)?(\d+)\]?\s+)?\+\+\+ (.*) \+\+\+$`)
	evSignal     = regexp.MustCompile(`^(?:(?:\[pid\s+)?(\d+)\]?\s+)?--- (\S+) .*---$`)
)

// parseEvents reads strace output.
func parseEvents(log string) []straceEvent {
	var evs []straceEvent
	pending := map[int]string{} // pid -> the first half of a call
	lines := strings.Split(log, "\n")
	lines = lines[:len(lines)-1] // the last is empty, or a line strace is still writing
	for _, line := range lines {
		line = strings.TrimRight(line, " ")
		if m := evExit.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			evs = append(evs, straceEvent{pid, "+++", m[2]})
			continue
		}
		if m := evSignal.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			evs = append(evs, straceEvent{pid, "---", m[2]})
			continue
		}
		if m := evResumed.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			first, ok := pending[pid]
			delete(pending, pid)
			if !ok {
				first = m[2] + "("
			}
			evs = append(evs, straceEvent{pid, m[2], squeeze(first + m[3])})
			continue
		}
		if m := evCall.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			rest := m[2] + "(" + m[3]
			if u := evUnfinished.FindStringSubmatch(rest); u != nil {
				pending[pid] = u[1]
				continue
			}
			evs = append(evs, straceEvent{pid, m[2], squeeze(rest)})
		}
	}
	return evs
}

// squeeze removes the padding strace puts before " = result".
var padRE = regexp.MustCompile(`\)\s{2,}= `)

func squeeze(s string) string { return padRE.ReplaceAllString(s, ") = ") }

// result is what a call returned: "3<TCP:[...]>" of "socket(...) = 3<TCP:[...]>".
func (e straceEvent) result() string {
	i := strings.LastIndex(e.Text, ") = ")
	if i < 0 {
		return ""
	}
	return e.Text[i+4:]
}

// tracees says who is who in a log: the traced program's pid, its other
// threads, the processes it forked (in the order its clones returned
// them).
type tracees struct {
	parent   int
	threads  map[int]bool
	children []int
	child    map[int]bool
}

var leadingNum = regexp.MustCompile(`^\d+`)

// whoIsWho reads the exits and clone calls of a log. A tid that no traced clone
// returned is taken for a thread of the program (the lesson's -e trace=
// set may leave the runtime's thread clones out, but every lesson that
// forks traces clone).
func whoIsWho(evs []straceEvent) *tracees {
	tr := &tracees{threads: map[int]bool{}, child: map[int]bool{}}
	// The program is the last to exit: a process ends after its threads
	// (and here after its children). Its first line may come after a
	// child's: strace writes a call when it returns.
	if len(evs) > 0 {
		tr.parent = evs[0].Pid
	}
	for _, e := range evs {
		if e.Name == "+++" {
			tr.parent = e.Pid
		}
	}
	for _, e := range evs {
		if e.Name != "clone" && e.Name != "clone3" {
			continue
		}
		n, err := strconv.Atoi(leadingNum.FindString(e.result()))
		if err != nil || n <= 0 {
			continue
		}
		if strings.Contains(e.Text, "CLONE_THREAD") {
			tr.threads[n] = true
		} else if !tr.child[n] {
			tr.child[n] = true
			tr.children = append(tr.children, n)
		}
	}
	for _, e := range evs {
		if e.Pid != tr.parent && !tr.child[e.Pid] {
			tr.threads[e.Pid] = true
		}
	}
	return tr
}

// The runtime filter. A call is the Go runtime's, and left out of goldens
// and README excerpts, when it is one of:
//
//   - start-up: execve, arch_prctl, set_tid_address, set_robust_list,
//     rseq, sched_getaffinity, prlimit64, getrandom, prctl(PR_SET_VMA),
//     fcntl(0|1|2, F_GETFD|F_GETFL), and every call on the files the
//     runtime reads to size itself (/proc/self/cgroup, mountinfo, maps,
//     /sys/fs/cgroup/..., /sys/kernel/mm/transparent_hugepage/...);
//   - memory: mmap, munmap, madvise, mprotect, brk (an mmap with
//     MAP_SHARED is the program's: the children's counters, io_uring's
//     rings);
//   - threads and scheduling: clone and clone3 with CLONE_THREAD, exit of
//     a thread, futex, nanosleep (the program's own sleeps are
//     clock_nanosleep), sched_yield, restart_syscall, gettid in a thread
//     that has not named itself (the program's threads name themselves
//     first);
//   - signals: rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack,
//     tgkill and the getpid the runtime makes for it (in a thread other
//     than the program's main one), the deliveries (--- SIGURG ---,
//     --- SIGCHLD ---: the runtime's handler takes them on any thread),
//     and a call they interrupted (= ? ERESTARTSYS, = -1 EINTR), which the
//     program or the kernel makes again;
//   - the netpoller: its epoll instance (the one an epoll_ctl registers a
//     pointer with, not a descriptor number), epoll_create1 of it,
//     epoll_pwait and epoll_ctl on it unless they name a socket of the
//     program (the goroutine model's sockets are registered there), its
//     eventfd (the one that instance watches) and the reads and writes on
//     it;
//   - the end of a thread (+++ exited +++ of a tid that is not a process).
//
// Everything else is the program's.
type runtimeFilter struct {
	tr       *tracees
	epolls   map[int]map[string]bool // pid -> the runtime's epoll descriptors ("5")
	eventfds map[int]map[string]bool // pid -> the runtime's eventfds
	named    map[int]bool            // tids that named themselves (prctl PR_SET_NAME)
	memFiles map[int]map[string]bool // pid -> descriptors of the runtime's files
	exited   map[int]bool            // processes whose main thread called exit_group
}

var (
	runtimeNames = map[string]bool{
		"execve": true, "arch_prctl": true, "set_tid_address": true, "set_robust_list": true, "rseq": true,
		"sched_getaffinity": true, "prlimit64": true, "getrandom": true,
		"mmap": true, "munmap": true, "madvise": true, "mprotect": true, "brk": true,
		"futex": true, "nanosleep": true, "sched_yield": true, "restart_syscall": true,
		"rt_sigaction": true, "rt_sigprocmask": true, "rt_sigreturn": true, "sigaltstack": true, "tgkill": true,
	}
	runtimeFiles = regexp.MustCompile(`<(?:/proc/\d+/(?:cgroup|mountinfo|maps)|/sys/fs/cgroup/[^>]*|/sys/kernel/mm/transparent_hugepage/[^>]*)>`)
	runtimeOpen  = regexp.MustCompile(`"(?:/proc/self/(?:cgroup|mountinfo|maps)|/sys/fs/cgroup/[^"]*|/sys/kernel/mm/transparent_hugepage/[^"]*)"`)
	ptrData      = regexp.MustCompile(`data=\{u32=(\d+), u64=(\d+)\}`)
	stdFcntl     = regexp.MustCompile(`^fcntl\([012]<[^,]*, F_GET(?:FD|FL)\)`)
	fdArg        = regexp.MustCompile(`^\w+\((\d+)<`)
	socketAnn    = regexp.MustCompile(`\d+<(?:TCP|TCPv6|UDP|UDPv6|UNIX|UNIX-STREAM|UNIX-DGRAM|RAW|RAWv6|ICMP|ICMPv6|PING|PINGv6|NETLINK)[:>]`)
)

func newRuntimeFilter(evs []straceEvent, tr *tracees) *runtimeFilter {
	f := &runtimeFilter{tr: tr, epolls: map[int]map[string]bool{}, eventfds: map[int]map[string]bool{},
		named: map[int]bool{}, memFiles: map[int]map[string]bool{}, exited: map[int]bool{}}
	for _, e := range evs {
		if e.Name == "exit_group" && !tr.threads[e.Pid] {
			f.exited[e.Pid] = true
		}
	}
	// The runtime's epoll: the one an epoll_ctl registers a pointer with.
	for _, e := range evs {
		if e.Name != "epoll_ctl" {
			continue
		}
		m := ptrData.FindStringSubmatch(e.Text)
		if m == nil {
			continue
		}
		if v, _ := strconv.ParseUint(m[2], 10, 64); v < 1<<16 {
			continue
		}
		pid := f.process(e.Pid)
		if f.epolls[pid] == nil {
			f.epolls[pid], f.eventfds[pid] = map[string]bool{}, map[string]bool{}
		}
		args := strings.SplitN(strings.TrimPrefix(e.Text, "epoll_ctl("), ", ", 4)
		f.epolls[pid][fdNumber(strings.TrimSpace(args[0]))] = true
		if len(args) > 2 && strings.Contains(args[2], "<anon_inode:[eventfd]>") {
			f.eventfds[pid][fdNumber(strings.TrimSpace(args[2]))] = true
		}
	}
	return f
}

// process is the process a tid belongs to.
func (f *runtimeFilter) process(tid int) int {
	if f.tr.threads[tid] {
		return f.tr.parent
	}
	return tid
}

// runtime reports whether e is the Go runtime's (see the list above). It
// is called on the events in log order.
func (f *runtimeFilter) runtime(e straceEvent) bool {
	pid := f.process(e.Pid)
	text := e.Text
	switch e.Name {
	case "---":
		return true
	}
	if r := e.result(); strings.HasPrefix(r, "? ERESTART") || strings.HasPrefix(r, "-1 EINTR") {
		// Interrupted by a signal (the runtime's, taken by whichever
		// thread) and made again: the call that follows is the one
		// that counts.
		return true
	}
	switch e.Name {
	case "+++":
		return f.tr.threads[e.Pid]
	case "exit_group":
		// The main thread's exit_group ends every thread; strace can show
		// a thread caught starting up at that moment as making it too
		// (both "exit_group(0 <unfinished ...>"). The main thread's is
		// the program's.
		return f.tr.threads[e.Pid] && f.exited[f.process(e.Pid)]
	case "exit":
		return !f.named[e.Pid] // a thread of the program's names itself first
	case "prctl":
		if strings.HasPrefix(text, "prctl(PR_SET_NAME") {
			f.named[e.Pid] = true
		}
		return strings.HasPrefix(text, "prctl(PR_SET_VMA")
	case "gettid":
		return !f.named[e.Pid]
	case "getpid":
		return f.tr.threads[e.Pid]
	case "clone", "clone3":
		return strings.Contains(text, "CLONE_THREAD")
	case "mmap":
		return !strings.Contains(text, "MAP_SHARED")
	case "epoll_create1":
		return f.epolls[pid][fdNumber(e.result())]
	case "epoll_ctl", "epoll_pwait", "epoll_wait":
		if !f.epolls[pid][fdArgOf(text)] {
			return false
		}
		// The goroutine model's sockets go into the runtime's epoll: keep
		// the calls that name them.
		return !(e.Name == "epoll_ctl" && socketAnn.MatchString(text))
	case "eventfd2":
		return f.eventfds[pid][fdNumber(e.result())]
	case "read", "write":
		if f.eventfds[pid][fdArgOf(text)] {
			return true
		}
	case "fcntl":
		return stdFcntl.MatchString(text)
	case "openat":
		if runtimeOpen.MatchString(text) {
			return true
		}
	}
	if runtimeNames[e.Name] {
		return true
	}
	return runtimeFiles.MatchString(text)
}

// fdArgOf is the descriptor number of a call's first argument ("5" of
// "epoll_pwait(5<anon_inode:[eventpoll]>, ...").
func fdArgOf(text string) string {
	if m := fdArg.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// The normalizer: what differs between two runs of the same lesson, each
// replaced by a label given in order of first appearance, so that the
// same socket, port or process has the same name all through a run:
//
//   - descriptor numbers before strace -yy's annotations (8<TCP:[...]> is
//     <TCP:[...]>: the role, not the number, which depends on how many
//     descriptors the runtime holds), and bare ones where strace prints a
//     number alone (poll's revents, epoll's data, select's nfds,
//     close_range's bounds);
//   - ports (P1, P2, ... the server's first), pids (child1, child2, ...
//     in the order the program forked them; tids are TID), socket and
//     pipe inode numbers (i1, i2, ...), pointers (0x...);
//   - times: -T's <0.000123>, getrusage's, a poll's timeout and time left,
//     and the durations the program writes ("stopped after 14ms");
//   - the working directory strace shows with AT_FDCWD;
//   - whatever the lesson adds (its scrub list: ping's timestamps).
type normalizer struct {
	tr     *tracees
	ports  map[string]string
	pids   map[string]string
	inodes map[string]string
	fds    map[int]map[string]string // pid -> descriptor number -> its last annotation, normalised
	scrub  []scrub
}

type scrub struct {
	re   *regexp.Regexp
	with string
}

func newNormalizer(tr *tracees, scrubs []scrub) *normalizer {
	n := &normalizer{tr: tr, ports: map[string]string{}, pids: map[string]string{}, inodes: map[string]string{},
		fds: map[int]map[string]string{}, scrub: scrubs}
	n.pids[strconv.Itoa(tr.parent)] = "PARENT"
	for i, c := range tr.children {
		n.pids[strconv.Itoa(c)] = fmt.Sprintf("child%d", i+1)
	}
	for t := range tr.threads {
		n.pids[strconv.Itoa(t)] = "TID"
	}
	return n
}

var (
	portRE        = regexp.MustCompile(`((?:\d+\.\d+\.\d+\.\d+|\]|localhost)[:.])(\d{1,5})\b|htons\((\d+)\)`)
	inodeRE       = regexp.MustCompile(`((?:TCP|TCPv6|UDP|UDPv6|UNIX|UNIX-STREAM|UNIX-DGRAM|RAW|RAWv6|PING|PINGv6|NETLINK|pipe|socket):\[)(\d+)(?:->(\d+))?\]`)
	annotatedFd   = regexp.MustCompile(`\b(\d+)(<(?:->|[^<>]|<[^<>]*>)*>)`)
	selectedRE    = regexp.MustCompile(`\((in|out) \[([\d ]+)\]`)
	fdcwdRE       = regexp.MustCompile(`AT_FDCWD<[^>]*>`)
	durationIn    = regexp.MustCompile(`\d+(?:\.\d+){2,}|\b\d+(?:\.\d+)?(ns|µs|us|ms|s|m)\b|\b\d+\.\d+`)
	bareFdRE      = regexp.MustCompile(`(\{fd=|u32=|u64=)(\d+)\b`)
	pointerRE     = regexp.MustCompile(`0x[0-9a-f]{5,}`)
	durationRE    = regexp.MustCompile(` <\d+\.\d+>$`)
	rusageRE      = regexp.MustCompile(`\{tv_sec=\d+, tv_usec=\d+\}`)
	timeoutRE     = regexp.MustCompile(`(\], \d+, |left )\{tv_sec=\d+, tv_nsec=\d+\}`)
	writeLenRE    = regexp.MustCompile(`, \d+\) = \d+$`)
	quotedRE      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	pidInString   = regexp.MustCompile(`("(?:[^"\\]|\\.)*?\b(?:PARENT|child\d+|TID)\b)(?:[^"\\]|\\.)*"(?:\.\.\.)?`)
	numberRE      = regexp.MustCompile(`#\d+#|\b\d{2,7}\b`)
	countAfterBuf = regexp.MustCompile(`("(?:\.\.\.)?|0x[0-9a-f]+), (\d+)\b`)
	sizeField     = regexp.MustCompile(`\b(iov_len|msg_namelen|msg_controllen|cmsg_len)=(\d+)\b`)
	countKept     = regexp.MustCompile(`#(\d+)#`)
	closeRange    = regexp.MustCompile(`^close_range\((\d+), (\d+),`)
	selectNfds    = regexp.MustCompile(`^(p?select6?)\((\d+),`)
	nodenameRE    = regexp.MustCompile(`nodename="[^"]*"`)
)

func (n *normalizer) label(m map[string]string, key, prefix string) string {
	if l, ok := m[key]; ok {
		return l
	}
	l := fmt.Sprintf("%s%d", prefix, len(m)+1)
	m[key] = l
	return l
}

// line normalises one event's text.
func (n *normalizer) line(e straceEvent) string {
	s := e.Text
	pid := e.Pid
	if n.tr.threads[pid] {
		pid = n.tr.parent
	}
	s = durationRE.ReplaceAllString(s, " <T>")
	s = portRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := portRE.FindStringSubmatch(m)
		if sm[3] != "" {
			if sm[3] == "0" {
				return m
			}
			return "htons(" + n.label(n.ports, sm[3], "P") + ")"
		}
		if sm[2] == "0" {
			return m
		}
		return sm[1] + n.label(n.ports, sm[2], "P")
	})
	s = inodeRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := inodeRE.FindStringSubmatch(m)
		out := sm[1] + n.label(n.inodes, sm[2], "i")
		// strace -yy names a Unix socket's peer only while the peer is
		// open: in a close, whether it still is depends on timing (passfd's
		// worker killed by the stop, or not yet).
		if sm[3] != "" && !(e.Name == "close" && strings.HasPrefix(sm[1], "UNIX")) {
			out += "->" + n.label(n.inodes, sm[3], "i")
		}
		return out + "]"
	})
	if n.fds[pid] == nil {
		n.fds[pid] = map[string]string{}
	}
	// A pidfd's annotation names the pid: <pid:1234>.
	s = strings.ReplaceAll(s, "<pid:", "<pid ")
	// A count right after a buffer ("hello", 512, ... or read's 0xc000..,
	// 16384) is a size, never a pid, however small the pids of a fresh
	// machine are, or however near a busy one's come to 16384: kept aside,
	// marked #16384#, which the pids' replacement leaves alone; so are the
	// sizes in a msghdr (iov_len=4160).
	s = countAfterBuf.ReplaceAllString(s, `$1, #$2#`)
	s = sizeField.ReplaceAllString(s, `$1=#$2#`)
	s = numberRE.ReplaceAllStringFunc(s, func(m string) string {
		if m[0] == '#' {
			return m
		}
		if l, ok := n.pids[m]; ok {
			return l
		}
		return m
	})
	s = countKept.ReplaceAllString(s, `$1`)
	s = strings.ReplaceAll(s, "<pid ", "<pid:")
	// A pid written out ("my pid is: 1234") moves where strace cuts the
	// string: it is cut after the pid.
	s = pidInString.ReplaceAllString(s, `$1"...`)
	// What the program writes on its output: how many bytes depends on the
	// pids and times in it.
	if strings.HasPrefix(s, "write(1") || strings.HasPrefix(s, "write(<pipe:") {
		s = writeLenRE.ReplaceAllString(s, ", N) = N")
	}
	// A poll's timeout, and the time left: restarted with what is left.
	if strings.HasPrefix(s, "ppoll(") {
		s = timeoutRE.ReplaceAllString(s, "$1{...}")
	}
	if m := closeRange.FindStringSubmatch(s); m != nil {
		s = "close_range(" + smallFd(m[1]) + ", " + smallFd(m[2]) + "," + s[len(m[0]):]
	}
	if m := selectNfds.FindStringSubmatch(s); m != nil {
		s = m[1] + "(N," + s[len(m[0]):]
	}
	s = annotatedFd.ReplaceAllStringFunc(s, func(m string) string {
		sm := annotatedFd.FindStringSubmatch(m)
		n.fds[pid][sm[1]] = sm[2]
		return sm[2]
	})
	// An epoll registration's data is a descriptor (the program's) or a
	// pointer (the runtime's), whose low half may be anything.
	s = ptrData.ReplaceAllStringFunc(s, func(m string) string {
		sm := ptrData.FindStringSubmatch(m)
		if v, _ := strconv.ParseUint(sm[2], 10, 64); v >= 1<<16 {
			return "data={u32=PTR, u64=PTR}"
		}
		return m
	})
	s = bareFdRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := bareFdRE.FindStringSubmatch(m)
		if a, ok := n.fds[pid][sm[2]]; ok {
			return sm[1] + a
		}
		if v, _ := strconv.ParseUint(sm[2], 10, 64); v >= 1<<16 {
			return sm[1] + "PTR"
		}
		return m
	})
	s = pointerRE.ReplaceAllString(s, "0x...")
	s = rusageRE.ReplaceAllString(s, "{tv_sec=N, tv_usec=N}")
	s = fdcwdRE.ReplaceAllString(s, "AT_FDCWD")
	// Times the program writes: "stopped after 14ms", "user 0.004s".
	s = quotedRE.ReplaceAllStringFunc(s, func(q string) string {
		return durationIn.ReplaceAllStringFunc(q, func(d string) string {
			if strings.Count(d, ".") >= 2 {
				return d // an address: 127.0.0.1
			}
			return "N" // 14ms, 1.2s, 0.004: its unit changes with its size
		})
	})
	s = selectedRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := selectedRE.FindStringSubmatch(m)
		var out []string
		for _, fd := range strings.Fields(sm[2]) {
			if a, ok := n.fds[pid][fd]; ok {
				fd = a
			}
			out = append(out, fd)
		}
		return "(" + sm[1] + " [" + strings.Join(out, " ") + "]"
	})
	s = nodenameRE.ReplaceAllString(s, `nodename="HOST"`)
	for _, sc := range n.scrub {
		s = sc.re.ReplaceAllString(s, sc.with)
	}
	return s
}

// smallFd keeps 3 (the first descriptor after the standard three) and
// "all" (~0) as they are; any other bound of close_range depends on how
// many descriptors were open.
func smallFd(s string) string {
	if s == "3" || s == "4294967295" {
		return s
	}
	return "N"
}

// section is the calls of one process or thread, normalised.
type section struct {
	who   string // parent, thread, child
	lines []string
}

func (s section) String() string {
	return "== " + s.who + "\n" + strings.Join(s.lines, "\n") + "\n"
}

// goldenOptions are what a lesson changes in the grouping.
type goldenOptions struct {
	mergeThreads bool     // one "thread" section for all the program's other threads, in log order
	collapse     []string // calls whose consecutive runs (in one section) are shown once, as name(...)
	dedupe       []string // calls whose consecutive identical lines (normalised, in one section) are shown once
	scrub        []scrub
}

// golden turns a log into its sections: the runtime's calls filtered, the
// rest normalised and grouped; it also returns the events kept, in log
// order, for the README (those collapse and dedupe leave out are left out
// there too).
var sleptRem = regexp.MustCompile(`\{tv_sec=\d+, tv_nsec=\d+\}$`)

func golden(log string, o goldenOptions) ([]section, []straceEvent) {
	evs := parseEvents(log)
	tr := whoIsWho(evs)
	rf := newRuntimeFilter(evs, tr)
	nz := newNormalizer(tr, o.scrub)
	var kept []straceEvent
	byWho := map[int][]string{}
	var order []int
	slept := map[int]string{} // pid -> a sleep a signal interrupted
	for _, e := range evs {
		// A sleep a signal interrupted (EINTR) is made again for the time
		// left: shown once, as asked for, with the result of the last.
		if e.Name == "clock_nanosleep" {
			if r := e.result(); strings.HasPrefix(r, "? ERESTART") || strings.HasPrefix(r, "-1 EINTR") {
				if _, ok := slept[e.Pid]; !ok {
					slept[e.Pid] = e.Text[:strings.LastIndex(e.Text, ") = ")]
				}
				continue
			}
			if first, ok := slept[e.Pid]; ok {
				delete(slept, e.Pid)
				// Its last argument is where the kernel wrote the time
				// left (strace shows what it wrote): as the last try has it.
				args := e.Text[:strings.LastIndex(e.Text, ") = ")]
				rem := args[strings.LastIndex(args, ", ")+2:]
				if sleptRem.MatchString(first) {
					first = sleptRem.ReplaceAllLiteralString(first, "") + rem
				}
				e.Text = first + ") = " + e.result()
			}
		}
		if rf.runtime(e) {
			continue
		}
		text := nz.line(e)
		if e.Name == "+++" {
			text = strings.TrimPrefix(text, "+++ ")
		}
		key := e.Pid
		if o.mergeThreads && tr.threads[key] {
			key = -1
		}
		if _, ok := byWho[key]; !ok {
			order = append(order, key)
		}
		lines := byWho[key]
		if name := e.Name; contains(o.collapse, name) {
			text = name + "(...)"
		}
		if contains(o.collapse, e.Name) || contains(o.dedupe, e.Name) {
			if len(lines) > 0 && lines[len(lines)-1] == text {
				continue
			}
		}
		kept = append(kept, e)
		byWho[key] = append(lines, text)
	}
	var parent []section
	var others []section
	for _, k := range order {
		who := "child"
		switch {
		case k == tr.parent:
			who = "parent"
		case k == -1 || tr.threads[k]:
			who = "thread"
		}
		s := section{who, byWho[k]}
		if who == "parent" {
			parent = append(parent, s)
		} else {
			others = append(others, s)
		}
	}
	sort.SliceStable(others, func(i, j int) bool {
		if others[i].who != others[j].who {
			return others[i].who > others[j].who // threads, then children
		}
		return others[i].String() < others[j].String()
	})
	return append(parent, others...), kept
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// goldenText renders sections as a golden file holds them.
func goldenText(secs []section) string {
	var b strings.Builder
	for _, s := range secs {
		b.WriteString(s.String())
	}
	return b.String()
}

// TestNormalizerSizesAreNotPids: a size that happens to equal a pid or tid
// of the run (a busy machine's tids pass 16384, read's buffer size) stays a
// size, after a buffer or a pointer alike; a pid stays a pid.
func TestNormalizerSizesAreNotPids(t *testing.T) {
	tr := &tracees{parent: 4160, threads: map[int]bool{16384: true}, children: []int{512}, child: map[int]bool{512: true}}
	for _, tc := range []struct{ in, want string }{
		{`read(5, 0xc000180000, 16384) = -1 EAGAIN (Resource temporarily unavailable)`, `read(5, 0x..., 16384) = -1 EAGAIN (Resource temporarily unavailable)`},
		{`read(5, "hello 0\n", 16384) = 8`, `read(5, "hello 0\n", 16384) = 8`},
		{`recvmsg(3, {msg_iov=[{iov_base="E\0", iov_len=4160}]}, 0) = 84`, `recvmsg(3, {msg_iov=[{iov_base="E\0", iov_len=4160}]}, 0) = 84`},
		{`wait4(512, NULL, 0, NULL) = 512`, `wait4(child1, NULL, 0, NULL) = child1`},
		{`kill(4160, SIGTERM) = 0`, `kill(PARENT, SIGTERM) = 0`},
	} {
		n := newNormalizer(tr, nil)
		if got := n.line(straceEvent{Pid: 4160, Name: "x", Text: tc.in}); got != tc.want {
			t.Errorf("line(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
