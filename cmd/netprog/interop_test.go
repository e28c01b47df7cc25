package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/clients/probe"
	"netprog/internal/e2e"
)

// The course's own programs as test peers (issue 11): testdata/course holds
// the clients and servers of the notes ported to Python 3 with as few edits
// as possible (its README.md lists them), and here every netprog client
// talks to the matching course server, every course client to the matching
// netprog server. What the user sees is compared exactly where it is
// deterministic; q must end the conversation on both sides; every client
// exits 0, well within its deadline.

// interopBound is a hang bound, not a timing: a client that ends its
// conversation finishes in well under a second, or after -quit-wait (2 s)
// when the server does not close; past this bound it is a hang.
const interopBound = 15 * time.Second

// interopStdin is what every echo pair types: two messages and the quit.
const interopStdin = "hello\nworld\nq\n"

// quitAs makes the quit of a script Q (as typed: sent so) in the -course
// framing, so that both letters are tried.
func quitAs(framing, script string) string {
	if framing != "-course" || !strings.HasSuffix(script, "q\n") {
		return script
	}
	return strings.TrimSuffix(script, "q\n") + "Q\n"
}

// interopPython skips the test when the course's programs cannot run.
func interopPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed, so the course's programs cannot run (CI's .ci/run installs it)")
	}
}

func courseArgs(script string, args ...string) []string {
	return append([]string{"-u", filepath.Join("testdata", "course", script)}, args...)
}

// cappedWriter keeps the first megabyte a course program prints: the course's
// servers spin printing on end of file, and a test must not collect that
// for ever.
type cappedWriter struct {
	b *lockedBuffer
	n int // one writer per stream: exec's copying goroutine
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if room := 1<<20 - c.n; room > 0 {
		q := p[:min(len(p), room)]
		c.b.Write(q)
		c.n += len(q)
	}
	return len(p), nil
}

// courseStart runs `python3 -u testdata/course/SCRIPT args...` (unbuffered:
// the test sees each line as it is printed) with a live standard input, in a
// process group of its own that is killed when the test ends, the fork
// server's children with it.
func courseStart(t *testing.T, script string, args ...string) *fndProc {
	t.Helper()
	cmd := exec.Command("python3", courseArgs(script, args...)...)
	p := &fndProc{cmd: cmd, out: &lockedBuffer{}, err: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &cappedWriter{b: p.out}, &cappedWriter{b: p.err}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%v: not gone 10s after SIGKILL", cmd.Args)
		}
	})
	return p
}

// interopFreePort is a port on 127.0.0.1 that was free a moment ago: the
// kernel gave it to a socket of this network (tcp, udp) that is closed again.
func interopFreePort(t *testing.T, network string) string {
	t.Helper()
	var a net.Addr
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = pc.LocalAddr()
		pc.Close()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a = ln.Addr()
		ln.Close()
	}
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// startCourseServer starts a course server on a free port and returns it
// once it is ready: when it has printed its start line (ready), or, for the
// select server that prints none (ready ""), when it has accepted a probe
// connection and seen it close. Another program may take the port between
// its test and Python's bind: a server that fails to bind is started again
// on another port, a few times.
func startCourseServer(t *testing.T, script, network, ready string) (*fndProc, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := interopFreePort(t, network)
		p := courseStart(t, script, port)
		if courseReady(t, p, network, port, ready) {
			return p, port
		}
		if attempt == 5 || !strings.Contains(p.out.String()+p.err.String(), "Address already in use") {
			t.Fatalf("%v exited before it was ready (attempt %d)\nstdout: %s\nstderr: %s", p.cmd.Args, attempt, tail(p.out.String(), 30), tail(p.err.String(), 30))
		}
	}
}

// courseReady waits for a course server to be ready; false if it exited.
// A server whose ready line comes before its listen (fork-echoserver.py
// prints its banner, then listens) is ready once its socket listens too
// (bound, for UDP): /proc says so.
func courseReady(t *testing.T, p *fndProc, network, port, ready string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	probed := false
	portNum, _ := strconv.Atoi(port)
	for {
		out := p.out.String()
		if ready != "" && strings.Contains(out, ready) && probe.Listens(p.cmd.Process.Pid, network == "udp", portNum) {
			return true
		}
		if ready == "" {
			if !probed {
				if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
					c.Close()
					probed = true
				}
			}
			// The probe's connection line, then its end of file (an empty
			// recv, printed as an empty line).
			if probed && strings.HasPrefix(out, "Got the connection from: ") && strings.HasSuffix(out, ")\n\n") {
				return true
			}
		}
		select {
		case <-p.done:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not ready after 10s\nstdout: %s\nstderr: %s", p.cmd.Args, tail(p.out.String(), 30), tail(p.err.String(), 30))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// interopRun runs a client to completion (runCommand's 30 s deadline) and
// checks that it finished well within it.
func interopRun(t *testing.T, stdin, name string, args ...string) (string, string, int) {
	t.Helper()
	start := time.Now()
	out, errOut, code := runCommand(t, stdin, name, args...)
	if d := time.Since(start); d > interopBound {
		t.Errorf("%s %v took %v: a client that ends its conversation must finish well within its deadline (bound %v)",
			name, args, d.Round(time.Millisecond), interopBound)
	}
	return out, errOut, code
}

// courseRun runs a course client to completion against port.
func courseRun(t *testing.T, stdin, script, port string) (string, string, int) {
	t.Helper()
	return interopRun(t, stdin, "python3", courseArgs(script, port)...)
}

// interopPattern turns an expected output into an anchored regexp: ADDR
// stands for Python's printing of a peer, ('127.0.0.1', PORT), and THREAD
// for a Python thread's name (Thread-1, or Thread-1 (handlechild) since 3.10).
func interopPattern(want string) *regexp.Regexp {
	re := regexp.QuoteMeta(want)
	re = strings.ReplaceAll(re, "ADDR", `\('127\.0\.0\.1', \d+\)`)
	re = strings.ReplaceAll(re, "THREAD", `Thread-\d+(?: \(handlechild\))?`)
	return regexp.MustCompile(`^` + re + `$`)
}

// courseWant waits until a course program's whole output is want (see
// interopPattern).
func courseWant(t *testing.T, p *fndProc, want string) {
	t.Helper()
	re := interopPattern(want)
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(p.out.String()) {
		if time.Now().After(deadline) {
			t.Errorf("%v: output after 10s:\n%q\nwant:\n%q\nstderr:\n%s", p.cmd.Args, tail(p.out.String(), 30), want, tail(p.err.String(), 30))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitServerRE waits until a netprog server's log matches re.
func waitServerRE(t *testing.T, s *server, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for !r.MatchString(s.Out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("server log lacks /%s/ after 10s:\n%s\nstderr:\n%s", re, s.Out, s.Err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// framings are the netprog clients' two ways of framing: lines (the
// default: each message with its newline) and -course (as typed, one read
// one reply).
var framings = []string{"default", "-course"}

// withFraming puts the framing flag after the command name.
func withFraming(framing string, args ...string) []string {
	if framing == "default" {
		return args
	}
	return append([]string{args[0], framing}, args[1:]...)
}

// interopEchoPair is one of the course's echo servers with its client, and
// the netprog programs that stand in for them.
type interopEchoPair struct {
	name string
	// The netprog client, how it is pointed at port, and what it prints for
	// interopStdin.
	client     string
	clientArgs func(port string) []string
	clientOut  string
	// The course server: its start line and its whole output for one client
	// typing interopStdin; {nl} is where the newline each line brings in the
	// default framing is printed (print adds its own).
	courseServer, ready, courseServerOut string
	// What the netprog client's stderr holds against the course server (""
	// when the server closes after q: then it must be empty).
	courseServerNote string
	// The course client, and what it prints for interopStdin.
	courseClient, courseClientOut string
	// The netprog server and the log line (a regexp) that says the client
	// quit.
	server, serverQuit string
}

const echoPrompt = "Enter data to send to server: press q or Q to quit:\n"

var interopEchoPairs = []interopEchoPair{
	{
		name:   "tcp echo",
		client: "echo-client", clientArgs: func(port string) []string { return []string{"-addr", "127.0.0.1:" + port} },
		clientOut:    echoPrompt + "hello\nYou Send:hello\n" + echoPrompt + "world\nYou Send:world\n" + echoPrompt + "q\n",
		courseServer: "tcp-echoserver.py", ready: "Server is running on port 5090:\n",
		courseServerOut: "Server is running on port 5090:\nReceived the connection from: ADDR\n" +
			"Data received hello\n{nl}Data received world\n{nl}Client quits:\n",
		courseClient:    "tcp-echoclient.py",
		courseClientOut: echoPrompt + "You Send:hello\n" + echoPrompt + "You Send:world\n" + echoPrompt,
		server:          "echo-server", serverQuit: `Client quits: 127\.0\.0\.1:\d+\n`,
	},
	{
		name:   "exception",
		client: "echo-client", clientArgs: func(port string) []string { return []string{"-port", port} },
		clientOut:    echoPrompt + "hello\nYou Send:hello\n" + echoPrompt + "world\nYou Send:world\n" + echoPrompt + "q\n",
		courseServer: "exception-echoserver.py", ready: "The server is listening on port: 50000\n",
		courseServerOut: "The server is listening on port: 50000\nReceived the connection from: ADDR\n" +
			"Data received: hello\n{nl}Data received: world\n{nl}Client quits:\n",
		courseClient: "exception-echoclient.py",
		courseClientOut: "Type Something(q or Q to exit:)You Send:hello\n" +
			"Type Something(q or Q to exit:)You Send:world\nType Something(q or Q to exit:)",
		server: "echo-server", serverQuit: `Client quits: 127\.0\.0\.1:\d+\n`,
	},
	{
		name:   "fork",
		client: "fork-client", clientArgs: func(port string) []string { return []string{"-addr", "127.0.0.1:" + port} },
		clientOut:    "Enter q or Q to quits:\n>hello\nyou send:hello\n>world\nyou send:world\n>q\n",
		courseServer: "fork-echoserver.py", ready: "The server is listening on port 50007\n",
		// The child prints nothing; its end shows when the parent reaps it,
		// at the next accept (checked apart).
		courseServerOut: "The server is listening on port 50007\n",
		// The child closes its socket after q, but the parent never closes
		// its copy of it: the connection stays open until the parent drops
		// that socket object, when it accepts the next client.
		courseServerNote: "kept the connection open",
		courseClient:     "fork-echoclient.py",
		courseClientOut:  "Enter q or Q to quits:\n>you send:hello\n>you send:world\n>",
		// A child that read q exits 0: reaped with nothing after its pid.
		server: "fork-server", serverQuit: `Reaped child process: \d+\n`,
	},
	{
		name:   "thread",
		client: "thread-client", clientArgs: func(port string) []string { return []string{"-addr", "127.0.0.1:" + port} },
		clientOut:    "Enter data to send:hello\nReceived data: hello\nEnter data to send:world\nReceived data: world\nEnter data to send:q\n",
		courseServer: "thread-echoserver.py", ready: "Waiting for connection on port 5200:\n",
		courseServerOut: "Waiting for connection on port 5200:\nNew child THREAD\nGot the connection from ADDR\n" +
			"ADDR send:  hello\n{nl}ADDR send:  world\n{nl}The client ADDR  quits\n",
		courseClient:    "thread-echoclient.py",
		courseClientOut: "Enter data to send:Received data: hello\nEnter data to send:Received data: world\nEnter data to send:",
		server:          "thread-server", serverQuit: `Client quits: 127\.0\.0\.1:\d+\n`,
	},
}

// TestInteropEcho: the tcp echo, "Catching Exceptions", fork and thread
// pairs. Each netprog client, in both framings, against the course server
// and against its netprog server; each course client against the netprog
// server. The course servers take only a whole recv of "q" as the quit:
// that the netprog client sends it so is seen in "Client quits:" (for the
// fork server's child, which prints nothing, in its reaping), and in the
// client having nothing to say on stderr: the server closed at once after
// q. Except the course's fork server, whose parent keeps every connection
// open until the next accept: there the client says so after -quit-wait.
func TestInteropEcho(t *testing.T) {
	t.Parallel()
	interopPython(t)
	for _, pair := range interopEchoPairs {
		t.Run(pair.name, func(t *testing.T) { interopEchoPairTest(t, pair) })
	}
}

// interopEchoPairTest runs one pair's matrix.
func interopEchoPairTest(t *testing.T, pair interopEchoPair) {
	for _, framing := range framings {
		t.Run(pair.client+" "+framing+" to the course's server", func(t *testing.T) {
			py, port := startCourseServer(t, pair.courseServer, "tcp", pair.ready)
			args := withFraming(framing, append([]string{pair.client}, pair.clientArgs(port)...)...)
			out, errOut, code := interopRun(t, quitAs(framing, interopStdin), netprogBin, args...)
			note := pair.courseServerNote
			if want := quitAs(framing, pair.clientOut); code != 0 || out != want ||
				note == "" && errOut != "" || !strings.Contains(errOut, note) {
				t.Errorf("%v: exit %d, stderr %q (want %q)\nstdout %q\nwant   %q",
					args, code, errOut, pair.courseServerNote, out, want)
			}
			nl := "\n" // the newline the default framing sends, printed by the course
			if framing == "-course" {
				nl = ""
			}
			courseWant(t, py, strings.ReplaceAll(pair.courseServerOut, "{nl}", nl))
			if pair.name == "fork" {
				interopForkReaped(t, py, port)
			}
		})
		t.Run(pair.client+" "+framing+" to "+pair.server, func(t *testing.T) {
			s := startServer(t, pair.server, "-addr", "127.0.0.1:0")
			args := withFraming(framing, append([]string{pair.client}, pair.clientArgs(portOf(s.Addr))...)...)
			out, errOut, code := interopRun(t, quitAs(framing, interopStdin), netprogBin, args...)
			if want := quitAs(framing, pair.clientOut); code != 0 || out != want || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, want)
			}
			waitServerRE(t, s, pair.serverQuit)
		})
	}
	t.Run("the course's client to "+pair.server, func(t *testing.T) {
		s := startServer(t, pair.server, "-addr", "127.0.0.1:0")
		out, errOut, code := courseRun(t, interopStdin, pair.courseClient, portOf(s.Addr))
		if code != 0 || out != pair.courseClientOut || errOut != "" {
			t.Errorf("%s: exit %d, stderr %q\nstdout %q\nwant   %q", pair.courseClient, code, errOut, out, pair.courseClientOut)
		}
		waitServerRE(t, s, pair.serverQuit)
		if strings.Contains(s.Out.String(), "closed the connection") {
			t.Errorf("the server saw end of file, not the quit:\n%s", s.Out)
		}
	})
}

// interopForkReaped shows that the course fork server's child ended after
// the q: the parent reaps exited children only when the next client
// connects, and says so. Probe clients (each sending q and closing) connect
// until it does, as the child may not have exited yet at the first.
func interopForkReaped(t *testing.T, py *fndProc, port string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !regexp.MustCompile(`Reaped Child Process: \d+\n`).MatchString(py.out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the fork server reaped no child after 10s of probes:\n%s\nstderr:\n%s", tail(py.out.String(), 30), tail(py.err.String(), 30))
		}
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("q"))
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCount waits until a course program has printed line n times.
func waitCount(t *testing.T, p *fndProc, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.out.String(), line) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%v printed %q fewer than %d times in 10s:\n%s\nstderr:\n%s", p.cmd.Args, line, n, tail(p.out.String(), 30), tail(p.err.String(), 30))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInteropCourseExceptionBind: the point of "Catching Exceptions": a busy
// port is one line and exit 1, not a traceback.
func TestInteropCourseExceptionBind(t *testing.T) {
	t.Parallel()
	interopPython(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	out, errOut, code := courseRun(t, "", "exception-echoserver.py", portOf(busy.Addr().String()))
	if want := "Could not open socket: Address already in use\n"; code != 1 || out != want || errOut != "" {
		t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
	}
}

// TestInteropGreet: the first server and client, both ways.
func TestInteropGreet(t *testing.T) {
	t.Parallel()
	interopPython(t)
	t.Run("greet-client to the course server", func(t *testing.T) {
		py, port := startCourseServer(t, "greet-server.py", "tcp", "The server is waiting for conneciton on port 8090\n")
		out, errOut, code := interopRun(t, "", netprogBin, "greet-client", "-addr", "127.0.0.1:"+port)
		if want := "Received data: Thank you for Connecting \n"; code != 0 || out != want || errOut != "" {
			t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
		}
		courseWant(t, py, "The server is waiting for conneciton on port 8090\nGot the connection from ADDR\n")
	})
	t.Run("the course client to greet-server", func(t *testing.T) {
		s := startServer(t, "greet-server", "-addr", "127.0.0.1:0")
		out, errOut, code := courseRun(t, "", "greet-client.py", portOf(s.Addr))
		// print adds a newline after the greeting's own.
		if want := "Received data: Thank you for Connecting \n\n"; code != 0 || out != want || errOut != "" {
			t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
		}
		s.WaitOutput(t, "Got the connection from 127.0.0.1:")
	})
}

// TestInteropUDP: UDP has no conversation to end: q is not sent by either
// client, which just closes its socket. The servers must have seen exactly
// the two datagrams.
func TestInteropUDP(t *testing.T) {
	t.Parallel()
	interopPython(t)
	const prompt = "Type Something(q or Q to exit:)"
	t.Run("udp-client to the course server", func(t *testing.T) {
		py, port := startCourseServer(t, "udp-echoserver.py", "udp", "UDP -Echo Server listening on port 5000:\n")
		out, errOut, code := interopRun(t, interopStdin, netprogBin, "udp-client", "-addr", "127.0.0.1:"+port, "-timeout", "10s")
		want := prompt + "hello\nReceived: hello\n" + prompt + "world\nReceived: world\n" + prompt + "q\n"
		if code != 0 || out != want || errOut != "" {
			t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
		}
		// A datagram of our own, sent after the client exited, is printed
		// after anything the client sent: nothing else came (no q).
		c, err := net.Dial("udp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("marker"))
		courseWant(t, py, "UDP -Echo Server listening on port 5000:\nADDR :said hello\nADDR :said world\nADDR :said marker\n")
	})
	t.Run("the course client to udp-server", func(t *testing.T) {
		s := startServer(t, "udp-server", "-addr", "127.0.0.1:0")
		out, errOut, code := courseRun(t, interopStdin, "udp-echoclient.py", portOf(s.Addr))
		want := prompt + "Received: hello\n" + prompt + "Received: world\n" + prompt
		if code != 0 || out != want || errOut != "" {
			t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
		}
		s.WaitOutput(t, " :said world\n")
		s.Stop(t)
		if !strings.Contains(s.Out.String(), "received 2 datagrams (0 truncated)") {
			t.Errorf("the server should have had the two datagrams and no q:\n%s", s.Out)
		}
	})
}

// TestInteropChat: the turn-taking chat both ways, in both framings, each
// side quitting in turn. The course's chat takes one recv as one message, so
// a quit is only a recv of exactly "q": netprog sends it so. A course chat
// server whose client quit closes silently and accepts the next: a second
// connection shows it did.
func TestInteropChat(t *testing.T) {
	t.Parallel()
	interopPython(t)
	const prompt = "SEND( TYPE q or Q to Quit):"
	const ready = "TCPServer Waiting for client on port 5000\n"
	// secondConnection shows that the course chat server ended the first
	// conversation: it accepts the next client only then.
	secondConnection := func(t *testing.T, py *fndProc, port, first string) {
		t.Helper()
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		courseWant(t, py, first+"I got a connection from  ADDR\n"+prompt)
	}
	for _, framing := range framings {
		nl := "\n"
		if framing == "-course" {
			nl = ""
		}
		t.Run("chat-client "+framing+" to the course server, which quits", func(t *testing.T) {
			py, port := startCourseServer(t, "chat-server.py", "tcp", ready)
			io.WriteString(py.stdin, quitAs(framing, "hi\nq\n"))
			args := withFraming(framing, "chat-client", "-addr", "127.0.0.1:"+port)
			out, errOut, code := interopRun(t, "hello\n", netprogBin, args...)
			if want := quitAs(framing, "RECIEVED: hi\n"+prompt+"hello\nI received q\n"); code != 0 || out != want || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, want)
			}
			first := ready + "I got a connection from  ADDR\n" + prompt + "RECIEVED: hello\n" + nl + prompt
			courseWant(t, py, first)
			secondConnection(t, py, port, first)
		})
		t.Run("chat-client "+framing+" quits to the course server", func(t *testing.T) {
			py, port := startCourseServer(t, "chat-server.py", "tcp", ready)
			io.WriteString(py.stdin, "hi\n")
			args := withFraming(framing, "chat-client", "-addr", "127.0.0.1:"+port)
			out, errOut, code := interopRun(t, quitAs(framing, "q\n"), netprogBin, args...)
			if want := quitAs(framing, "RECIEVED: hi\n"+prompt+"q\n"); code != 0 || out != want || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, want)
			}
			first := ready + "I got a connection from  ADDR\n" + prompt
			courseWant(t, py, first)
			secondConnection(t, py, port, first)
		})
		t.Run("the course client to chat-server "+framing+", which quits", func(t *testing.T) {
			s := startServer(t, withFraming(framing, "chat-server", "-addr", "127.0.0.1:0")...)
			io.WriteString(s.Stdin, quitAs(framing, "hi\nq\n"))
			out, errOut, code := courseRun(t, "hello\n", "chat-client.py", portOf(s.Addr))
			if want := quitAs(framing, "RECIEVED: hi\n"+nl+prompt+"I received q\n"); code != 0 || out != want || errOut != "" {
				t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
			}
			s.WaitOutput(t, quitAs(framing, prompt+"hi\nRECIEVED: hello\n"+prompt+"q\n"))
		})
		t.Run("the course client quits to chat-server "+framing, func(t *testing.T) {
			s := startServer(t, withFraming(framing, "chat-server", "-addr", "127.0.0.1:0")...)
			io.WriteString(s.Stdin, "hi\n")
			out, errOut, code := courseRun(t, quitAs(framing, "q\n"), "chat-client.py", portOf(s.Addr))
			if want := "RECIEVED: hi\n" + nl + prompt; code != 0 || out != want || errOut != "" {
				t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
			}
			s.WaitOutput(t, quitAs(framing, "I received q\n"))
		})
	}
}

// TestInteropSelect: the select pairs. Both select servers are pure echo,
// q is an ordinary line to them; what ends a conversation is the client's
// close (netprog's client shuts its side down after q, and the course
// server prints the empty recv as an empty line and closes). The course's
// select client cannot end at all: its quit test (line == ' ') never
// matches, so at the end of its input it sends nothing and waits in recv
// for ever; the test sees it there and kills it.
func TestInteropSelect(t *testing.T) {
	t.Parallel()
	interopPython(t)
	for _, framing := range framings {
		nl := "\n"
		if framing == "-course" {
			nl = ""
		}
		for _, tt := range []struct{ stdin, out, server string }{
			// print adds a newline to what one recv returned; the last
			// empty line is the empty recv of the client's end of file.
			{"one\ntwo\nq\n", "%one\none\n%two\ntwo\n%q\n", "one" + nl + "\ntwo" + nl + "\nq\n\n"},
			{"one\n\n", "%one\none\n%\n", "one" + nl + "\n\n"}, // a blank line quits without q
		} {
			t.Run(fmt.Sprintf("select-client %s to the course server, typing %q", framing, tt.stdin), func(t *testing.T) {
				py, port := startCourseServer(t, "select-echoserver.py", "tcp", "")
				probe := py.out.String()
				args := withFraming(framing, "select-client", "-addr", "127.0.0.1:"+port)
				out, errOut, code := interopRun(t, tt.stdin, netprogBin, args...)
				if code != 0 || out != tt.out || errOut != "" {
					t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, tt.out)
				}
				courseWant(t, py, probe+"Got the connection from: ADDR\n"+tt.server)
			})
		}
		t.Run("select-client "+framing+" to select-server", func(t *testing.T) {
			s := startServer(t, "select-server", "-addr", "127.0.0.1:0")
			args := withFraming(framing, "select-client", "-addr", s.Addr)
			out, errOut, code := interopRun(t, "one\ntwo\nq\n", netprogBin, args...)
			if want := "%one\none\n%two\ntwo\n%q\n"; code != 0 || out != want || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, want)
			}
			s.WaitOutput(t, "closed the connection")
		})
	}
	t.Run("the course client to select-server", func(t *testing.T) {
		s := startServer(t, "select-server", "-addr", "127.0.0.1:0")
		c := courseStart(t, "select-echoclient.py", portOf(s.Addr))
		s.WaitOutput(t, "Got the connection from: 127.0.0.1:")
		io.WriteString(c.stdin, "one\n")
		c.waitOut(t, "%one\n%")
		io.WriteString(c.stdin, "q\n")
		c.waitOut(t, "%one\n%q\n%")
		c.stdin.Close()
		// End of input: readline gives '', which is not ' ': the client
		// sends nothing (send of b'') and blocks in recv.
		interopInRecv(t, c)
		select {
		case <-c.done:
			t.Fatalf("the course select client ended at end of input: %v\n%s", c.cmd.ProcessState, c.out)
		default:
		}
		if got := c.out.String(); got != "%one\n%q\n%" {
			t.Errorf("client printed %q, want %q", got, "%one\n%q\n%")
		}
		if strings.Contains(s.Out.String(), "closed the connection") {
			t.Errorf("the server saw the client close:\n%s", s.Out)
		}
		// Only killing it ends the conversation.
		c.cmd.Process.Signal(syscall.SIGTERM)
		s.WaitOutput(t, "closed the connection")
	})
}

// interopInRecv waits until the course client is blocked in recv (glibc's
// recv is the recvfrom system call), from /proc/PID/syscall; it skips the
// check where that file cannot be read.
func interopInRecv(t *testing.T, c *fndProc) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/syscall", c.cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("cannot read %s (%v): not checking that the client waits in recv", path, err)
			return
		}
		if f := strings.Fields(string(b)); len(f) > 0 && f[0] == strconv.Itoa(unix.SYS_RECVFROM) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the course select client is not in recvfrom after 10s: %s is %q\nstdout %q\nstderr %s", path, b, c.out, c.err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInteropQuitWait: after q a client waits at most -quit-wait (2 s) in
// all for the server to close, then closes anyway, exits 0, and says why on
// stderr. Two servers that do not close after q: one silent, one that keeps
// sending (as the course's echo server does after end of file, which no
// correct client gives it after q). Both framings. The servers check that
// the quit came as the course's servers need it: exactly "q", alone.
func TestInteropQuitWait(t *testing.T) {
	t.Parallel()
	for _, framing := range framings {
		for _, tt := range []struct {
			name, note string
			talker     bool
		}{
			{"silent", "the server kept the connection open", false},
			{"talker", "the server kept sending after q", true},
		} {
			t.Run(tt.name+" "+framing, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				release := make(chan struct{})
				defer close(release)
				quit := make(chan string, 1) // the read that was the quit
				go interopStubbornServer(ln, tt.talker, quit, release)

				args := withFraming(framing, "echo-client", "-addr", ln.Addr().String())
				out, errOut, code := interopRun(t, "hello\nq\n", netprogBin, args...)
				want := echoPrompt + "hello\nYou Send:hello\n" + echoPrompt + "q\n"
				if code != 0 || out != want {
					t.Errorf("%v: exit %d, stderr %q\nstdout %q\nwant   %q", args, code, errOut, out, want)
				}
				if !strings.Contains(errOut, tt.note) {
					t.Errorf("%v: stderr %q lacks %q", args, errOut, tt.note)
				}
				select {
				case got := <-quit:
					if got != "q" {
						t.Errorf("the server read the quit as %q, want \"q\" alone", got)
					}
				default:
					t.Errorf("the server never read a quit")
				}
			})
		}
	}
}

// interopStubbornServer answers one client like the course's echo server
// ("You Send:" and the message) until it reads a quit (a read that holds q
// or Q, sent to quit on what it read). Then it does not close: it stays
// silent (talker false) or sends "You Send:" until the client is gone.
func interopStubbornServer(ln net.Listener, talker bool, quit chan<- string, release <-chan struct{}) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		msg := buf[:n]
		if m := bytes.TrimSpace(msg); len(m) == 1 && (m[0] == 'q' || m[0] == 'Q') {
			quit <- string(msg)
			break
		}
		c.Write(append([]byte("You Send:"), msg...))
	}
	if talker {
		for {
			if _, err := c.Write([]byte("You Send:")); err != nil {
				return
			}
		}
	}
	<-release
}

// TestInteropCourseLessons shows the course programs' bugs the README
// teaches about, as they are: one recv taken as one message, and the
// servers' loops that do not notice end of file.
func TestInteropCourseLessons(t *testing.T) {
	t.Parallel()
	interopPython(t)
	dial := func(t *testing.T, port string) *net.TCPConn {
		t.Helper()
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c.(*net.TCPConn)
	}
	// readUntil reads until what came holds want n times.
	readUntil := func(t *testing.T, c net.Conn, want string, n int) string {
		t.Helper()
		var got []byte
		buf := make([]byte, 4096)
		for strings.Count(string(got), want) < n {
			m, err := c.Read(buf)
			got = append(got, buf[:m]...)
			if err != nil {
				t.Fatalf("read %q, then %v; want %d of %q", got, err, n, want)
			}
		}
		return string(got)
	}

	t.Run("one recv is one message", func(t *testing.T) {
		py, port := startCourseServer(t, "tcp-echoserver.py", "tcp", "Server is running on port 5090:\n")
		c := dial(t, port)
		// "q\n" is not "q": the quit with a newline is a message.
		c.Write([]byte("q\n"))
		if got := readUntil(t, c, "\n", 1); got != "You Send:q\n" {
			t.Errorf("q with its newline: reply %q, want %q", got, "You Send:q\n")
		}
		// Two lines in one send are one message, one reply.
		c.Write([]byte("a\nb\n"))
		if got := readUntil(t, c, "\n", 2); got != "You Send:a\nb\n" {
			t.Errorf("two lines in one send: reply %q, want %q", got, "You Send:a\nb\n")
		}
		// One message in two sends is two messages, two replies.
		c.Write([]byte("hel"))
		courseWant(t, py, "Server is running on port 5090:\nReceived the connection from: ADDR\n"+
			"Data received q\n\nData received a\nb\n\nData received hel\n")
		c.Write([]byte("lo"))
		if got := readUntil(t, c, "You Send:", 2); got != "You Send:helYou Send:lo" {
			t.Errorf("one message in two sends: replies %q, want %q", got, "You Send:helYou Send:lo")
		}
		c.Write([]byte("q"))
		if rest, err := io.ReadAll(c); len(rest) != 0 || err != nil {
			t.Errorf("after q: %q, %v; want the server's close", rest, err)
		}
		courseWant(t, py, "Server is running on port 5090:\nReceived the connection from: ADDR\n"+
			"Data received q\n\nData received a\nb\n\nData received hel\nData received lo\nClient quits:\n")
	})

	t.Run("the echo server spins on end of file", func(t *testing.T) {
		py, port := startCourseServer(t, "tcp-echoserver.py", "tcp", "Server is running on port 5090:\n")
		c := dial(t, port)
		c.Write([]byte("hello"))
		readUntil(t, c, "You Send:hello", 1)
		// Half-close: the server's recv returns b'' for ever, which is not
		// q: it prints "Data received" and sends "You Send:", again and again.
		c.CloseWrite()
		got := readUntil(t, c, "You Send:", 100)
		// Nothing but "You Send:" (the last read may end inside one).
		if rest := strings.ReplaceAll(got, "You Send:", ""); !strings.HasPrefix("You Send:", rest) {
			t.Errorf("after end of file the server sent %q besides \"You Send:\"", rest)
		}
		waitCount(t, py, "Data received \n", 10)
		// Closing with its replies unread resets the connection: the
		// server's next send fails, and the exception ends the server.
		c.Close()
		if code := py.wait(t); code != 1 || !regexp.MustCompile(`(BrokenPipe|ConnectionReset)Error`).MatchString(py.err.String()) {
			t.Errorf("the server: exit %d, stderr:\n%s", code, tail(py.err.String(), 30))
		}
	})

	t.Run("the fork server's parent holds every connection open", func(t *testing.T) {
		py, port := startCourseServer(t, "fork-echoserver.py", "tcp", "The server is listening on port 50007\n")
		a := dial(t, port)
		a.Write([]byte("hello"))
		readUntil(t, a, "you send:hello", 1)
		// The child closes its socket at q and exits; the parent never
		// closed its copy of it, which goes (and the connection ends) only
		// when the next accept rebinds the variable that held it.
		a.Write([]byte("q"))
		// The child exits; its parent reaps it only when the next client
		// connects: until then it is a zombie (and the parent holds the
		// connection open).
		var zs []int
		e2e.Until(t, e2e.Wait, func() bool { zs = e2e.Zombies(py.cmd.Process.Pid); return len(zs) == 1 },
			func() string { return fmt.Sprintf("the child that served q is not a zombie of the parent: %v", zs) })
		dial(t, port)
		if rest, err := io.ReadAll(a); len(rest) != 0 || err != nil {
			t.Errorf("after q and the next client's connect: %q, %v; want end of file", rest, err)
		}
		courseWant(t, py, fmt.Sprintf("The server is listening on port 50007\nReaped Child Process: %d\n", zs[0]))
	})

	t.Run("the thread server spins on end of file", func(t *testing.T) {
		py, port := startCourseServer(t, "thread-echoserver.py", "tcp", "Waiting for connection on port 5200:\n")
		c := dial(t, port)
		c.Write([]byte("hi"))
		readUntil(t, c, "hi", 1)
		c.Close()
		// recv gives b'' for ever: the thread prints and sends nothing
		// (send of b'' sends nothing, so never fails), without end.
		waitCount(t, py, "', "+portOf(c.LocalAddr().String())+") send:  \n", 10)
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", py.cmd.Process.Pid)); err != nil {
			t.Errorf("the thread server is gone: %v", err)
		}
	})
}

// TestInteropInputEndsWithoutQ: when the user's input ends without q, the
// echo clients quit as if q had been typed. End of file alone would be
// enough for netprog's servers, but the course's echo server, reading it,
// would spin sending "You Send:" and die of a broken pipe once the client
// had gone ("the echo server spins on end of file" above).
func TestInteropInputEndsWithoutQ(t *testing.T) {
	t.Parallel()
	interopPython(t)
	for _, framing := range framings {
		t.Run(framing, func(t *testing.T) {
			py, port := startCourseServer(t, "tcp-echoserver.py", "tcp", "Server is running on port 5090:\n")
			args := withFraming(framing, "echo-client", "-port", port)
			out, errOut, code := interopRun(t, "hello\n", netprogBin, args...)
			if code != 0 || errOut != "" || !strings.Contains(out, "You Send:hello\n") {
				t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errOut, out)
			}
			nl := "\n"
			if framing == "-course" {
				nl = ""
			}
			courseWant(t, py, "Server is running on port 5090:\nReceived the connection from: ADDR\n"+
				"Data received hello"+nl+"\nClient quits:\n")
			select {
			case <-py.done:
				t.Errorf("the course server died:\n%s", tail(py.err.String(), 10))
			default:
			}
		})
	}
}

// TestChatClientQuitWait: chat-client, quitting, waits for the server to
// close as the echo clients do: at most the quit wait (2 s) in all, then it
// closes, exits 0 and says the server kept the connection open.
func TestChatClientQuitWait(t *testing.T) {
	t.Parallel()
	quit := make(chan string, 1)
	release := make(chan struct{})
	defer close(release)
	addr := serveOnce(t, func(c net.Conn) {
		io.WriteString(c, "hi\n")
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		quit <- string(buf[:n])
		<-release // the connection stays open: no close after q
	})
	start := time.Now()
	out, errOut, code := runNetprog(t, "q\n", "chat-client", "-addr", addr)
	took := time.Since(start)
	if got := <-quit; got != "q" {
		t.Errorf("the server read %q, want the quit alone: \"q\"", got)
	}
	if code != 0 || !strings.Contains(errOut, "the server kept the connection open") || !strings.Contains(out, "RECIEVED: hi\n") {
		t.Errorf("exit %d after %v, stdout %q, stderr %q", code, took, out, errOut)
	}
}
