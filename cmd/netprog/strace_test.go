package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The strace tests prove the syscall sequence a program claims: they run the
// built binary under `strace -f -yy`, so every call shows which socket it
// touched (3<TCP:[127.0.0.1:8090]>), and look for the lesson's calls on the
// program's own sockets. The Go runtime's own calls (rt_sigaction,
// sigaltstack, clone of its threads, its epoll for timers and the netpoller,
// futex, mmap, ...) are there too and are ignored.

// straceCall is one completed system call from strace's log.
type straceCall struct {
	Pid  int
	Name string
	Args string // the argument text as strace printed it
	Ret  string // the result: "3<TCP:[...]>", "0", "-1 EAGAIN (...)"
	Line string // the whole line, for messages
}

// straced is a program started under strace.
type straced struct {
	*server
	log string
}

// needStrace skips the test when strace cannot run here (not installed, or
// ptrace not permitted).
func needStrace(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed (.ci/run installs it)")
	}
	if out, err := exec.Command("strace", "-f", "-o", "/dev/null", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (ptrace not permitted?): %v %s", err, out)
	}
}

// startStraced starts `strace -f -yy netprog args...` as a server (it must
// print "listening on"). Calls returns what strace logged so far.
func startStraced(t *testing.T, args ...string) *straced {
	t.Helper()
	needStrace(t)
	log := filepath.Join(t.TempDir(), "strace.log")
	sargs := append([]string{"-f", "-yy", "-s", "64", "-o", log, netprogBin}, args...)
	s := startServerCmd(t, exec.Command("strace", sargs...))
	st := &straced{server: s, log: log}
	// strace -o blocks fatal signals (its -I3 default), so a stop is sent to
	// the tracee, whose pid opens the log; strace exits when it does.
	s.SignalPid = func() int {
		data, err := os.ReadFile(log)
		if err != nil {
			return 0
		}
		if calls := parseStrace(string(data)); len(calls) > 0 {
			return calls[0].Pid
		}
		return 0
	}
	return st
}

// Calls parses the strace log written so far.
func (s *straced) Calls(t *testing.T) []straceCall {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return parseStrace(string(data))
}

var (
	straceLineRE     = regexp.MustCompile(`^(\d+)\s+(\w+)\((.*)\)\s+=\s+(.*)$`)
	straceUnfinished = regexp.MustCompile(`^(\d+)\s+(\w+)\((.*)\s+<unfinished \.\.\.>$`)
	straceResumed    = regexp.MustCompile(`^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(.*)$`)
)

// parseStrace turns `strace -f` output into calls, joining the
// "<unfinished ...>" and "<... resumed>" halves of a call that another
// thread interrupted.
func parseStrace(log string) []straceCall {
	var calls []straceCall
	pending := map[int]string{} // pid -> first half of the args
	for _, line := range strings.Split(log, "\n") {
		if m := straceLineRE.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			calls = append(calls, straceCall{pid, m[2], m[3], m[4], line})
			continue
		}
		if m := straceUnfinished.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			pending[pid] = m[3]
			continue
		}
		if m := straceResumed.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[1])
			args := pending[pid] + m[3]
			delete(pending, pid)
			calls = append(calls, straceCall{pid, m[2], args, m[4], line})
		}
	}
	return calls
}

// tcpSocket reports whether a -yy annotation (in args or result) names a TCP
// socket: 3<TCP:[127.0.0.1:8090]> or 3<TCPv6:[...]>.
func touchesTCP(s string) bool {
	return strings.Contains(s, "<TCP:") || strings.Contains(s, "<TCPv6:")
}

// firstArgFD returns the annotated first argument of a call, "3<TCP:[...]>".
func firstArg(c straceCall) string {
	depth := 0
	for i, r := range c.Args {
		switch r {
		case '<', '[', '{', '(':
			depth++
		case '>':
			if i == 0 || c.Args[i-1] != '-' { // the arrow of "a->b" closes nothing
				depth--
			}
		case ']', '}', ')':
			depth--
		case ',':
			if depth == 0 {
				return c.Args[:i]
			}
		}
	}
	return c.Args
}

// inOrder checks that calls contain, in this order, a call matching each
// predicate; it returns the index of the first one missing (-1 if all found).
func inOrder(calls []straceCall, preds ...func(straceCall) bool) int {
	i := 0
	for _, c := range calls {
		if i < len(preds) && preds[i](c) {
			i++
		}
	}
	if i == len(preds) {
		return -1
	}
	return i
}

// onTCP matches a call by name whose first argument is a TCP socket (or,
// for socket(2) and accept4(2), whose result is one).
func onTCP(names ...string) func(straceCall) bool {
	return func(c straceCall) bool {
		for _, n := range names {
			if c.Name == n && (touchesTCP(firstArg(c)) || touchesTCP(c.Ret)) {
				return true
			}
		}
		return false
	}
}

func TestParseStrace(t *testing.T) {
	t.Parallel()
	log := `100 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3<TCP:[1234]>
101 accept4(3<TCP:[127.0.0.1:8090]>,  <unfinished ...>
100 futex(0x1, FUTEX_WAKE_PRIVATE, 1) = 1
101 <... accept4 resumed>{sa_family=AF_INET, sin_port=htons(5000), sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 4<TCP:[127.0.0.1:8090->127.0.0.1:5000]>
`
	calls := parseStrace(log)
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want 3: %+v", len(calls), calls)
	}
	if c := calls[2]; c.Name != "accept4" || c.Pid != 101 || !touchesTCP(firstArg(c)) || !strings.HasPrefix(c.Ret, "4<TCP:") {
		t.Errorf("resumed call parsed as %+v", c)
	}
	conn := straceCall{Name: "sendto", Args: `5<TCP:[127.0.0.1:8090->127.0.0.1:5000]>, "hi", 2, MSG_NOSIGNAL, NULL, 0`}
	if got, want := firstArg(conn), "5<TCP:[127.0.0.1:8090->127.0.0.1:5000]>"; got != want {
		t.Errorf("firstArg = %q, want %q", got, want)
	}
	if got := inOrder(calls, onTCP("socket"), onTCP("accept4")); got != -1 {
		t.Errorf("inOrder missed predicate %d", got)
	}
}
