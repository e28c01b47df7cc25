package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"netprog/clients/probe"
)

// `netprog check` given what it should not be: bad command lines, no
// server, a server of another protocol, one that answers garbage, one
// that never answers, one that never closes. Each is a one-line error or
// a clear finding, never a hang. And the card itself: -pid, text, colour
// and progress on a terminal.

// TestCheckUsage: every mistake is one line on stderr, exit 2, nothing on
// stdout.
func TestCheckUsage(t *testing.T) {
	t.Parallel()
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "missing PROGRAM and ADDRESS"},
		{[]string{"nosuch", "127.0.0.1:1"}, `unexpected argument "nosuch": PROGRAM is one of greet-server, echo-server`},
		{[]string{"echo-server"}, "missing ADDRESS after echo-server"},
		{[]string{"echo-server", "127.0.0.1:1", "extra"}, `unexpected argument "extra"`},
		{[]string{"echo-server", "127.0.0.1"}, "want host:port"},
		{[]string{"echo-server", "127.0.0.1:0"}, "want a port"},
		{[]string{"echo-server", "127.0.0.1:99999"}, "port 99999 out of range"},
		{[]string{"echo-server", "127.0.0.1:{port}"}, "{port} is for -- COMMAND"},
		{[]string{"echo-server", "127.0.0.1:1", "--"}, "nothing after --"},
		{[]string{"echo-server", "127.0.0.1:{port}", "--", "sleep", "9"}, "the command no {port}"},
		{[]string{"-pid", "-3", "echo-server", "127.0.0.1:1"}, "-pid -3: want a process id"},
		{[]string{"-pid", "2147483647", "echo-server", "127.0.0.1:1"}, "-pid 2147483647: no such process"},
		{[]string{"echo-server", "-pid", self, "127.0.0.1:1"}, "-pid " + self + ": no process of it listens on port 1"},
		{[]string{"-pid", self, "echo-server", "127.0.0.1:{port}", "--", "x", "{port}"}, "-pid and -- COMMAND exclude each other"},
		{[]string{"-probes", "reply,nosuch", "echo-server", "127.0.0.1:1"}, `-probes: no probe "nosuch"`},
		{[]string{"-prefix", "x", "greet-server", "127.0.0.1:1"}, "-prefix and -quit are for the echo servers"},
		{[]string{"udp-server", "unix:/tmp/x.sock"}, "not a unix socket"},
		{[]string{"echo-server", "127.0.0.1:1", "-nosuch"}, "flag provided but not defined: -nosuch"},
		// The command fails: what it said is in the line.
		{[]string{"echo-server", "127.0.0.1:{port}", "--", "sh", "-c", "echo broken >&2; exit 3", "{port}"},
			`starting the server: the server exited before it listened on port`},
		{[]string{"echo-server", "127.0.0.1:{port}", "--", "/nonexistent/server", "{port}"}, "starting the server: start /nonexistent/server"},
	} {
		out, errOut, code := runNetprog(t, "", append([]string{"check"}, tc.args...)...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(errOut, "netprog check: ") || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("netprog check %q: exit %d, stdout %q\nstderr %q\nwant exit 2 and one line with %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestCheckNoServer: nothing listens (a port that was free a moment ago):
// one line, exit 2, for each kind of protocol.
func TestCheckNoServer(t *testing.T) {
	t.Parallel()
	tcp, udp := interopFreePort(t, "tcp"), interopFreePort(t, "udp")
	for _, tc := range []struct{ program, port string }{
		{"echo-server", tcp}, {"greet-server", tcp}, {"chat-server", tcp}, {"udp-server", udp},
	} {
		out, errOut, code := runNetprog(t, "", "check", tc.program, "127.0.0.1:"+tc.port)
		want := "netprog check: no server answers at 127.0.0.1:" + tc.port
		if code != 2 || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("check %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.program, code, out, errOut, want)
		}
	}
}

// badServer is a TCP server of the test's own making: serve runs for each
// connection, which is closed when serve returns or the test ends.
func badServer(t *testing.T, serve func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				go func() { <-done; c.Close() }()
				serve(c, done)
				c.Close()
			})
		}
	})
	return ln.Addr().String()
}

// TestCheckBadServers: servers that answer garbage, never answer, or
// never close; a server of another protocol; a UDP server that never
// answers. Each gets its finding (the rest SKIP where the protocol was not
// spoken), and check ends well within its bound.
func TestCheckBadServers(t *testing.T) {
	t.Parallel()
	garbage := badServer(t, func(c net.Conn, _ <-chan struct{}) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			c.Write([]byte("\x00\xff garbage\r\n"))
		}
	})
	silent := badServer(t, func(c net.Conn, done <-chan struct{}) {
		go io.Copy(io.Discard, c)
		<-done
	})
	// The echo-server protocol, lines as netprog frames them, except that
	// it never closes: after q it says nothing more, at end of file it
	// waits (without spinning) for the test to end.
	neverCloses := badServer(t, func(c net.Conn, done <-chan struct{}) {
		buf := make([]byte, 64<<10)
		quit := false
		for {
			n, err := c.Read(buf)
			if err != nil {
				<-done
				return
			}
			in := buf[:n]
			for len(in) > 0 && !quit {
				msg := in
				if i := bytes.IndexByte(in, '\n'); i >= 0 {
					msg = in[:i+1]
				}
				in = in[len(msg):]
				if m := strings.TrimRight(string(msg), "\r\n"); m == "q" || m == "Q" {
					quit = true
					break
				}
				if _, err := c.Write(append([]byte("You Send:"), msg...)); err != nil {
					return
				}
			}
		}
	})
	greet := startServer(t, "greet-server", "-host", "127.0.0.1", "-port", "0")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go io.Copy(io.Discard, readerOf(pc))

	echoSkips := []string{"quit/q", "quit/crlf", "framing/two-in-one", "framing/pieces", "framing/long",
		"concurrency", "sequential", "slow-reader", "reset", "restart", "quit/eof"}
	for _, tc := range []struct {
		name, program, addr string
		fact                *regexp.Regexp // of the first finding
		findings, skips     []string
	}{
		{"garbage", "echo-server", garbage, regexp.MustCompile(`^"hello\\n" answered "\\x00\\xff garbage\\r\\n", want "You Send:hello\\n": not this protocol`),
			[]string{"reply"}, echoSkips},
		{"silent", "echo-server", silent, regexp.MustCompile(`^"hello\\n": "" in 5s, want "You Send:hello\\n"`),
			[]string{"reply"}, echoSkips},
		{"another protocol", "echo-server", greet.Addr, regexp.MustCompile(`^"hello\\n" answered "Thank you for Connecting \\n"`),
			[]string{"reply"}, echoSkips},
		{"never closes", "echo-server", neverCloses, regexp.MustCompile(`^the connection stayed open 3s after q: no reply, no close$`),
			[]string{"quit/q", "quit/eof"}, []string{"restart"}},
		{"udp silent", "udp-server", pc.LocalAddr().String(), regexp.MustCompile(`^no reply to "hello" in 3s`),
			[]string{"reply"}, []string{"sequential", "udp/large", "udp/sender"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCheckCmd(t, tc.program, tc.addr)
			if r.code != 1 || !slices.Equal(r.findings, tc.findings) || !slices.Equal(r.skips, tc.skips) {
				t.Fatalf("exit %d (want 1), findings %q (want %q), skips %q (want %q):\n%s", r.code, r.findings, tc.findings, r.skips, tc.skips, r.card())
			}
			for _, res := range r.doc.Results {
				if res.Status == probe.Finding {
					if !tc.fact.MatchString(res.Fact) {
						t.Errorf("%s: %q, want /%s/", res.Probe, res.Fact, tc.fact)
					}
					break
				}
			}
			t.Logf("%s: %v", tc.name, r.took.Round(100*time.Millisecond))
		})
	}
}

// readerOf reads a packet conn's datagrams, for io.Copy to drop them.
func readerOf(pc net.PacketConn) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		n, _, err := pc.ReadFrom(p)
		return n, err
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestCheckWatchPid: check -pid, on a netprog server and on one of the
// notes' (the thread server, which spins at end of file: seen by its CPU
// time in /proc, not on the wire, where it sends nothing). Without --
// there is no restart; the rest is as the table has it.
func TestCheckWatchPid(t *testing.T) {
	t.Parallel()
	t.Run("epoll", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "echo-server", "-model", "epoll", "-host", "127.0.0.1", "-port", "0", "-q")
		r := runCheckCmd(t, "-pid", strconv.Itoa(s.Cmd.Process.Pid), "echo-server", s.Addr)
		if r.code != 0 || len(r.findings) > 0 || !slices.Equal(r.skips, []string{"restart"}) {
			t.Fatalf("exit %d, findings %q, skips %q:\n%s", r.code, r.findings, r.skips, r.card())
		}
		for _, res := range r.doc.Results {
			if res.Probe == "slow-reader" && res.Figures["rss_after"] == 0 {
				t.Errorf("slow-reader did not measure the server's memory: %v", res.Figures)
			}
			if res.Probe == "sequential" && !strings.Contains(res.Fact, "descriptors") {
				t.Errorf("sequential did not count the server's descriptors: %s", res.Fact)
			}
		}
		if !strings.HasPrefix(r.doc.Server, "pid ") {
			t.Errorf("the card does not name the watched pid: %q", r.doc.Server)
		}
	})
	t.Run("thread-echoserver.py", func(t *testing.T) {
		interopPython(t)
		t.Parallel()
		py, port := startCourseServer(t, "thread-echoserver.py", "tcp", "Waiting for connection on port 5200:\n")
		r := runCheckCmd(t, "-pid", strconv.Itoa(py.cmd.Process.Pid), "thread-server", "127.0.0.1:"+port)
		want := []string{"quit/crlf", "framing/two-in-one", "quit/eof"}
		if r.code != 1 || !slices.Equal(r.findings, want) || !slices.Equal(r.skips, []string{"framing/pieces", "restart"}) {
			t.Fatalf("exit %d, findings %q (want %q), skips %q:\n%s", r.code, r.findings, want, r.skips, r.card())
		}
		eof := r.doc.Results[len(r.doc.Results)-1]
		if !strings.Contains(eof.Fact, "it spins on the empty read") {
			t.Errorf("quit/eof: %q; want the spin seen in the server's CPU time", eof.Fact)
		}
	})
}

// TestCheckCard: the text card, as a script sees it (no colour, no
// progress line: standard output and error are pipes), and as a person
// does, on a terminal (script(1) gives check one): PASS in green, a
// progress line on standard error.
func TestCheckCard(t *testing.T) {
	t.Parallel()
	s := startServer(t, "echo-server", "-model", "epoll", "-host", "127.0.0.1", "-port", "0", "-q")
	args := []string{"check", "-probes", "framing/two-in-one,concurrency", "echo-server", s.Addr}
	out, errOut, code := runNetprog(t, "", args...)
	want := regexp.MustCompile(`^netprog check echo-server ` + regexp.QuoteMeta(s.Addr) + `: "You Send:" and the message; q quits
server: not watched \(-pid or -- to watch it in /proc\)

PASS     reply               "hello\\n" answered "You Send:hello\\n"
PASS     framing/two-in-one  2 lines in one segment, 2 replies
PASS     concurrency         7 of 7 clients answered in \S+ while a slow one
                             stayed connected

3 passed, 0 findings, 0 skipped in \S+
$`)
	if code != 0 || errOut != "" || !want.MatchString(out) {
		t.Errorf("exit %d, stderr %q, card:\n%s", code, errOut, out)
	}
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is not installed: no terminal to try the colours on")
	}
	cmd := exec.Command("script", "-qfec", strings.Join(append([]string{netprogBin}, args...), " "), "/dev/null")
	var tty bytes.Buffer
	cmd.Stdout = &tty
	if err := cmd.Run(); err != nil {
		t.Fatalf("script: %v\n%q", err, tty.String())
	}
	for _, w := range []string{"\033[32mPASS     \033[0m", "\r\033[Knetprog check: concurrency (3/3)...", "\033[1m3 passed, 0 findings, 0 skipped"} {
		if !strings.Contains(tty.String(), w) {
			t.Errorf("on a terminal the card lacks %q:\n%q", w, tty.String())
		}
	}
}
