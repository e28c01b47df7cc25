package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests of the course's first programs (issue 2): greet, the echo
// clients, UDP, chat, hostname and ports, their error cases, and the --trace
// output of one exchange of each against a golden file in testdata/trace/.
// Every program is the built binary; independent peers are package net.

var fndUpdate = flag.Bool("update-trace-golden", false, "rewrite testdata/trace/*.golden from this run")

func TestGreet(t *testing.T) {
	t.Parallel()
	s := startServer(t, "greet-server", "-port", "0")
	for i := 0; i < 2; i++ { // the server goes on after each client
		out, errOut, code := runNetprog(t, "", "greet-client", "-addr", s.Addr)
		if code != 0 || out != "Received data: Thank you for Connecting \n" {
			t.Fatalf("greet-client: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	}
	// telnet's view: everything until the server closes is the greeting.
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil || string(all) != "Thank you for Connecting \n" {
		t.Errorf("raw client read %q, %v", all, err)
	}
	s.WaitOutput(t, "Got the connection from "+c.LocalAddr().String())
	if n := strings.Count(s.Out.String(), "Got the connection from 127.0.0.1:"); n != 3 {
		t.Errorf("server logged %d connections, want 3:\n%s", n, s.Out)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("greet-server after SIGINT: %v", err)
	}
	if !strings.Contains(s.Out.String(), "served 3 connections") {
		t.Errorf("no summary:\n%s", s.Out)
	}
}

// TestAddressFamilies: the same programs over IPv6 (-6: localhost is ::1)
// and over an AF_UNIX stream socket.
func TestAddressFamilies(t *testing.T) {
	t.Parallel()
	sock := "unix:" + filepath.Join(t.TempDir(), "greet.sock")
	tests := []struct {
		server, client []string
		stdin, want    string
	}{
		{[]string{"greet-server", "-6", "-port", "0"}, []string{"greet-client", "-6"},
			"", "Received data: Thank you for Connecting \n"},
		{[]string{"greet-server", "-addr", sock}, []string{"greet-client", "-addr", sock},
			"", "Received data: Thank you for Connecting \n"},
		{[]string{"udp-server", "-6", "-port", "0"}, []string{"udp-client", "-6", "-timeout", "10s"},
			"hi\nq\n", "Type Something(q or Q to exit:)hi\nReceived: hi\nType Something(q or Q to exit:)q\n"},
		{[]string{"echo-server", "-addr", "[::1]:0"}, []string{"echo-client", "-prompt", ""},
			"hi\nq\n", "hi\nYou Send:hi\nq\n"},
	}
	for _, tt := range tests {
		s := startServer(t, tt.server...)
		args := tt.client
		switch {
		case strings.HasPrefix(s.Addr, "[::1]:"):
			args = append(args, "-addr", s.Addr)
		case s.Addr != sock:
			t.Errorf("%v listens on %s, want [::1] or %s", tt.server, s.Addr, sock)
		}
		out, errOut, code := runNetprog(t, tt.stdin, args...)
		if code != 0 || out != tt.want {
			t.Errorf("%v against %s: exit %d, stderr %q\nstdout %q\nwant   %q", args, s.Addr, code, errOut, out, tt.want)
		}
		s.Stop(t)
	}
}

// TestEchoClients runs each client preset against echo-server dressed as the
// course server it belongs to (same reply prefix), with scripted input.
func TestEchoClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		client, prefix, stdin, want, serverSays string
	}{
		{"echo-client", "You Send:", "hello\nworld\nq\n",
			"Enter data to send to server: press q or Q to quit:\nhello\nYou Send:hello\n" +
				"Enter data to send to server: press q or Q to quit:\nworld\nYou Send:world\n" +
				"Enter data to send to server: press q or Q to quit:\nq\n",
			"Client quits:"},
		{"fork-client", "you send:", "a b\r\nQ\n",
			"Enter q or Q to quits:\n>a b\nyou send:a b\n>Q\n", "Client quits:"},
		{"select-client", "", "one\n\n",
			"%one\none\n%\n", "closed the connection"},
		{"thread-client", "", "hi\nq\n",
			"Enter data to send:hi\nReceived data: hi\nEnter data to send:q\n", "Client quits:"},
		// End of input without q: the client quits as if q had been typed
		// (a course server reading end of file would spin).
		{"echo-client", "You Send:", "last words\n",
			"Enter data to send to server: press q or Q to quit:\nlast words\nYou Send:last words\n" +
				"Enter data to send to server: press q or Q to quit:\n",
			"Client quits:"},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			s := startServer(t, "echo-server", "-port", "0", "-prefix", tt.prefix)
			out, errOut, code := runNetprog(t, tt.stdin, tt.client, "-addr", s.Addr)
			if code != 0 || out != tt.want {
				t.Errorf("%s: exit %d, stderr %q\nstdout %q\nwant   %q", tt.client, code, errOut, out, tt.want)
			}
			s.WaitOutput(t, tt.serverSays)
		})
	}
}

// TestEchoClientReplyFraming: a reply is read by the message rule, never as
// "what one read returned": a reply split across two sends is printed once,
// whole; a reply without a newline is printed after the quiet period.
func TestEchoClientReplyFraming(t *testing.T) {
	t.Parallel()
	addr := serveOnce(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		r.ReadString('\n')
		c.Write([]byte("You Se"))
		time.Sleep(5 * time.Millisecond)
		c.Write([]byte("nd:split\n"))
		r.ReadString('\n')
		c.Write([]byte("no newline"))
		r.ReadString('\n') // q
	})
	out, errOut, code := runNetprog(t, "split\nbare\nq\n", "echo-client", "-addr", addr,
		"-prompt", "> ", "-quiet", "3s")
	want := "> split\nYou Send:split\n> bare\nno newline\n> q\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
	}
}

func TestUDP(t *testing.T) {
	t.Parallel()
	s := startServer(t, "udp-server", "-port", "0")
	out, errOut, code := runNetprog(t, "hello\nworld\nq\n", "udp-client", "-addr", s.Addr, "-timeout", "10s")
	want := "Type Something(q or Q to exit:)hello\nReceived: hello\n" +
		"Type Something(q or Q to exit:)world\nReceived: world\nType Something(q or Q to exit:)q\n"
	if code != 0 || out != want {
		t.Errorf("udp-client: exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
	}
	s.WaitOutput(t, " :said world\n")
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1:\d+ :said hello$`).MatchString(s.Out.String()) {
		t.Errorf("server log lacks ADDR :said hello:\n%s", s.Out)
	}

	c, err := net.Dial("udp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)

	// An empty datagram is a message too (UDP has no end of file).
	c.Write(nil)
	if n, err := c.Read(buf); n != 0 || err != nil {
		t.Errorf("empty datagram: got %d bytes back, %v", n, err)
	}
	// Longer than the course's recvfrom(512): cut, and the server says so.
	c.Write([]byte(strings.Repeat("x", 1000)))
	if n, err := c.Read(buf); n != 512 || err != nil {
		t.Errorf("1000-byte datagram: got %d bytes back, %v; want the 512 the server kept", n, err)
	}
	s.WaitOutput(t, "had 1000 bytes; the 512-byte buffer kept 512")
	s.Stop(t)
	if !strings.Contains(s.Out.String(), "received 4 datagrams (1 truncated)") {
		t.Errorf("summary:\n%s", s.Out)
	}
}

// TestUDPClientLoss: a server that never answers makes the client time out
// (SO_RCVTIMEO), say so, go on, and exit 1 with no reply at all; a reply
// that comes after its timeout is shown as late, not as the next answer.
func TestUDPClientLoss(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().String()

	t.Run("no reply", func(t *testing.T) {
		out, errOut, code := runNetprog(t, "hello\nq\n", "udp-client", "-addr", addr, "-timeout", "200ms")
		wantOut := "Type Something(q or Q to exit:)hello\nNo reply from " + addr +
			" within 200ms: the datagram or its echo was lost, or nothing listens there (UDP does not tell)\n" +
			"Type Something(q or Q to exit:)q\n"
		wantErr := "netprog udp-client: no reply from " + addr + " to the datagram sent\n"
		if code != 1 || out != wantOut || errOut != wantErr {
			t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", code, out, wantOut, errOut, wantErr)
		}
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		if n, _, err := pc.ReadFrom(buf); err != nil || string(buf[:n]) != "hello" {
			t.Errorf("the datagram sent was %q, %v; want hello, without newline", buf[:n], err)
		}
	})

	t.Run("late reply", func(t *testing.T) {
		go func() {
			// Echo both, but only once "two" came: the client sends it
			// after giving up on "one", so "one" is late for sure.
			var got [2][]byte
			var from net.Addr
			for i := range got {
				buf := make([]byte, 64)
				pc.SetReadDeadline(time.Now().Add(20 * time.Second))
				n, addr, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				got[i], from = buf[:n], addr
			}
			for _, d := range got {
				pc.WriteTo(d, from)
			}
		}()
		out, _, code := runNetprog(t, "one\ntwo\nq\n", "udp-client", "-addr", addr, "-timeout", "2s")
		want := regexp.MustCompile(`^Type Something\(q or Q to exit:\)one\nNo reply from [^\n]*\n` +
			`Type Something\(q or Q to exit:\)two\nReceived late \(from ` + regexp.QuoteMeta(addr) + `\): one\nReceived: two\n` +
			`Type Something\(q or Q to exit:\)q\n$`)
		if code != 0 || !want.MatchString(out) {
			t.Errorf("exit %d, stdout:\n%s", code, out)
		}
	})
}

// TestChat holds turn-taking conversations: the server speaks first; q from
// either side ends the conversation on both; the server then accepts the
// next client; a client that just closes, and the end of the server's own
// input, end things cleanly too.
func TestChat(t *testing.T) {
	t.Parallel()
	const prompt = "SEND( TYPE q or Q to Quit):"
	t.Run("server quits", func(t *testing.T) {
		s := startServer(t, "chat-server", "-port", "0")
		io.WriteString(s.Stdin, "hi\nq\n")
		out, errOut, code := runNetprog(t, "hello\n", "chat-client", "-addr", s.Addr)
		want := "RECIEVED: hi\n" + prompt + "hello\nI received q\n"
		if code != 0 || out != want {
			t.Errorf("client: exit %d, stderr %q\nstdout %q\nwant   %q", code, errOut, out, want)
		}
		s.WaitOutput(t, prompt+"hi\nRECIEVED: hello\n"+prompt+"q\n")
	})
	t.Run("client quits, server goes on", func(t *testing.T) {
		s := startServer(t, "chat-server", "-port", "0")
		io.WriteString(s.Stdin, "hi\n")
		out, _, code := runNetprog(t, "q\n", "chat-client", "-addr", s.Addr)
		if want := "RECIEVED: hi\n" + prompt + "q\n"; code != 0 || out != want {
			t.Errorf("client 1: exit %d, stdout %q, want %q", code, out, want)
		}
		s.WaitOutput(t, "I received q\n")
		io.WriteString(s.Stdin, "again\n")
		out, _, code = runNetprog(t, "Q\n", "chat-client", "-addr", s.Addr)
		if want := "RECIEVED: again\n" + prompt + "Q\n"; code != 0 || out != want {
			t.Errorf("client 2: exit %d, stdout %q, want %q", code, out, want)
		}
		s.WaitOutput(t, "I received Q\n")
	})
	t.Run("peer closes without q", func(t *testing.T) {
		s := startServer(t, "chat-server", "-port", "0")
		io.WriteString(s.Stdin, "hi\n")
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if line != "hi\n" || err != nil {
			t.Fatalf("read %q, %v", line, err)
		}
		c.Close()
		s.WaitOutput(t, c.LocalAddr().String()+" closed the connection\n")
	})
	t.Run("peer hangs up while the server types", func(t *testing.T) {
		s := startServer(t, "chat-server", "-port", "0")
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		s.WaitOutput(t, "I got a connection from")
		c.Close() // the server is in poll(stdin, socket POLLRDHUP): it must notice
		s.WaitOutput(t, c.LocalAddr().String()+" closed the connection\n")
	})
	t.Run("server input ends", func(t *testing.T) {
		s := startServer(t, "chat-server", "-port", "0")
		s.Stdin.Close()
		out, _, code := runNetprog(t, "", "chat-client", "-addr", s.Addr)
		if code != 0 || out != "I received q\n" {
			t.Errorf("client: exit %d, stdout %q", code, out)
		}
		select { // with no one left to type, the server ends by itself
		case <-s.Done():
			if s.Status() != nil {
				t.Errorf("server: %v", s.Status())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("server still running after its input ended:\n%s", s.Out)
		}
	})
}

// TestChatDuplex: both sides type freely; one poll(2) on stdin and the socket.
func TestChatDuplex(t *testing.T) {
	t.Parallel()
	s := startServer(t, "chat-server", "-duplex", "-port", "0")
	c := fndStart(t, "--trace", "chat-client", "-duplex", "-addr", s.Addr)
	s.WaitOutput(t, "I got a connection from")

	io.WriteString(c.stdin, "c1\n")
	s.WaitOutput(t, "RECIEVED: c1\n")
	io.WriteString(c.stdin, "c2\n") // the client speaks twice in a row: no turns
	s.WaitOutput(t, "RECIEVED: c2\n")
	io.WriteString(s.Stdin, "s1\n")
	c.waitOut(t, "RECIEVED: s1\n")
	io.WriteString(s.Stdin, "s2\n")
	c.waitOut(t, "RECIEVED: s2\n")
	io.WriteString(c.stdin, "q\n")
	if code := c.wait(t); code != 0 {
		t.Errorf("client exit %d; stderr:\n%s", code, c.err)
	}
	s.WaitOutput(t, "I received q\n")
	if !regexp.MustCompile(`poll\(\[\{fd=0, events=POLLIN\}, \{fd=\d+, events=POLLIN\}\], 2, -1\)`).MatchString(c.err.String()) {
		t.Errorf("client trace shows no poll on stdin and the socket:\n%s", c.err)
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	out, _, code := runNetprog(t, "", "hostname")
	if want := unix.ByteSliceToString(u.Nodename[:]) + "\n"; code != 0 || out != want {
		t.Errorf("hostname: exit %d, %q, want %q", code, out, want)
	}
	out, _, code = runNetprog(t, "", "hostname", "-a")
	if want := unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Nodename[:]) + " " +
		unix.ByteSliceToString(u.Release[:]) + " "; code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("hostname -a: exit %d, %q, want it to start %q", code, out, want)
	}
}

func TestPorts(t *testing.T) {
	t.Parallel()
	lo, hi, start := fndPortSysctls(t)
	out, errOut, code := runNetprog(t, "", "ports")
	if code != 0 {
		t.Fatalf("ports: exit %d, %s", code, errOut)
	}
	for _, want := range []string{
		"0-1023       well-known", "1024-49151   registered", "49152-65535  dynamic",
		fmt.Sprintf("ephemeral ports     %d-%d (net.ipv4.ip_local_port_range)", lo, hi),
		fmt.Sprintf("privileged ports    below %d (net.ipv4.ip_unprivileged_port_start)", start),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ports output lacks %q:\n%s", want, out)
		}
	}
	if start > 1 && !strings.Contains(out, fmt.Sprintf("this process may bind below %d: yes", start)) {
		t.Errorf("as root, ports should find it may bind below %d:\n%s", start, out)
	}
	m := regexp.MustCompile(`127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+: connect gave the socket port (\d+) \(getsockname\), inside the ephemeral range`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] {
		t.Fatalf("ports output lacks the connect line:\n%s", out)
	}
	if p, _ := strconv.Atoi(m[1]); p < lo || p > hi {
		t.Errorf("ephemeral port %d outside %d-%d", p, lo, hi)
	}
}

func fndPortSysctls(t *testing.T) (lo, hi, start int) {
	t.Helper()
	r, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(r), &lo, &hi); err != nil {
		t.Fatal(err)
	}
	s, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Fatal(err)
	}
	start, _ = strconv.Atoi(strings.TrimSpace(string(s)))
	return lo, hi, start
}

// TestFoundationErrors: each failure the course teaches is one line on
// stderr with the documented exit status.
func TestFoundationErrors(t *testing.T) {
	t.Parallel()
	tcpBusy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpBusy.Close()
	udpBusy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udpBusy.Close()
	refusing := fndRefusingPort(t)
	tcpPort := strconv.Itoa(tcpBusy.Addr().(*net.TCPAddr).Port)
	udpPort := strconv.Itoa(udpBusy.LocalAddr().(*net.UDPAddr).Port)

	tests := []struct {
		args    []string
		wantErr string
		code    int
	}{
		{[]string{"echo-server", "-port", tcpPort}, "netprog echo-server: bind 127.0.0.1:" + tcpPort + ": address already in use\n", 2},
		{[]string{"greet-server", "-port", tcpPort}, "netprog greet-server: bind 127.0.0.1:" + tcpPort + ": address already in use\n", 2},
		{[]string{"chat-server", "-port", tcpPort}, "netprog chat-server: bind 127.0.0.1:" + tcpPort + ": address already in use\n", 2},
		{[]string{"udp-server", "-port", udpPort}, "netprog udp-server: bind 127.0.0.1:" + udpPort + ": address already in use\n", 2},
		{[]string{"greet-client", "-port", refusing}, "netprog greet-client: connect 127.0.0.1:" + refusing + ": connection refused\n", 1},
		{[]string{"echo-client", "-port", refusing}, "netprog echo-client: connect 127.0.0.1:" + refusing + ": connection refused\n", 1},
		{[]string{"thread-client", "-port", refusing}, "netprog thread-client: connect 127.0.0.1:" + refusing + ": connection refused\n", 1},
		{[]string{"chat-client", "-port", refusing}, "netprog chat-client: connect 127.0.0.1:" + refusing + ": connection refused\n", 1},
		{[]string{"echo-client", "-port", "70000"}, "netprog echo-client: port 70000 out of range 0-65535 (netprog echo-client -h for usage)\n", 2},
		{[]string{"udp-client", "-addr", "abc"}, `netprog udp-client: address "abc": want host:port, [ipv6]:port or unix:/path (netprog udp-client -h for usage)` + "\n", 2},
		{[]string{"greet-client", "-addr", "localhost:abc"}, `netprog greet-client: address "localhost:abc": port "abc" is not a number (netprog greet-client -h for usage)` + "\n", 2},
		{[]string{"udp-client", "-timeout", "0s"}, "netprog udp-client: -timeout must be at least 1ms (netprog udp-client -h for usage)\n", 2},
		{[]string{"hostname", "extra"}, `netprog hostname: unexpected argument "extra" (netprog hostname -h for usage)` + "\n", 2},
	}
	for _, tt := range tests {
		out, errOut, code := runNetprog(t, "", tt.args...)
		if code != tt.code || errOut != tt.wantErr || out != "" {
			t.Errorf("netprog %s: exit %d, stdout %q\nstderr %q\nwant   %q (exit %d)",
				strings.Join(tt.args, " "), code, out, errOut, tt.wantErr, tt.code)
		}
	}
}

// fndRefusingPort returns a port on 127.0.0.1 that refuses connections and
// stays so for the test: a socket bound there but not listening holds it.
func fndRefusingPort(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(sa.(*unix.SockaddrInet4).Port)
}

// TestServerClosedConnection: a server that closes without answering is a
// peer failure: exit 1, one line.
func TestServerClosedConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	tests := []struct {
		args    []string
		stdin   string
		wantErr string
	}{
		{[]string{"echo-client", "-addr", addr}, "hello\n", "netprog echo-client: " + addr + ": the server closed the connection\n"},
		{[]string{"greet-client", "-addr", addr}, "", "netprog greet-client: " + addr + ": the server closed the connection before it said anything\n"},
	}
	for _, tt := range tests {
		_, errOut, code := runNetprog(t, tt.stdin, tt.args...)
		if code != 1 || errOut != tt.wantErr {
			t.Errorf("%v: exit %d, stderr %q, want %q (exit 1)", tt.args, code, errOut, tt.wantErr)
		}
	}
}

// TestUnresolvableName runs the client in network and mount namespaces of
// its own, where the host table is the only source of names (hosts: files):
// the name cannot be found, and no query can leave the machine.
func TestUnresolvableName(t *testing.T) {
	t.Parallel()
	stderr, code := runUnresolvable(t, "echo-client", "-host", "nosuch.invalid")
	if want := "netprog echo-client: resolve nosuch.invalid: name or service not known\n"; code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want %q (exit 2)", code, stderr, want)
	}
}

// runUnresolvable runs netprog with args in network and mount namespaces of
// its own whose host table is the only source of names, so that a lookup
// fails without a query leaving the machine; it skips where that cannot be
// made. It returns the stderr and exit status.
func runUnresolvable(t *testing.T, args ...string) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is not installed (util-linux)")
	}
	nss := filepath.Join(t.TempDir(), "nsswitch.conf")
	if err := os.WriteFile(nss, []byte("hosts: files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/etc/nsswitch.conf"); err != nil {
		t.Skip("no /etc/nsswitch.conf to replace in the namespace")
	}
	probe := exec.Command("unshare", "--net", "--mount", "sh", "-c", `mount --bind "$1" /etc/nsswitch.conf`, "sh", nss)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot make network and mount namespaces here (need root): %v %s", err, out)
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--mount", "sh", "-c",
		`mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"`, "sh", nss, netprogBin}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return stderr.String(), code
}

// TestPrivilegedPort binds below ip_unprivileged_port_start as user nobody
// (setpriv drops root): permission denied, exit 2.
func TestPrivilegedPort(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"echo-server", "greet-server"} {
		stderr, code := runAsNobody(t, server, "-port", "80")
		if want := "netprog " + server + ": bind 127.0.0.1:80: permission denied\n"; code != 2 || stderr != want {
			t.Errorf("%s as nobody: exit %d, stderr %q; want %q (exit 2)", server, code, stderr, want)
		}
	}
}

// runAsNobody runs netprog with args as user nobody, with no capabilities,
// where port 80 is privileged (it skips elsewhere, and where it cannot
// switch users); it returns the stderr and exit status.
func runAsNobody(t *testing.T, args ...string) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to become another user with setpriv")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv(1) is not installed (util-linux)")
	}
	if _, _, start := fndPortSysctls(t); start <= 80 {
		t.Skipf("ip_unprivileged_port_start is %d: port 80 is not privileged here", start)
	}
	// nobody must be able to reach the binary: a directory of its own, 0755,
	// right in /tmp (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "netprog-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "netprog")
	data, err := os.ReadFile(netprogBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return stderr.String(), code
}

// TestServersSeeEndOfFile: a client that connects and closes at once is an
// empty read, the end of that conversation, and the server goes on.
func TestServersSeeEndOfFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		server string
		says   string // the log line, with %s for the client's address
	}{
		{"echo-server", "Client %s closed the connection\n"},
		{"chat-server", "%s closed the connection\n"},
	} {
		t.Run(tt.server, func(t *testing.T) {
			s := startServer(t, tt.server, "-port", "0")
			for i := 0; i < 2; i++ {
				c, err := net.Dial("tcp", s.Addr)
				if err != nil {
					t.Fatal(err)
				}
				s.WaitOutput(t, "connection from")
				c.Close()
				s.WaitOutput(t, fmt.Sprintf(tt.says, c.LocalAddr()))
			}
		})
	}
}

// fndProc is a client run with a live stdin, for conversations that need
// both sides scripted step by step.
type fndProc struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out, err *lockedBuffer
	done     chan struct{}
}

func fndStart(t *testing.T, args ...string) *fndProc {
	t.Helper()
	p := &fndProc{cmd: exec.Command(netprogBin, args...), out: &lockedBuffer{}, err: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *fndProc) waitOut(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%v: output lacks %q after 10s:\n%s\nstderr:\n%s", p.cmd.Args, want, p.out, p.err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *fndProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not exit in 10s", p.cmd.Args)
	}
	return p.cmd.ProcessState.ExitCode()
}

// fndRenumberFds numbers the program's descriptors from 3, as if nothing
// else were open. The Go runtime keeps the cgroup CPU-limit files open to
// follow changes of its CPU quota (one file on cgroup v2, two on v1), so a
// program's first socket is 4 or 5 depending on the machine: the goldens
// must not depend on which.
func fndRenumberFds(trace string) string {
	base := -1
	for _, m := range fndNewFdRE.FindAllStringSubmatch(trace, -1) {
		if n, _ := strconv.Atoi(m[1]); base < 0 || n < base {
			base = n
		}
	}
	if base < 0 {
		return trace
	}
	renumber := func(digits string) string {
		n, _ := strconv.Atoi(digits)
		if n < base {
			return digits
		}
		return strconv.Itoa(n - base + 3)
	}
	lines := strings.Split(trace, "\n")
	for i, line := range lines {
		line = fndFirstFdRE.ReplaceAllStringFunc(line, func(s string) string {
			m := fndFirstFdRE.FindStringSubmatch(s)
			return m[1] + renumber(m[2]) + m[3]
		})
		line = fndPollFdRE.ReplaceAllStringFunc(line, func(s string) string { return "fd=" + renumber(s[3:]) })
		if m := fndNewFdRE.FindStringSubmatchIndex(line); m != nil {
			line = line[:m[2]] + renumber(line[m[2]:m[3]])
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

var (
	fndNewFdRE   = regexp.MustCompile(`(?m)^(?:socket|accept4|openat)\(.*\) = (\d+)$`)
	fndFirstFdRE = regexp.MustCompile(`^(\w+\()(\d+)([,)])`)
	fndPollFdRE  = regexp.MustCompile(`fd=\d+`)
)

// fndMaskAddrs replaces the port of every loopback or wildcard address with
// PORT: the kernel chooses them and they change from run to run. Port 0 is
// kept: it is what a program asks for when it wants an ephemeral port.
var fndAddrRE = regexp.MustCompile(`(127\.0\.0\.1|0\.0\.0\.0|\[::1?\]):[1-9]\d*`)

func fndMaskAddrs(s string) string { return fndAddrRE.ReplaceAllString(s, "$1:PORT") }

// TestTraceGolden checks the --trace lines of one exchange of each program
// against testdata/trace/NAME.golden (-update-trace-golden rewrites them).
// Ports are masked (fndMaskAddrs) and descriptors renumbered from 3
// (fndRenumberFds); everything else must match line for line.
func TestTraceGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T) string // returns the trace to compare
	}{
		{"greet-client", func(t *testing.T) string {
			s := startServer(t, "greet-server", "-port", "0")
			return fndTraced(t, "", "greet-client", "-addr", s.Addr)
		}},
		{"greet-server", func(t *testing.T) string {
			s := startServer(t, "--trace", "greet-server", "-port", "0")
			runNetprog(t, "", "greet-client", "-addr", s.Addr)
			s.WaitOutput(t, "Got the connection")
			// Up to the end of the exchange: what follows (the stop) races
			// between the signal's goroutine and the accepting thread.
			return fndUntil(t, s.Err, "sendto(", "close(")
		}},
		{"echo-client", func(t *testing.T) string {
			s := startServer(t, "echo-server", "-port", "0")
			return fndTraced(t, "hello\nq\n", "echo-client", "-addr", s.Addr)
		}},
		{"udp-client", func(t *testing.T) string {
			s := startServer(t, "udp-server", "-port", "0")
			return fndTraced(t, "hello\nq\n", "udp-client", "-addr", s.Addr)
		}},
		{"udp-server", func(t *testing.T) string {
			s := startServer(t, "--trace", "udp-server", "-port", "0")
			runNetprog(t, "hello\nq\n", "udp-client", "-addr", s.Addr)
			s.WaitOutput(t, ":said hello")
			return fndUntil(t, s.Err, "recvfrom(", "sendto(")
		}},
		{"chat-client", func(t *testing.T) string {
			s := startServer(t, "chat-server", "-port", "0")
			io.WriteString(s.Stdin, "hi\nq\n")
			return fndTraced(t, "hello\n", "chat-client", "-addr", s.Addr)
		}},
		{"hostname", func(t *testing.T) string {
			return fndTraced(t, "", "hostname")
		}},
		{"ports", func(t *testing.T) string {
			if _, _, start := fndPortSysctls(t); start <= 1 {
				t.Skipf("ip_unprivileged_port_start is %d: the golden has the bind below it", start)
			}
			return fndTraced(t, "", "ports")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fndMaskAddrs(fndRenumberFds(tt.run(t)))
			switch tt.name {
			case "chat-client":
				// The server's q comes alone, with no newline: the client
				// takes it as complete when the server's end of file follows
				// or after ChatQuiet (100 ms) of silence, whichever comes
				// first on this machine's schedule. Both end the same way.
				got = regexp.MustCompile(`(?m)^poll\(\[\{fd=(\d+), events=POLLIN\}\], 1, 100\) = 0.*\n`).
					ReplaceAllString(got, "poll([{fd=$1, events=POLLIN}], 1, 100) = 1\nread($1, \"\", 4095) = 0\n")
			case "hostname":
				got = regexp.MustCompile(`nodename="[^"]*"`).ReplaceAllString(got, `nodename="HOST"`)
			case "ports":
				// The values read from /proc/sys, and whether the bind below
				// the privileged start is allowed, are this machine's.
				got = regexp.MustCompile(`read\((\d+), "[^"]*", (\d+)\) = \d+`).ReplaceAllString(got, `read($1, "VALUE", $2) = N`)
				got = regexp.MustCompile(`(?m)^(bind\(\d+, \{AF_INET, 127\.0\.0\.1:PORT\}\)) = .*$`).ReplaceAllString(got, `$1 = RESULT`)
			}
			path := filepath.Join("testdata", "trace", tt.name+".golden")
			if *fndUpdate {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-trace-golden to create it)", err)
			}
			if got != string(want) {
				t.Errorf("--trace of %s differs from %s:\ngot:\n%s\nwant:\n%s", tt.name, path, got, want)
			}
		})
	}
}

// fndTraced runs `netprog --trace args...` and returns its trace (stderr).
func fndTraced(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	_, trace, code := runNetprog(t, stdin, append([]string{"--trace"}, args...)...)
	if code != 0 {
		t.Fatalf("netprog --trace %v: exit %d\n%s", args, code, trace)
	}
	return trace
}

// fndUntil waits in a live trace for a line starting with then after one
// starting with first, and returns the trace up to and including it.
func fndUntil(t *testing.T, b *lockedBuffer, first, then string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := b.String()
		if i := strings.Index(s, "\n"+first); i >= 0 {
			if j := strings.Index(s[i:], "\n"+then); j >= 0 {
				if k := strings.IndexByte(s[i+j+1:], '\n'); k >= 0 {
					return s[:i+j+1+k+1]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace lacks a line %q after one %q after 10s:\n%s", then, first, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
