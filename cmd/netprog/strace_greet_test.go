package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// TestStraceGreet runs greet-server under `strace -f -yy`, greets one client
// and checks that on the server's TCP sockets the lesson's calls come in the
// lesson's order: socket, bind, listen, accept4, the greeting's write (write,
// sendto or sendmsg), close. The runtime's own calls between them are
// ignored.
func TestStraceGreet(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "greet-server", "-port", "0")
	out, errOut, code := runNetprog(t, "", "greet-client", "-addr", s.Addr)
	if code != 0 || out != "Received data: Thank you for Connecting \n" {
		t.Fatalf("greet-client: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	s.WaitOutput(t, "Got the connection from")
	straceStopTracee(t, s)
	calls := s.Calls(t)

	// The accepted socket, as strace names it: 5<TCP:[127.0.0.1:8090->127.0.0.1:41234]>.
	var conn string
	for _, c := range calls {
		if c.Name == "accept4" && touchesTCP(c.Ret) {
			conn = c.Ret
			break
		}
	}
	if conn == "" {
		t.Fatalf("no accept4 of a TCP connection in the strace log")
	}
	// Calls whose first argument is that socket. (Compared as a prefix:
	// firstArg counts the '>' of "->" as a closing bracket.)
	onConn := func(names ...string) func(straceCall) bool {
		return func(c straceCall) bool {
			for _, n := range names {
				if c.Name == n && (c.Args == conn || strings.HasPrefix(c.Args, conn+",")) {
					return true
				}
			}
			return false
		}
	}
	greeting := func(c straceCall) bool {
		return onConn("write", "sendto", "sendmsg")(c) && strings.Contains(c.Args, `"Thank you for Connecting \n"`)
	}
	steps := []string{"socket", "bind", "listen", "accept4", "write of the greeting", "close"}
	if i := inOrder(calls, onTCP("socket"), onTCP("bind"), onTCP("listen"), onTCP("accept4"), greeting, onConn("close")); i >= 0 {
		var log strings.Builder
		for _, c := range calls {
			if touchesTCP(c.Args) || touchesTCP(c.Ret) {
				fmt.Fprintf(&log, "%d %s(%s) = %s\n", c.Pid, c.Name, c.Args, c.Ret)
			}
		}
		t.Errorf("strace shows no %s in order after the steps before it; calls on TCP sockets:\n%s", steps[i], log.String())
	}
}

// straceStopTracee stops the program strace runs: SIGINT to strace itself
// does nothing, since `strace -o FILE PROG` blocks fatal signals (its -I3
// default), so the signal goes to the tracee, whose pid opens the log; strace
// exits when it does.
func straceStopTracee(t *testing.T, s *straced) {
	t.Helper()
	calls := s.Calls(t)
	if len(calls) == 0 {
		t.Fatal("empty strace log")
	}
	if err := syscall.Kill(calls[0].Pid, syscall.SIGINT); err != nil {
		t.Fatalf("SIGINT to the traced server (pid %d): %v", calls[0].Pid, err)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("strace: %v", err)
	}
}
