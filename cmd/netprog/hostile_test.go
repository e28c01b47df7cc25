package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"netprog/servers"
)

// What a hostile peer sends, as netprog must show it: with the terminal's
// controls escaped (servers.Printable), so that nothing it sends can clear
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
			s.waitOutput(t, hostileShown)
			noTerminalControls(t, "the server's log", s.Out.String())
		})
	}
}

// TestHostileBytesEscapedOnScreen: what the clients print of a server's
// reply, and what udp-server and chat-server print of a peer, is escaped.
func TestHostileBytesEscapedOnScreen(t *testing.T) {
	t.Run("echo-client", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			r.ReadString('\n')
			io.WriteString(c, hostileLine)
			io.Copy(io.Discard, r) // until the client's end of file
		}()
		out, _, code := runNetprog(t, "hello\nq\n", "echo-client", "-addr", ln.Addr().String())
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
		s.waitOutput(t, hostileShown)
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
		s.waitOutput(t, hostileShown)
		noTerminalControls(t, "chat-server's output", s.Out.String())
	})
}

// TestUDPClientIgnoresStrangers: udp-client takes a reply only from the
// server it sent to (UNP 8.8). A third party's datagram, sent to the
// client's port before the real echo, is reported and ignored; a stranger
// who keeps sending while the server stays silent does not keep the client
// waiting past its timeout.
func TestUDPClientIgnoresStrangers(t *testing.T) {
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
						// Flood the client from elsewhere until it is done.
						for i := 0; i < 100000; i++ {
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
