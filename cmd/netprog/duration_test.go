package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"5", 5 * time.Second, ""},
		{"0.2", 200 * time.Millisecond, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{".5", 500 * time.Millisecond, ""},
		{"1e-3", time.Millisecond, ""},
		{"0", 0, ""},
		{"-0", 0, ""},
		{"30", 30 * time.Second, ""},
		{"1s", time.Second, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"2m30s", 150 * time.Second, ""},
		{"0s", 0, ""},
		{"-1", 0, "cannot be negative"},
		{"-0.1", 0, "cannot be negative"},
		{"-1s", 0, "cannot be negative"},
		{"-inf", 0, "cannot be negative"},
		{"soon", 0, "want seconds"},
		{"", 0, "want seconds"},
		{"1x", 0, "want seconds"},
		{"5 s", 0, "want seconds"},
		{"NaN", 0, "want seconds"},
		{"inf", 0, "too long"},
		{"1e300", 0, "too long"},
		{"9223372037", 0, "too long"},
		{"9223372036", 9223372036 * time.Second, ""},
		{"99999999999h", 0, "want seconds"}, // past time.Duration
	} {
		got, err := parseSeconds(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseSeconds(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		}
	}
}

// TestSecondsFlag: the flag keeps its default until set, shows it as a
// duration, and -h names the value "seconds".
func TestSecondsFlag(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := secondsVar(fs, "sleep", 5*time.Second, "how long")
	if *d != 5*time.Second || fs.Lookup("sleep").DefValue != "5s" {
		t.Errorf("default %v, shown as %q; want 5s", *d, fs.Lookup("sleep").DefValue)
	}
	if name, _ := flag.UnquoteUsage(fs.Lookup("sleep")); name != "seconds" {
		t.Errorf("-h names the value %q, want seconds", name)
	}
	if err := fs.Parse([]string{"-sleep", "0.25"}); err != nil || *d != 250*time.Millisecond {
		t.Errorf("-sleep 0.25: %v, %v", *d, err)
	}
	if err := fs.Parse([]string{"-sleep=-3"}); err == nil || !strings.Contains(err.Error(), `invalid value "-3" for flag -sleep`) {
		t.Errorf("-sleep=-3: %v", err)
	}
}

// TestDurationFlagsTakeSeconds: no command's duration flag is a plain Go
// duration (which refuses "5").
func TestDurationFlagsTakeSeconds(t *testing.T) {
	t.Parallel()
	for _, c := range sortedCommands() {
		commandFlags(c).VisitAll(func(f *flag.Flag) {
			key := c.name + " -" + f.Name
			if fmt.Sprintf("%T", f.Value) == "*flag.durationValue" {
				t.Errorf("%s is a Go duration flag: use secondsVar, so that bare seconds work", key)
			}
		})
	}
}

// TestDemosTakeBareSeconds: the demos' -sleep and -delay as the notes write
// them (time.sleep(1)): a bare number is seconds, fractions allowed; Go
// durations still work.
func TestDemosTakeBareSeconds(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"fork-demo", "-sleep", "0.1"},
		{"fork-demo", "-sleep", "100ms"},
		{"zombie-demo", "-sleep", "0.05", "-reap"},
		{"thread-demo", "-sleep", "0.1"},
		{"nonblock-demo", "-delay", "0.2", "-rcvtimeo", "0.1"},
	} {
		out, errOut, code := runNetprog(t, "", args...)
		if code != 0 || errOut != "" || out == "" {
			t.Errorf("netprog %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	out, _, _ := runNetprog(t, "", "help", "zombie-demo")
	if !strings.Contains(out, "-sleep seconds") || !strings.Contains(out, "(default 50s)") {
		t.Errorf("help zombie-demo does not show -sleep in seconds:\n%s", out)
	}
}

// TestIdleTimeoutBareSeconds: -idle-timeout 0.5 is half a second: a silent
// client is closed.
func TestIdleTimeoutBareSeconds(t *testing.T) {
	t.Parallel()
	s := startServer(t, "echo-server", "-host", "127.0.0.1", "-port", "0", "-idle-timeout", "0.5")
	c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang bound
	var b [64]byte
	n, err := c.Read(b[:])
	if err != io.EOF {
		t.Errorf("silent client: read %q, %v; want end of file once the server closed it", b[:n], err)
	}
}
