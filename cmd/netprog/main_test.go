package main

import (
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"netprog/internal/e2e"
)

// The tests here drive the built binary as a user would: arguments, scripted
// standard input, standard output and exit status.

// The harness (internal/e2e) builds the binary once: `make test` passes
// it in NETPROG_TEST_BIN; alone, `go test ./cmd/netprog` builds it here.
var netprogBin string

func TestMain(m *testing.M) {
	// A child of TestPrivateFileTablePoller: before testing's own timers
	// start the runtime's poller.
	if os.Getenv(fileTableChildEnv) != "" {
		os.Exit(fileTableChild())
	}
	// The binary the tests run: the one `make test` built (internal/e2e).
	e2e.Main(m, &netprogBin)
}

// The harness's types and helpers, under the names these tests use.
type (
	lockedBuffer = e2e.LockedBuffer
	server       = e2e.Server
)

// startServer runs `netprog args...`, waits for its "listening on" line and
// stops it (SIGINT) when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	return e2e.Start(t, args...)
}

func startServerCmd(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	return e2e.StartCmd(t, cmd)
}

// serveOnce is a stand-in server on 127.0.0.1: it accepts one connection
// and hands it to handle, closing it when handle returns; the listener is
// closed when the test ends. It returns the address to give a client.
func serveOnce(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handle(c)
	}()
	return ln.Addr().String()
}

// runNetprog runs `netprog args...` to completion with stdin, within 30s,
// and returns its stdout, stderr and exit status.
func runNetprog(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return e2e.Netprog(t, stdin, args...)
}

// runCommand runs a command to completion with stdin, within 30s.
func runCommand(t *testing.T, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	return e2e.Run(t, stdin, name, args...)
}

// TestHelpListsCommands: `netprog help` fits 80 columns and lists every
// command once, in courseOrder, which holds every command once.
func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	out, _, code := runNetprog(t, "", "help")
	if code != 0 {
		t.Fatalf("help exit %d", code)
	}
	var listed []string
	inCommands := false
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("help line %d is %d columns: %q", i+1, n, line)
		}
		switch {
		case line == "Commands:":
			inCommands = true
		case line == "":
			inCommands = false
		case inCommands && !strings.HasPrefix(line, "   "):
			listed = append(listed, strings.Fields(line)[0])
		}
	}
	if !slices.Equal(listed, courseOrder) {
		t.Errorf("help lists\n  %q\nwant courseOrder\n  %q", listed, courseOrder)
	}
	seen := map[string]int{}
	for _, n := range courseOrder {
		if seen[n]++; seen[n] > 1 {
			t.Errorf("courseOrder has %s twice", n)
		}
		if commands[n] == nil {
			t.Errorf("courseOrder has %s, which is no command", n)
		}
	}
	for n := range commands {
		if seen[n] == 0 {
			t.Errorf("%s is not in courseOrder", n)
		}
	}
}

// TestWrap: help's hanging indent.
func TestWrap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text          string
		width, indent int
		want          string
	}{
		{"a b c", 80, 4, "a b c"},
		{"aaa bbb ccc", 7, 2, "aaa bbb\n  ccc"},
		{"aaa bbb ccc", 6, 2, "aaa\n  bbb\n  ccc"},
		{"a verylongword b", 4, 1, "a\n verylongword\n b"},
		{"  spaced   out  ", 80, 0, "spaced out"},
	} {
		if got := wrap(tc.text, tc.width, tc.indent); got != tc.want {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tc.text, tc.width, tc.indent, got, tc.want)
		}
	}
}
