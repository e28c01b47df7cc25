package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netprog/raw/netnstest"
)

// Every strace command the README prints, run as printed, with a golden
// per command. The command lines live here, in straceLessons, and nowhere
// else: the README's block for each (between <!-- strace NAME --> and
// <!-- /strace NAME -->) holds the command and the lines of a run, and
// `make readme-strace` (go test -run TestStraceLessons -update-strace)
// writes those blocks and testdata/strace/NAME.golden from the same runs.
// Without -update-strace the test runs each command and checks:
//
//   - the README's block has exactly this command;
//   - the run, with the Go runtime's calls filtered out (runtimeFilter)
//     and normalised (normalizer), equals the golden, process by process;
//   - the README's lines, read back and normalised the same way, equal
//     the golden too: the excerpt is from a run of the program as it is;
//   - the lesson's own claims (check), on the run's events.
//
// The test runs the command as the README prints it, with three changes:
// `-o LOG` after strace (the log, apart from the program's output), the
// built binary for ./netprog, and the lesson's args appended (a server on
// 127.0.0.1 port 0, shorter sleeps). `sudo` is dropped: the tests run as
// root, and a command that needs it is skipped otherwise.

var updateStrace = flag.Bool("update-strace", false,
	"rewrite cmd/netprog/testdata/strace/*.golden and the README's strace blocks from fresh runs (make readme-strace)")

// straceLesson is one README strace command and how to run it.
type straceLesson struct {
	name    string // the README's marker and the golden's file name
	command string // exactly as the README prints it
	args    []string
	stdin   string // a program that reads it (not a server)

	// A server: started, driven by drive once it listens (drive waits
	// for whatever makes the run the same every time: the child reaped
	// before the next client comes), and stopped with SIGINT.
	server bool
	drive  func(lr *liveRun)
	// idleInFutex: the program's main thread waits in futex (its
	// goroutine parked by the runtime), not in a call of the lesson, so
	// there is no waiting call to stop it in.
	idleInFutex bool
	// peer, for a client, starts what it talks to and returns the
	// arguments that point the client at it.
	peer func(t *testing.T) []string
	// ownLoopback runs the command in a network namespace of its own, with
	// only a loopback: a raw socket gets a copy of every ICMP message the
	// host's loopback carries, and the other tests, run beside this one,
	// make some (a port unreachable passes ping's filters, as it must).
	ownLoopback bool

	goldenOptions
	check func(t *testing.T, r *lessonRun)
}

// lessonRun is one run of a lesson's command.
type lessonRun struct {
	fds  []string // the program's descriptors at a moment of the run ("8 -> socket:[1234]"), if the driver listed them
	log  string
	out  string // the program's standard output
	evs  []straceEvent
	tr   *tracees
	kept []straceEvent // the program's own calls, in log order
	secs []section
}

// settleWait bounds the wait for a run to be complete: strace slows the
// program, and the machine may be busy.
const settleWait = 60 * time.Second

var straceLessons = []*straceLesson{
	{
		name:    "greet-server",
		command: "strace -f -yy -e trace=%network,write,close ./netprog greet-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			c, err := net.DialTimeout("tcp", lr.Addr, 20*time.Second)
			if err != nil {
				lr.t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(settleWait))
			if b, err := io.ReadAll(c); err != nil || string(b) != "Thank you for Connecting \n" {
				lr.t.Fatalf("greeting %q, %v", b, err)
			}
			lr.waitFor("the log line", outputCount("Got the connection from", 1))
		},
	},
	{
		name:    "echo-server",
		command: "strace -f -yy -e trace=%network,read,write,close ./netprog echo-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				lr.converse("You Send:", i)
				lr.waitFor("the client's socket closed", closedClients(i+1))
			}
		},
	},
	{
		name:    "udp-server",
		command: "strace -f -yy -e trace=%network ./netprog udp-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			c, err := net.Dial("udp", lr.Addr)
			if err != nil {
				lr.t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(settleWait))
			io.WriteString(c, "hello")
			buf := make([]byte, 512)
			if n, err := c.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "hello") {
				lr.t.Fatalf("reply %q, %v", buf[:n], err)
			}
		},
	},
	{
		name:    "chat-client",
		command: "strace -f -yy -e trace=%network,ppoll,read,write ./netprog chat-client",
		stdin:   "hello\n",
		peer:    chatPeer,
	},
	{
		name:    "hostname",
		command: "strace -e trace=uname ./netprog hostname",
	},
	{
		name:    "ports",
		command: "strace -yy -e trace=%network,openat ./netprog ports",
	},
	{
		name:    "fork-server",
		command: "strace -f -yy -e trace=%network,ppoll,clone3,pidfd_open,close,close_range,read,wait4,exit_group ./netprog fork-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			// The first client stays connected until the parent has closed
			// its copy of the socket and its descriptors are listed.
			c, err := net.DialTimeout("tcp", lr.Addr, 20*time.Second)
			if err != nil {
				lr.t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(settleWait))
			if err := converseOn(c, "you send:", 0, false); err != nil {
				lr.t.Fatal(err)
			}
			lr.waitFor("the parent's close of the client", closedClients(1))
			lr.listFds()
			io.WriteString(c, "q\n")
			if _, err := c.Read(make([]byte, 1)); err != io.EOF {
				lr.t.Fatalf("after q: %v, want end of file", err)
			}
			lr.waitFor("the child reaped", outputCount("Reaped child process:", 1))
			lr.converse("you send:", 1)
			lr.waitFor("the child reaped", outputCount("Reaped child process:", 2))
		},
		check: checkForkServer,
	},
	{
		name:    "prefork",
		command: "strace -f -yy -e trace=clone3,pidfd_open,ppoll,close_range,accept4,kill,wait4 ./netprog echo-server -model prefork -workers 2",
		args:    []string{"-host", "127.0.0.1", "-port", "0", "-q"},
		server:  true,
		drive:   preforkDrive,
		check:   checkPrefork,
	},
	{
		name:    "passfd",
		command: "strace -f -yy -e trace=socketpair,clone3,close_range,accept4,sendmsg,recvmsg,read,sendto,close,kill,wait4 ./netprog echo-server -model passfd -workers 2",
		args:    []string{"-host", "127.0.0.1", "-port", "0", "-q"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				lr.converse("You Send:", i)
				// The parent has read the worker's free byte: the next
				// client goes to the worker it took last.
				lr.waitFor("the parent's read of the free byte", func(_ string, evs []straceEvent) bool {
					return countEvents(evs, func(e straceEvent) bool {
						return e.Name == "read" && strings.Contains(e.Text, "<UNIX-STREAM:") && strings.Contains(e.Text, `".", 16) = 1`)
					}) >= i+1
				})
			}
		},
		check: checkPassfd,
	},
	{
		name:    "fork-demo",
		command: "strace -f -e trace=clone3,getpid,write,clock_nanosleep,wait4,exit_group ./netprog fork-demo -sleep 1",
		check:   checkForkDemo,
	},
	{
		name:    "zombie-demo",
		command: "strace -f -e trace=clone3,exit_group,waitid,wait4,clock_nanosleep ./netprog zombie-demo -sleep 2 -reap",
		check:   checkZombieDemo,
	},
	{
		name:    "thread-server",
		command: "strace -f -yy -e trace=%network,clone,clone3,prctl,read,exit ./netprog thread-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				lr.converse("", i)
				lr.waitFor("the client's thread to end", func(_ string, evs []straceEvent) bool {
					return countEvents(evs, func(e straceEvent) bool { return e.Name == "exit" }) >= i+1
				})
			}
		},
	},
	{
		name:    "thread-demo",
		command: "strace -f -e trace=clone,clone3,gettid,prctl,clock_nanosleep,exit ./netprog thread-demo",
	},
	{
		name:    "select-server",
		command: "strace -yy -e trace=pselect6,accept4,read,sendto ./netprog select-server",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				if err := echoLine(lr.Addr, i); err != nil {
					lr.t.Fatal(err)
				}
				lr.waitFor("the client's end of file", eofReads(i+1))
			}
		},
	},
	{
		name:    "poll",
		command: "strace -yy -e trace=poll,ppoll,accept4,read,sendto ./netprog echo-server -model poll",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				lr.converse("You Send:", i)
				lr.waitFor("the client's quit", quitReads(i+1))
			}
		},
	},
	{
		name:    "epoll",
		command: "strace -yy -e trace=epoll_create1,epoll_ctl,epoll_wait,epoll_pwait,accept4 ./netprog echo-server -model epoll",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				lr.converse("You Send:", i)
				lr.waitFor("the client's log line", outputCount("Client quits", i+1))
			}
		},
	},
	{
		name:          "goroutine",
		command:       "strace -f -yy -e trace=epoll_ctl,accept4,read,sendto ./netprog echo-server -model goroutine",
		args:          []string{"-host", "127.0.0.1", "-port", "0", "-q"},
		server:        true,
		drive:         goroutineDrive,
		idleInFutex:   true,
		goldenOptions: goldenOptions{mergeThreads: true},
	},
	{
		name:    "nonblock-demo",
		command: "strace -T -yy -e trace=%network,fcntl,poll,ppoll ./netprog nonblock-demo",
	},
	{
		name:    "uring",
		command: "strace -f -yy -e trace=io_uring_setup,io_uring_register,io_uring_enter,getpeername,accept4,read,recvfrom,write,sendto,close ./netprog echo-server -model uring -raw -q",
		args:    []string{"-host", "127.0.0.1", "-port", "0"},
		server:  true,
		drive: func(lr *liveRun) {
			for i := range 2 {
				rawEcho(lr, fmt.Sprintf("hello %d\n", i))
				lr.waitFor("the end of the connection", outputCount("closed the connection", i+1))
			}
		},
		goldenOptions: goldenOptions{collapse: []string{"io_uring_enter"}, scrub: []scrub{
			// What this kernel's io_uring offers; the summary's counts,
			// which follow the batching.
			{regexp.MustCompile(`^(io_uring_setup\(\d+, \{flags=[^,]*), .*\}\) = `), "$1, ...}) = "},
			{regexp.MustCompile(`(IORING_REGISTER_PROBE, )\{.*\}, (\d+\))`), "$1{...}, $2"},
			{regexp.MustCompile(`"\\nio_uring: .*`), `"\nio_uring: ..."..., N) = N`},
		}},
	},
	{
		name:    "reuseport",
		command: "strace -f -yy -e trace=prctl,setsockopt,bind,listen,epoll_create1,epoll_ctl,accept4 ./netprog echo-server -model reuseport -workers 3",
		args:    []string{"-host", "127.0.0.1", "-port", "0", "-q"},
		server:  true,
		drive: func(lr *liveRun) {
			lr.converse("You Send:", 0)
		},
		idleInFutex: true, // the main goroutine waits for the workers
		// Which worker the kernel gives the client to is its choice.
		goldenOptions: goldenOptions{scrub: []scrub{{regexp.MustCompile(`"reuseport-\d+"`), `"reuseport-N"`}}},
	},
	{
		name:        "ping",
		command:     "sudo strace -yy -e trace=%network,ppoll ./netprog ping -c 3 127.0.0.1",
		ownLoopback: true,
		goldenOptions: goldenOptions{scrub: []scrub{
			// The ICMP messages carry a timestamp and a checksum; the
			// kernel stamps each reply.
			{regexp.MustCompile(`"(?:[^"\\]|\\.)*"\.\.\.`), `"..."...`},
			{regexp.MustCompile(`cmsg_data=\{tv_sec=\d+, tv_nsec=\d+\}`), "cmsg_data={...}"},
			// The buffer's size before ping sets it is the machine's
			// net.core.rmem_default.
			{regexp.MustCompile(`SO_RCVBUF, \[\d+\], \[4\]`), "SO_RCVBUF, [N], [4]"},
		},
			// A raw socket gets a copy of every ICMP packet of the
			// namespace, and discardQueued reads (and drops) those that came
			// before its filters, one recvfrom each. In the lesson's own
			// namespace none come; were one to, it shows as one line.
			dedupe: []string{"recvfrom"},
		},
	},
}

// TestStraceLessons runs every lesson's command (see the top of this file).
func TestStraceLessons(t *testing.T) {
	t.Parallel()
	needStrace(t)
	closeOnExec(t)
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(string(readme))
	seen := map[string]bool{}
	for _, l := range straceLessons {
		if seen[l.name] {
			t.Fatalf("two lessons named %s", l.name)
		}
		seen[l.name] = true
		t.Run(l.name, func(t *testing.T) {
			if strings.HasPrefix(l.command, "sudo ") && os.Geteuid() != 0 {
				t.Skip("needs root, as the README's sudo says")
			}
			r := runLesson(t, l)
			got := goldenText(r.secs) + fdsText(r.fds)
			path := filepath.Join("testdata", "strace", l.name+".golden")
			if *updateStrace {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(goldenHeader(l)+got), 0o644); err != nil {
					t.Fatal(err)
				}
				blocks[l.name] = renderBlock(l, r)
			} else {
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./cmd/netprog -run TestStraceLessons -update-strace writes it)", err)
				}
				if w := stripHeader(string(want)); got != w {
					t.Errorf("the run differs from %s (-want +got):\n%s\nthe run's log:\n%s", path, lineDiff(w, got), r.log)
				}
				checkReadmeBlock(t, l, blocks[l.name], got)
			}
			if l.check != nil {
				l.check(t, r)
			}
		})
	}
	for name := range blocks {
		if !seen[name] {
			t.Errorf("README has a strace block %q that no lesson runs", name)
		}
	}
	if *updateStrace && !t.Failed() {
		// Read afresh: the output blocks' tests may have written it since.
		readmeMu.Lock()
		defer readmeMu.Unlock()
		readme, err := os.ReadFile(readmePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(readmePath, []byte(writeBlocks(string(readme), blocks)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// closeOnExec marks every descriptor of the test process close-on-exec:
// one it inherited open (from a shell, a CI runner) would otherwise pass
// through strace to the program, and show in its descriptor numbers.
func closeOnExec(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// argv is the lesson's command as the test runs it.
func (l *straceLesson) argv(log string) []string {
	f := strings.Fields(l.command)
	if f[0] == "sudo" {
		f = f[1:]
	}
	out := []string{f[0], "-o", log}
	for _, a := range f[1:] {
		if a == "./netprog" {
			a = netprogBin
		}
		out = append(out, a)
	}
	return append(out, l.args...)
}

func runLesson(t *testing.T, l *straceLesson) *lessonRun {
	t.Helper()
	log := filepath.Join(t.TempDir(), "strace.log")
	argv := l.argv(log)
	r := &lessonRun{}
	readLog := func() string {
		data, _ := os.ReadFile(log)
		return string(data)
	}
	if l.server {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = repoRoot // where ./netprog is
		s := startServerCmd(t, cmd)
		// The program strace runs: strace's one child. (strace -o blocks
		// fatal signals, so a stop is sent to the program.)
		tracee := func() int {
			for pid := range childStates(s.Cmd.Process.Pid) {
				return pid
			}
			return -1
		}
		s.SignalPid = tracee
		if l.drive != nil {
			lr := &liveRun{t: t, Addr: s.Addr, out: s.Out.String, log: func() []straceEvent { return parseEvents(readLog()) }, pid: tracee}
			l.drive(lr)
			r.fds = lr.fds
			// Stop it where it waits, not on its way there: a stop on the
			// way would skip the wait and its call.
			if !l.idleInFutex {
				lr.waitIdle()
			}
		}
		if pid := tracee(); pid > 0 {
			syscall.Kill(pid, syscall.SIGINT)
		}
		select {
		case <-s.Done():
		case <-time.After(settleWait):
			t.Fatalf("%s did not stop within %v of SIGINT", l.name, settleWait)
		}
		if s.Status() != nil {
			t.Errorf("strace %s: %v\nstderr: %s", l.name, s.Status(), s.Err)
		}
		r.out = s.Out.String()
	} else {
		if l.peer != nil {
			argv = append(argv, l.peer(t)...)
		}
		if l.ownLoopback {
			ns := netnstest.New(t).Add("lo")
			argv = append([]string{"ip", "netns", "exec", ns}, argv...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleWait)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = repoRoot // where ./netprog is
		cmd.Stdin = strings.NewReader(l.stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", strings.Join(argv, " "), err, out.String(), errb.String())
		}
		r.out = out.String()
	}
	r.log = readLog()
	if dir := os.Getenv("NETPROG_STRACE_KEEP"); dir != "" { // to look at a run's whole log
		os.WriteFile(filepath.Join(dir, l.name+".log"), []byte(r.log), 0o644)
	}
	r.evs = parseEvents(r.log)
	r.tr = whoIsWho(r.evs)
	r.secs, r.kept = golden(r.log, l.goldenOptions)
	return r
}

// The README's blocks.

const (
	repoRoot   = "../.."
	readmePath = "../../README.md"
)

var blockRE = regexp.MustCompile(`(?s)<!-- strace ([\w-]+)[^>]*-->\n(.*?)<!-- /strace ([\w-]+) -->\n`)

// readmeBlocks returns the README's strace blocks by name (their bodies).
func readmeBlocks(readme string) map[string]string {
	blocks := map[string]string{}
	for _, m := range blockRE.FindAllStringSubmatch(readme, -1) {
		blocks[m[1]] = m[2]
	}
	return blocks
}

// writeBlocks puts new bodies into the README's blocks.
func writeBlocks(readme string, blocks map[string]string) string {
	return blockRE.ReplaceAllStringFunc(readme, func(m string) string {
		sm := blockRE.FindStringSubmatch(m)
		return "<!-- strace " + sm[1] + ": written by `make readme-strace` from cmd/netprog/strace_lessons_test.go -->\n" +
			blocks[sm[1]] + "<!-- /strace " + sm[1] + " -->\n"
	})
}

// renderBlock is a block's body: the command, then the program's calls in
// the run, as strace -f prints them on a terminal.
func renderBlock(l *straceLesson, r *lessonRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    %s\n\n```\n", l.command)
	for _, e := range r.kept {
		text := e.Text
		if e.Name == "+++" {
			text = "+++ " + text + " +++"
		}
		if strings.Contains(l.command, " -f ") {
			fmt.Fprintf(&b, "[pid %5d] %s\n", e.Pid, text)
		} else {
			fmt.Fprintf(&b, "%s\n", text)
		}
	}
	b.WriteString("```\n")
	if len(r.fds) > 0 {
		b.WriteString("\nThe parent's descriptors while the first client was connected (`ls -l /proc/$(pgrep -o -x netprog)/fd`):\n\n```\n")
		b.WriteString(strings.Join(r.fds, "\n") + "\n```\n")
	}
	return b.String()
}

// fdsText is a golden's section for a list of descriptors: what each is,
// in the order of their numbers, without the numbers (they depend on the
// machine: one cgroup file or two) or inodes.
func fdsText(fds []string) string {
	if len(fds) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("== descriptors\n")
	last := ""
	for _, f := range fds {
		_, target, _ := strings.Cut(f, " -> ")
		target = fdTargetRE.ReplaceAllString(target, "$1:[…]")
		if strings.HasPrefix(target, "/sys/fs/cgroup/") {
			target = "/sys/fs/cgroup/… (the runtime's CPU quota)"
		}
		if target == last {
			continue // cgroup v1 has two such files, v2 one
		}
		last = target
		b.WriteString(target + "\n")
	}
	return b.String()
}

var fdTargetRE = regexp.MustCompile(`^(socket|pipe):\[\d+\]`)

// checkReadmeBlock checks the README's block for l: the command as the
// test runs it, and lines that normalise to the golden.
func checkReadmeBlock(t *testing.T, l *straceLesson, body, want string) {
	t.Helper()
	if body == "" {
		t.Errorf("README has no block <!-- strace %s --> (make readme-strace writes it once the markers are there)", l.name)
		return
	}
	cmd, rest, _ := strings.Cut(body, "\n")
	if strings.TrimSpace(cmd) != l.command {
		t.Errorf("README's %s command is %q, the lesson's %q", l.name, strings.TrimSpace(cmd), l.command)
	}
	_, lines, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Errorf("README's %s block has no run", l.name)
		return
	}
	lines, rest, _ = strings.Cut(lines, "```")
	var fds []string
	if _, list, ok := strings.Cut(rest, "```\n"); ok {
		list, _, _ = strings.Cut(list, "```")
		fds = strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	}
	secs, _ := golden(lines, l.goldenOptions)
	if got := goldenText(secs) + fdsText(fds); got != want {
		t.Errorf("README's %s lines are not a run of the program as it is now (make readme-strace) (-golden +README):\n%s", l.name, lineDiff(want, got))
	}
}

// goldenHeader says what a golden file is.
func goldenHeader(l *straceLesson) string {
	return "# " + l.command + "\n# The program's calls, normalised (cmd/netprog/strace_golden_test.go); written by make readme-strace.\n"
}

func stripHeader(s string) string {
	for strings.HasPrefix(s, "#") {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}

// lineDiff shows the lines of want and got that differ, in a simple
// unified form (enough for goldens of a few dozen lines).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// Longest common subsequence, then walk it.
	dp := make([][]int, len(w)+1)
	for i := range dp {
		dp[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			b.WriteString("  " + w[i] + "\n")
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || dp[i][j+1] >= dp[i+1][j]):
			b.WriteString("+ " + g[j] + "\n")
			j++
		default:
			b.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}

// Drivers and conditions.

// liveRun is a server under strace, for its lesson's driver.
type liveRun struct {
	t    *testing.T
	Addr string
	out  func() string        // what it printed so far
	log  func() []straceEvent // what strace logged so far
	pid  func() int           // the traced program's
	fds  []string
}

// waitIdle waits until the program's main thread sleeps in a system call
// other than futex: its wait for the next event (accept4, ppoll, ...).
func (lr *liveRun) waitIdle() {
	lr.t.Helper()
	pid := lr.pid()
	deadline := time.Now().Add(settleWait)
	for {
		stat, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, pid))
		call, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/syscall", pid, pid))
		if err1 != nil || err2 != nil {
			lr.t.Fatalf("the program's main thread: %v %v", err1, err2)
		}
		st := string(stat)
		i := strings.LastIndexByte(st, ')')
		nr, _, _ := strings.Cut(string(call), " ")
		if i > 0 && i+2 < len(st) && st[i+2] == 'S' && nr != "running" && nr != strconv.Itoa(syscall.SYS_FUTEX) {
			return
		}
		if time.Now().After(deadline) {
			lr.t.Fatalf("the program's main thread is not waiting within %v: %s, syscall %s", settleWait, st, call)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listFds lists the program's descriptors now, as ls -l /proc/PID/fd does.
func (lr *liveRun) listFds() {
	lr.t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", lr.pid())
	ents, err := os.ReadDir(dir)
	if err != nil {
		lr.t.Fatal(err)
	}
	var nums []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		if target, err := os.Readlink(fmt.Sprintf("%s/%d", dir, n)); err == nil {
			lr.fds = append(lr.fds, fmt.Sprintf("%d -> %s", n, target))
		}
	}
}

// converse has one conversation (converse of fork_test.go).
func (lr *liveRun) converse(prefix string, i int) {
	lr.t.Helper()
	if err := converse(lr.Addr, prefix, i); err != nil {
		lr.t.Fatal(err)
	}
}

// waitFor waits until cond holds (settleWait at most).
func (lr *liveRun) waitFor(what string, cond func(out string, evs []straceEvent) bool) {
	lr.t.Helper()
	deadline := time.Now().Add(settleWait)
	for !cond(lr.out(), lr.log()) {
		if time.Now().After(deadline) {
			lr.t.Fatalf("no %s within %v; output:\n%s", what, settleWait, lr.out())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outputCount is a settled condition: want appears n times in the output.
func outputCount(want string, n int) func(string, []straceEvent) bool {
	return func(out string, _ []straceEvent) bool { return strings.Count(out, want) >= n }
}

func countEvents(evs []straceEvent, pred func(straceEvent) bool) int {
	n := 0
	for _, e := range evs {
		if pred(e) {
			n++
		}
	}
	return n
}

// preforkDrive holds two connections at once, so that each worker serves
// one (a worker serving a client is in read, not accept), then ends both.
func preforkDrive(lr *liveRun) {
	t := lr.t
	t.Helper()
	var conns []net.Conn
	for i := range 2 {
		c, err := net.DialTimeout("tcp", lr.Addr, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(settleWait))
		if err := converseOn(c, "You Send:", i, false); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		io.WriteString(c, "q\n")
		var b [1]byte
		if n, err := c.Read(b[:]); err != io.EOF {
			t.Fatalf("after q: %q %v, want end of file", b[:n], err)
		}
	}
}

// closedClients: the server closed n client sockets.
func closedClients(n int) func(string, []straceEvent) bool {
	return func(_ string, evs []straceEvent) bool {
		return countEvents(evs, func(e straceEvent) bool {
			return e.Name == "close" && strings.Contains(e.Text, "<TCP:") && strings.Contains(e.Text, "->")
		}) >= n
	}
}

// eofReads: the server read end of file from n clients.
func eofReads(n int) func(string, []straceEvent) bool {
	return func(_ string, evs []straceEvent) bool {
		return countEvents(evs, func(e straceEvent) bool {
			return e.Name == "read" && strings.Contains(e.Text, "->") && strings.HasSuffix(e.Text, ") = 0")
		}) >= n
	}
}

// quitReads: the server read n clients' q.
func quitReads(n int) func(string, []straceEvent) bool {
	return func(_ string, evs []straceEvent) bool {
		return countEvents(evs, func(e straceEvent) bool {
			return e.Name == "read" && strings.Contains(e.Text, `"q\n"`)
		}) >= n
	}
}

// rawEcho sends msg to a raw echo server, reads it back and closes.
func rawEcho(lr *liveRun, msg string) {
	lr.t.Helper()
	c, err := net.DialTimeout("tcp", lr.Addr, 20*time.Second)
	if err != nil {
		lr.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(settleWait))
	io.WriteString(c, msg)
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		lr.t.Fatalf("echo %q, %v", buf, err)
	}
}

// goroutineDrive has two conversations in lock step with the log: each
// message is sent only once the server's goroutine has found nothing to
// read (EAGAIN) and parked, so every run makes the same calls.
func goroutineDrive(lr *liveRun) {
	t := lr.t
	eagain := func(n int) func(string, []straceEvent) bool {
		return func(_ string, evs []straceEvent) bool {
			return countEvents(evs, func(e straceEvent) bool {
				return e.Name == "read" && strings.Contains(e.Text, "->") && strings.Contains(e.Text, "EAGAIN")
			}) >= n
		}
	}
	acceptParked := func(n int) func(string, []straceEvent) bool {
		return func(_ string, evs []straceEvent) bool {
			return countEvents(evs, func(e straceEvent) bool {
				return e.Name == "accept4" && strings.Contains(e.Text, "EAGAIN")
			}) >= n
		}
	}
	parked := 0
	for i := range 2 {
		lr.waitFor("the accepting goroutine to park", acceptParked(i+1))
		c, err := net.DialTimeout("tcp", lr.Addr, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(settleWait))
		r := bufio.NewReader(c)
		for _, msg := range []string{fmt.Sprintf("hello %d\n", i), "q\n"} {
			parked++
			lr.waitFor("the goroutine to park", eagain(parked))
			io.WriteString(c, msg)
			if msg == "q\n" {
				break
			}
			if got, err := r.ReadString('\n'); err != nil || got != "You Send:"+msg {
				t.Fatalf("reply %q, %v", got, err)
			}
		}
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("after q: %v, want end of file", err)
		}
		c.Close()
		lr.waitFor("the connection closed", func(_ string, evs []straceEvent) bool {
			return countEvents(evs, func(e straceEvent) bool {
				return e.Name == "epoll_ctl" && strings.Contains(e.Text, "EPOLL_CTL_DEL")
			}) >= i+1
		})
	}
}

// chatPeer is the other side of chat-client's conversation: it speaks
// first, reads the reply, and quits.
func chatPeer(t *testing.T) []string {
	addr := serveOnce(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(settleWait))
		io.WriteString(c, "hi\n")
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(c, "q")
	})
	return []string{"-addr", addr}
}

// The lessons' claims.

// calls is the program's own calls made by pid (a process, or a thread),
// in order.
func (r *lessonRun) calls(pid int) []straceEvent {
	var out []straceEvent
	for _, e := range r.kept {
		if e.Pid == pid {
			out = append(out, e)
		}
	}
	return out
}

// checkForkServer: the parent's whole history is under its pid: per
// client ppoll, accept4, clone3(SIGCHLD) returning the child's pidfd
// (CLONE_PIDFD; or clone, then pidfd_open), close of the client; then
// ppoll on the pidfd, wait4 of that pid, close of the pidfd.
// Each child closes the listening socket, converses and exits.
func checkForkServer(t *testing.T, r *lessonRun) {
	if len(r.tr.children) != 2 {
		t.Fatalf("%d children forked, want 2", len(r.tr.children))
	}
	for _, e := range r.kept {
		if r.tr.threads[e.Pid] && e.Name != "shutdown" {
			t.Errorf("a thread other than the main one made a call of the lesson: %s", e.Text)
		}
	}
	var seq []string
	for _, e := range r.calls(r.tr.parent) {
		switch e.Name {
		case "accept4", "wait4":
			seq = append(seq, e.Name)
		case "clone", "clone3":
			if strings.Contains(e.Text, "pidfd=[") {
				seq = append(seq, "fork+pidfd")
			} else {
				seq = append(seq, "fork")
			}
		case "pidfd_open": // a fork that gave no pidfd
			if len(seq) > 0 && seq[len(seq)-1] == "fork" {
				seq[len(seq)-1] = "fork+pidfd"
			} else {
				seq = append(seq, e.Name)
			}
		case "close":
			if strings.Contains(e.Text, "->") {
				seq = append(seq, "close(client)")
			} else if strings.Contains(e.Text, "pidfd") || strings.Contains(e.Text, "<pid:") {
				seq = append(seq, "close(pidfd)")
			}
		}
	}
	want := "accept4 fork+pidfd close(client) wait4 close(pidfd)"
	if got := strings.Join(seq, " "); got != want+" "+want {
		t.Errorf("the parent's history: %s\nwant, per client: %s", got, want)
	}
	for _, c := range r.tr.children {
		var names []string
		for _, e := range r.calls(c) {
			names = append(names, e.Name)
		}
		if got := strings.Join(names, " "); !strings.HasPrefix(got, "close close_range close_range read") || !strings.HasSuffix(got, "close exit_group +++") {
			t.Errorf("child %d: %s", c, got)
		}
	}
}

// checkPrefork: the workers accept, the parent never does; the parent's
// history (forks, pidfds, the stop's kills and waits) is all on its main
// thread.
func checkPrefork(t *testing.T, r *lessonRun) {
	if len(r.tr.children) != 2 {
		t.Fatalf("%d workers forked, want 2", len(r.tr.children))
	}
	for _, e := range r.kept {
		if r.tr.threads[e.Pid] {
			t.Errorf("a thread other than the main one made a call of the lesson: %s", e.Text)
		}
	}
	accepts := 0
	for _, e := range r.kept {
		if e.Name == "accept4" && strings.Contains(e.result(), "->") {
			accepts++
			if !r.tr.child[e.Pid] {
				t.Errorf("accept4 by %d, not a worker: %s", e.Pid, e.Text)
			}
		}
	}
	if accepts != 2 {
		t.Errorf("%d connections accepted, want 2", accepts)
	}
}

// checkPassfd: the parent's history (socketpairs, forks, accepts, the
// descriptors passed, the reads of free bytes, the stop) is all on its main
// thread.
func checkPassfd(t *testing.T, r *lessonRun) {
	if len(r.tr.children) != 2 {
		t.Fatalf("%d workers forked, want 2", len(r.tr.children))
	}
	for _, e := range r.kept {
		if r.tr.threads[e.Pid] {
			t.Errorf("a thread other than the main one made a call of the lesson: %s", e.Text)
		}
	}
}

// checkForkDemo: both processes sleep, each with clock_nanosleep.
func checkForkDemo(t *testing.T, r *lessonRun) {
	sleeps := map[int]bool{}
	for _, e := range r.kept {
		if e.Name == "clock_nanosleep" && strings.Contains(e.Text, "{tv_sec=1, tv_nsec=0}") {
			sleeps[e.Pid] = true
		}
	}
	if len(r.tr.children) != 1 || !sleeps[r.tr.parent] || !sleeps[r.tr.children[0]] {
		t.Errorf("want both processes to sleep 1s with clock_nanosleep; slept: %v (parent %d, children %v)", sleeps, r.tr.parent, r.tr.children)
	}
}

// checkZombieDemo: the parent forks, waits for the child's end without
// reaping it (the output shows it a zombie), sleeps, then reaps it.
func checkZombieDemo(t *testing.T, r *lessonRun) {
	if !strings.Contains(r.out, "Z (zombie)") || !strings.Contains(r.out, "Reaped child process:") {
		t.Errorf("output:\n%s", r.out)
	}
	var names []string
	for _, e := range r.calls(r.tr.parent) {
		names = append(names, e.Name)
	}
	if got, want := strings.Join(names, " "), "clone3 waitid clock_nanosleep wait4 exit_group +++"; got != want {
		t.Errorf("the parent's calls: %s, want %s", got, want)
	}
}

// TestStraceLessonWatch: a command's help shows the same strace command as
// the README, where the README has one for it.
func TestStraceLessonWatch(t *testing.T) {
	t.Parallel()
	for _, l := range straceLessons {
		f := strings.Fields(l.command)
		i := 0
		for i < len(f) && f[i] != "./netprog" {
			i++
		}
		if i+1 >= len(f) {
			t.Fatalf("%s: no ./netprog COMMAND in %q", l.name, l.command)
		}
		c := commands[f[i+1]]
		if c == nil {
			t.Fatalf("%s: no command %s", l.name, f[i+1])
		}
		if l.name != f[i+1] {
			continue // a variant (echo-server -model prefork): help shows the plain one
		}
		if !strings.Contains(c.watch, l.command) {
			t.Errorf("help %s shows %q, the README %q", c.name, c.watch, l.command)
		}
	}
}
