package main

import (
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoOnce connects to addr, sends one line and wants prefix+line back.
func echoOnce(t *testing.T, addr, prefix string, i int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang bound
	if err := converseOn(c, prefix, i, false); err != nil {
		t.Fatal(err)
	}
}

// TestSelectModelIsAService: echo-server -model select, started with its
// stdin at end of file (</dev/null, as in the background of a script), is a
// service like every other model: it does not read stdin, serves, and
// stops on SIGINT with its summary.
func TestSelectModelIsAService(t *testing.T) {
	t.Parallel()
	s := startServerCmd(t, exec.Command("sh", "-c", `exec "$0" echo-server -model select -host 127.0.0.1 -port 0 </dev/null`, netprogBin))
	for i := range 3 {
		echoOnce(t, s.Addr, "You Send:", i)
	}
	if err := s.Stop(t); err != nil {
		t.Fatalf("exit: %v; stderr: %s", err, s.Err)
	}
	out := s.Out.String()
	if strings.Contains(out, "standard input") || !strings.Contains(out, "served 3 connections") {
		t.Errorf("echo-server -model select with stdin at end of file:\n%s", out)
	}
}

// TestSelectServerStopsOnStdin: select-server, the notes' program, stops
// on a line or end of file on stdin, exit 0 with its summary.
func TestSelectServerStopsOnStdin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ stdin, log string }{
		{"", "End of file on standard input: stopping"},
		{"stop\n", "A line on standard input: stopping"},
	} {
		out, errOut, code := runNetprog(t, tc.stdin, "select-server", "-host", "127.0.0.1", "-port", "0")
		if code != 0 || !strings.Contains(out, tc.log) || !strings.Contains(out, "server stopped after") {
			t.Errorf("select-server with stdin %q: exit %d\n%s%s", tc.stdin, code, out, errOut)
		}
	}
}

// TestSelectServerScriptedStdin: the way select-server's help gives to
// script it works: `sleep infinity | netprog select-server &` serves until
// the job is killed (kill %1: each process of the pipeline gets SIGTERM).
func TestSelectServerScriptedStdin(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, _, _ := runNetprog(t, "", "help", "select-server")
	if !strings.Contains(out, "sleep infinity | netprog select-server &") {
		t.Fatalf("help select-server does not say how to script it:\n%s", out)
	}
	cmd := exec.Command("bash", "-c", `sleep infinity | "$0" select-server -host 127.0.0.1 -port 0`, netprogBin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := startServerCmd(t, cmd)
	for i := range 2 {
		echoOnce(t, s.Addr, "", i)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the job: bash, sleep and netprog
	s.WaitStopped(t)
	if out := s.Out.String(); !strings.Contains(out, "served 2 connections") {
		t.Errorf("select-server fed by sleep infinity:\n%s", out)
	}
}

// TestPresetFlags: each server preset offers the flags its design reads,
// no others; echo-server, which picks the design, offers them all.
func TestPresetFlags(t *testing.T) {
	t.Parallel()
	modelOnly := []string{"model", "max-children", "workers", "max-threads", "edge"}
	want := map[string][]string{
		"echo-server":   modelOnly,
		"fork-server":   {"max-children"},
		"thread-server": {"max-threads"},
		"select-server": nil,
	}
	for name, has := range want {
		fs := commandFlags(commands[name])
		for _, f := range append(modelOnly, "backlog", "raw", "prefix", "q", "idle-timeout", "port") {
			common := !slices.Contains(modelOnly, f)
			if got, want := fs.Lookup(f) != nil, common || slices.Contains(has, f); got != want {
				t.Errorf("%s has -%s: %v, want %v", name, f, got, want)
			}
		}
	}
	for _, args := range [][]string{
		{"select-server", "-model", "fork"},
		{"select-server", "-workers", "4"},
		{"fork-server", "-model", "prefork"},
		{"fork-server", "-max-threads", "10"},
		{"thread-server", "-edge"},
	} {
		out, errOut, code := runNetprog(t, "", args...)
		want := "netprog " + args[0] + ": flag provided but not defined: " + args[1] + " (netprog " + args[0] + " -h for usage)\n"
		if code != 2 || out != "" || errOut != want {
			t.Errorf("netprog %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, out, errOut, want)
		}
	}
}
