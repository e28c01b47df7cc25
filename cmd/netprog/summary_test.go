package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSummariesCountOne: a server that served one client says so in the
// singular, and the greet server speaks of greetings (it echoes nothing).
func TestSummariesCountOne(t *testing.T) {
	t.Parallel()
	t.Run("greet-server", func(t *testing.T) {
		s := startServer(t, "greet-server", "-host", "127.0.0.1", "-port", "0")
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang bound
		got, err := io.ReadAll(c)                       // the server closes after the greeting
		c.Close()
		if err != nil || string(got) != "Thank you for Connecting \n" {
			t.Fatalf("greeting %q, %v", got, err)
		}
		s.WaitOutput(t, "Got the connection from")
		if err := s.Stop(t); err != nil {
			t.Fatal(err)
		}
		out := s.Out.String()
		if !strings.Contains(out, ": served 1 connection, sent 1 greeting (26 bytes)\n") || strings.Contains(out, "echoed") {
			t.Errorf("greet-server summary:\n%s", out)
		}
	})
	t.Run("echo-server", func(t *testing.T) {
		s := startServer(t, "echo-server", "-host", "127.0.0.1", "-port", "0")
		echoOnce(t, s.Addr, "You Send:", 0)
		if err := s.Stop(t); err != nil {
			t.Fatal(err)
		}
		if out := s.Out.String(); !strings.Contains(out, ": served 1 connection, echoed ") {
			t.Errorf("echo-server summary:\n%s", out)
		}
	})
	t.Run("fork-server", func(t *testing.T) {
		s := startServer(t, "fork-server", "-host", "127.0.0.1", "-port", "0", "-q")
		echoOnce(t, s.Addr, "you send:", 0)
		s.WaitOutput(t, "Reaped child process")
		if err := s.Stop(t); err != nil {
			t.Fatal(err)
		}
		if out := s.Out.String(); !strings.Contains(out, ": served 1 connection, echoed 17 bytes, reaped 1 child\n") {
			t.Errorf("fork-server summary:\n%s", out)
		}
	})
	t.Run("udp-server", func(t *testing.T) {
		s := startServer(t, "udp-server", "-host", "127.0.0.1", "-port", "0")
		c, err := net.Dial("udp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang bound
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		var b [16]byte
		if n, err := c.Read(b[:]); err != nil || string(b[:n]) != "x" {
			t.Fatalf("echo %q, %v", b[:n], err)
		}
		if err := s.Stop(t); err != nil {
			t.Fatal(err)
		}
		if out := s.Out.String(); !strings.Contains(out, ": received 1 datagram (0 truncated), echoed 1 byte\n") {
			t.Errorf("udp-server summary:\n%s", out)
		}
	})
}
