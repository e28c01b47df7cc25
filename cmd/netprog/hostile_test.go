package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/servers"
)

// What a hostile peer sends, as netprog must show it: with the terminal's
// controls escaped (protocol.Printable), so that nothing it sends can clear
// the operator's screen, retitle the window or forge a log line.
const (
	hostileLine   = "\x1b[2J\x1b]0;pwned\x07hi\rReceived the connection from: 6.6.6.6:1\u009b\n"
	hostileShown  = `\x1b[2J\x1b]0;pwned\x07hi\rReceived the connection from: 6.6.6.6:1\xc2\x9b`
	forgedLogLine = "\nReceived the connection from: 6.6.6.6:1"
)

// noTerminalControls fails the test if out holds a byte a terminal acts on
// (other than the newlines that end netprog's own lines) or a forged line.
func noTerminalControls(t *testing.T, what, out string) {
	t.Helper()
	for i, c := range []byte(out) {
		if (c < ' ' && c != '\n') || c == 0x7f {
			t.Errorf("%s holds control byte %#x at %d:\n%q", what, c, i, out)
			return
		}
	}
	if strings.Contains(out, "\u009b") || strings.Contains(out, forgedLogLine) {
		t.Errorf("%s holds a C1 control or a forged line:\n%q", what, out)
	}
}

// TestHostileBytesEscapedInLogs: every model's log shows what a client sent
// escaped, while the echo on the wire stays byte-exact.
func TestHostileBytesEscapedInLogs(t *testing.T) {
	t.Parallel()
	for _, model := range servers.Models() {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, "echo-server", "-addr", "127.0.0.1:0", "-model", model)
			c, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			io.WriteString(c, hostileLine)
			want := "You Send:" + hostileLine
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
				t.Fatalf("echo = %q, %v; want the bytes sent back exactly: %q", got, err, want)
			}
			io.WriteString(c, "q")
			if model == "fork" || model == "prefork" || model == "passfd" {
				return // the forked children do not log messages
			}
			s.WaitOutput(t, hostileShown)
			noTerminalControls(t, "the server's log", s.Out.String())
		})
	}
}

// TestHostileBytesEscapedOnScreen: what the clients print of a server's
// reply, and what udp-server and chat-server print of a peer, is escaped.
func TestHostileBytesEscapedOnScreen(t *testing.T) {
	t.Parallel()
	t.Run("echo-client", func(t *testing.T) {
		addr := serveOnce(t, func(c net.Conn) {
			r := bufio.NewReader(c)
			r.ReadString('\n')
			io.WriteString(c, hostileLine)
			io.Copy(io.Discard, r) // until the client's end of file
		})
		out, _, code := runNetprog(t, "hello\nq\n", "echo-client", "-addr", addr)
		if code != 0 || !strings.Contains(out, hostileShown) {
			t.Fatalf("exit %d, output %q; want the reply shown as %q", code, out, hostileShown)
		}
		noTerminalControls(t, "echo-client's output", out)
	})
	t.Run("udp-server", func(t *testing.T) {
		s := startServer(t, "udp-server", "-addr", "127.0.0.1:0")
		c, err := net.Dial("udp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(hostileLine))
		s.WaitOutput(t, hostileShown)
		noTerminalControls(t, "udp-server's log", s.Out.String())
	})
	t.Run("chat-server", func(t *testing.T) {
		s := startServer(t, "chat-server", "-addr", "127.0.0.1:0")
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(s.Stdin, "hello\n")
		r := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, hostileLine)
		s.WaitOutput(t, hostileShown)
		noTerminalControls(t, "chat-server's output", s.Out.String())
	})
}

// TestUDPClientIgnoresStrangers: udp-client takes a reply only from the
// server it sent to (UNP 8.8). A third party's datagram, sent to the
// client's port before the real echo, is reported and ignored; a stranger
// who keeps sending while the server stays silent does not keep the client
// waiting past its timeout.
func TestUDPClientIgnoresStrangers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		answer bool // the server echoes (after the stranger's datagram)
	}{
		{"stranger before the echo", true},
		{"stranger flood, silent server", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			stranger, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer stranger.Close()
			done := make(chan struct{})
			defer close(done)
			go func() {
				buf := make([]byte, 512)
				for {
					n, client, err := srv.ReadFrom(buf)
					if err != nil {
						return
					}
					if !tt.answer {
						// Flood the client from elsewhere until it is done
						// (a client that waited anew after each stranger
						// would never be: runNetprog's 30 s bound fails it).
						for start := time.Now(); time.Since(start) < time.Minute; {
							select {
							case <-done:
								return
							default:
							}
							if _, err := stranger.WriteTo([]byte("forged "+hostileLine), client); err != nil {
								return
							}
						}
						return
					}
					stranger.WriteTo([]byte("forged"), client)
					// The stranger's datagram is in the client's queue first:
					// on loopback, a sendto delivers before it returns.
					srv.WriteTo(buf[:n], client)
				}
			}()
			out, _, code := runNetprog(t, "hello\nq\n", "udp-client", "-addr", srv.LocalAddr().String(), "-timeout", "1")
			want := "Ignored a datagram from " + stranger.LocalAddr().String() + ": not the server " + srv.LocalAddr().String()
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			if strings.Contains(out, "forged") {
				t.Errorf("the stranger's datagram was taken as a reply:\n%s", out)
			}
			if tt.answer && (code != 0 || !strings.Contains(out, "Received: hello\n")) {
				t.Errorf("exit %d; want the server's echo received:\n%s", code, out)
			}
			if !tt.answer && (code != 1 || !strings.Contains(out, "No reply from")) {
				t.Errorf("exit %d; want no reply (exit 1) despite the flood:\n%s", code, out)
			}
			noTerminalControls(t, "udp-client's output", out)
		})
	}
}

// TestPingHostForms: ping takes the IPv4 forms inet_aton(3) takes (as
// iputils does, through getaddrinfo) and refuses the empty name, which is no
// host (for a server, "" is the wildcard; for ping it would be 0.0.0.0).
func TestPingHostForms(t *testing.T) {
	t.Parallel()
	needRoot(t)
	for _, host := range []string{"127.1", "0x7f000001", "2130706433", "0177.0.0.1"} {
		out, errOut, code := runNetprog(t, "", "ping", "-c", "1", "-w", "10", host)
		if code != 0 || !strings.HasPrefix(out, "PING "+host+" (127.0.0.1) ") {
			t.Errorf("ping %s: exit %d\n%s%s", host, code, out, errOut)
		}
	}
	out, errOut, code := runNetprog(t, "", "ping", "-c", "1", "")
	if code != 2 || out != "" || !strings.Contains(errOut, "name or service not known") {
		t.Errorf(`ping "": exit %d, stdout %q, stderr %q; want exit 2 and "name or service not known"`, code, out, errOut)
	}
}

// sendSpoofedUDP sends one UDP datagram whose IPv4 source is src, as anyone
// with a raw socket can (IPPROTO_RAW: the test writes the IP header; the
// kernel fills in its checksum and length; a UDP checksum of 0 means none).
func sendSpoofedUDP(t *testing.T, src, dst netip.AddrPort, payload string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		t.Skipf("a raw socket to spoof with: %v (needs root)", err)
	}
	defer unix.Close(fd)
	pkt := make([]byte, 20+8+len(payload))
	pkt[0] = 0x45 // IPv4, 5 words of header
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	pkt[8] = 64 // TTL
	pkt[9] = unix.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(pkt[12:], s[:])
	copy(pkt[16:], d[:])
	binary.BigEndian.PutUint16(pkt[20:], src.Port())
	binary.BigEndian.PutUint16(pkt[22:], dst.Port())
	binary.BigEndian.PutUint16(pkt[24:], uint16(8+len(payload)))
	copy(pkt[28:], payload)
	if err := unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: d}); err != nil {
		t.Fatal(err)
	}
}

// udpAsk sends msg to the server at addr and waits for its echo: once it
// comes, every datagram queued before it has been handled. It returns how
// many times it asked (UDP may lose the question or the echo).
func udpAsk(t *testing.T, addr, msg string) (asked int) {
	t.Helper()
	return udpAskFrom(t, "127.0.0.1", addr, msg)
}

// udpAskFrom is udpAsk from a socket bound to the address from.
func udpAskFrom(t *testing.T, from, addr, msg string) (asked int) {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(from), 0)),
		net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 512)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		c.Write([]byte(msg))
		asked++
		c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, err := c.Read(buf)
			if err != nil {
				break // asked again: UDP may lose either way
			}
			if string(buf[:n]) == msg {
				return asked
			}
		}
	}
	t.Fatalf("no echo of %q from %s in 20 s", msg, addr)
	return asked
}

// udpSummary stops a udp-server and returns its summary line's counts.
func udpSummary(t *testing.T, s *server) (received, looped, limited int) {
	t.Helper()
	s.Stop(t)
	m := regexp.MustCompile(`received (\d+) datagrams?.*?(?:; dropped (\d+) from port 0, a service port or itself)?(?:; dropped (\d+) past the rate limit)?\n`).FindStringSubmatch(s.Out.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", s.Out)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	return atoi(m[1]), atoi(m[2]), atoi(m[3])
}

// TestUDPServerLoops: a spoofed datagram "from" the server itself, or from
// port 0, is dropped, counted and logged once; it is not echoed to itself
// for ever (before, one such datagram took a core). Two echo servers made
// to answer each other stop once one of them refuses the loop's datagram
// past its source's rate.
func TestUDPServerLoops(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		from func(server netip.AddrPort) netip.AddrPort
		log  string
	}{
		{"from itself", func(s netip.AddrPort) netip.AddrPort { return s }, "this server's own address and port"},
		{"from another address of this host, its port", func(s netip.AddrPort) netip.AddrPort {
			return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), s.Port())
		}, "this server's own address and port"},
		{"from port 0", func(s netip.AddrPort) netip.AddrPort {
			return netip.AddrPortFrom(s.Addr(), 0)
		}, "port 0 cannot be answered"},
		{"from chargen's port", func(s netip.AddrPort) netip.AddrPort {
			return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), 19)
		}, "a UDP service port that answers anything"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, "udp-server", "-addr", "0.0.0.0:0")
			port := netip.MustParseAddrPort(s.Addr).Port()
			dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
			sendSpoofedUDP(t, tt.from(dst), dst, "loop")
			sendSpoofedUDP(t, tt.from(dst), dst, "loop")
			asked := udpAsk(t, dst.String(), "after")
			s.WaitOutput(t, tt.log)
			received, looped, _ := udpSummary(t, s)
			if received != 2+asked || looped != 2 {
				t.Errorf("received %d, dropped %d as loops; want %d received (two spoofed, %d asked) and 2 dropped\n%s", received, looped, 2+asked, asked, tail(s.Out.String(), 5))
			}
			if n := strings.Count(s.Out.String(), tt.log); n != 1 {
				t.Errorf("the drop was logged %d times, want once", n)
			}
		})
	}
	t.Run("two servers answering each other", func(t *testing.T) {
		a := startServer(t, "udp-server", "-addr", "127.0.0.1:0", "-rate", "10")
		b := startServer(t, "udp-server", "-addr", "127.0.0.1:0", "-rate", "10")
		sendSpoofedUDP(t, netip.MustParseAddrPort(b.Addr), netip.MustParseAddrPort(a.Addr), "ping-pong")
		// One of them refuses the other past 10 a second, and the loop's
		// one datagram is gone.
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(a.Out.String()+b.Out.String(), "rate limit: not answering") {
			if time.Now().After(deadline) {
				t.Fatalf("no rate limit after 20 s\nA: %s\nB: %s", tail(a.Out.String(), 3), tail(b.Out.String(), 3))
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Both still answer a client at another address (buckets are
		// per source address: the loop's is 127.0.0.1).
		udpAskFrom(t, "127.0.0.2", a.Addr, "A?")
		udpAskFrom(t, "127.0.0.2", b.Addr, "B?")
		ra, _, la := udpSummary(t, a)
		rb, _, lb := udpSummary(t, b)
		if la+lb != 1 || ra+rb > 100 {
			t.Errorf("received %d and %d, dropped %d and %d past the rate: want the loop ended by one drop after some tens of bounces", ra, rb, la, lb)
		}
	})
}

// TestUnixSocketStopRemovesOnlyItsOwn: a server on an AF_UNIX path removes
// the socket file when it stops, but only if the file there is still the
// one its bind made: a second live server that replaced it, or a file put
// there meanwhile, is left alone, and the server says so.
func TestUnixSocketStopRemovesOnlyItsOwn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		replace func(t *testing.T, path string) // while the first server runs
		check   func(t *testing.T, path string) // after it stopped
	}{
		{"its own", func(*testing.T, string) {}, func(t *testing.T, path string) {
			if _, err := os.Lstat(path); !os.IsNotExist(err) {
				t.Errorf("the socket file is still there: %v", err)
			}
		}},
		{"a live server that replaced it", func(t *testing.T, path string) {
			os.Remove(path)
			startServer(t, "echo-server", "-addr", "unix:"+path, "-model", "epoll")
		}, func(t *testing.T, path string) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("the second server's socket is gone: %v", err)
			}
			c.Close()
		}},
		{"a regular file put there", func(t *testing.T, path string) {
			os.Remove(path)
			if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, path string) {
			if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
				t.Errorf("the file put there: %q, %v", b, err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "echo.sock")
			s := startServer(t, "echo-server", "-addr", "unix:"+path)
			defer func() {
				if t.Failed() {
					t.Logf("server output:\n%s", s.Out)
				}
			}()
			tt.replace(t, path)
			if err := s.Stop(t); err != nil {
				t.Fatalf("stop: %v\n%s", err, s.Err)
			}
			tt.check(t, path)
			said := strings.Contains(s.Out.String(), "left in place: it is no longer the socket this server made")
			if said != (tt.name != "its own") {
				t.Errorf("said it left the path alone: %v\n%s", said, tail(s.Out.String(), 3))
			}
		})
	}
}

// TestWorkerCountsBounded: a pool or reuseport asked for more workers than
// a pool needs, or than the process's limits hold, is a usage error at once
// (before, reuseport made 4450 threads and prefork forked until clone
// failed, then retried every second).
func TestWorkerCountsBounded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		model, workers, ulimit, want string
	}{
		{"reuseport", "10000", "", "reuseport takes at most 1024 here"},
		{"prefork", "100000", "", "prefork takes at most 1024 here"},
		{"passfd", "100000", "", "passfd takes at most 1024 here"},
		{"reuseport", "100", "-n 200", "a quarter of RLIMIT_NOFILE, 200"},
		{"prefork", "100", "-u 100", "half of RLIMIT_NPROC, 100"},
		{"prefork", "2", "-u 1", "prefork takes at most 0 here (half of RLIMIT_NPROC, 1"},
	} {
		t.Run(tt.model+" "+tt.workers+" "+tt.ulimit, func(t *testing.T) {
			args := []string{"echo-server", "-model", tt.model, "-workers", tt.workers, "-addr", "127.0.0.1:0"}
			name, cmdArgs := netprogBin, args
			if tt.ulimit != "" {
				name, cmdArgs = "bash", []string{"-c", "ulimit " + tt.ulimit + " && exec \"$0\" \"$@\"", netprogBin}
				cmdArgs = append(cmdArgs, args...)
			}
			out, errOut, code := runCommand(t, "", name, cmdArgs...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 at once and one line saying %q", code, out, errOut, tt.want)
			}
		})
	}
	// Within the bound, as before.
	s := startServer(t, "echo-server", "-model", "reuseport", "-workers", "3", "-addr", "127.0.0.1:0")
	askTCPLine(t, s.Addr)
}

// askTCPLine checks that the echo server at addr answers one line.
func askTCPLine(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "hi\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "You Send:hi\n" {
		t.Errorf("reply %q, %v", line, err)
	}
}

// TestAbstractUnixSocketLeavesFilesAlone: an abstract name (unix:@name, no
// file) is not a path: a file of that name in the server's working
// directory is someone else's, neither a stale socket to remove at start
// nor ours to remove at stop.
func TestAbstractUnixSocketLeavesFilesAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := "@netprog-test-" + strconv.Itoa(os.Getpid())
	precious := filepath.Join(dir, name)
	if err := os.WriteFile(precious, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(netprogBin, "echo-server", "-addr", "unix:"+name)
	cmd.Dir = dir
	s := startServerCmd(t, cmd)
	if err := s.Stop(t); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "precious" {
		t.Errorf("the file %s: %q, %v; want it untouched", precious, b, err)
	}
	if strings.Contains(s.Out.String(), "left in place") {
		t.Errorf("an abstract socket has no file to leave:\n%s", s.Out)
	}
}

// TestUDPClientToTheWildcard: udp-client -addr :PORT sends to the wildcard,
// which is this host; the reply comes from 127.0.0.1 and is the server's.
func TestUDPClientToTheWildcard(t *testing.T) {
	t.Parallel()
	s := startServer(t, "udp-server", "-addr", "127.0.0.1:0")
	out, errOut, code := runNetprog(t, "hello\nq\n", "udp-client", "-addr", ":"+portOf(s.Addr))
	if code != 0 || !strings.Contains(out, "Received: hello\n") || strings.Contains(out, "Ignored") {
		t.Errorf("exit %d, stderr %q\n%s", code, errOut, out)
	}
}
