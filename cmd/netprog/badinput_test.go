package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Bad input, for every command `netprog help` lists: each mistake is one
// line on stderr naming the command and what is wrong, exit status 2, and
// nothing done (no output, no "listening on", no socket file left behind).

// badInput is one mistake and what the command must say about it.
type badInput struct {
	args  []string
	stdin string
	want  string // in the one line on stderr
}

// longUnixPath is a unix: address whose path is longer than sun_path
// (108 bytes with its terminating NUL).
var longUnixPath = "unix:/tmp/" + strings.Repeat("a", 110)

// commandFlags returns the flags a command declares.
func commandFlags(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	return fs
}

// hostArg reports whether a command takes its host as an argument (ping,
// traceroute) rather than as -host.
func hostArg(c *command) bool { return strings.Contains(c.args, "HOST") }

// commonBadInputs are the mistakes any command that has the flag can be
// given: derived from its flags, so a new command is covered the day it
// is registered.
func commonBadInputs(c *command) []badInput {
	fs := commandFlags(c)
	has := func(name string) bool { return fs.Lookup(name) != nil }
	bad := []badInput{
		{args: []string{"-no-such-flag"}, want: "flag provided but not defined: -no-such-flag"},
	}
	if has("port") {
		bad = append(bad,
			badInput{args: []string{"-port", "65536"}, want: "port 65536 out of range 0-65535"},
			badInput{args: []string{"-port", "-1"}, want: "port -1 out of range 0-65535"},
			badInput{args: []string{"-port", "http"}, want: `invalid value "http" for flag -port`},
		)
	}
	if has("addr") {
		bad = append(bad,
			badInput{args: []string{"-addr", "127.0.0.1:99999"}, want: "port 99999 out of range 0-65535"},
			badInput{args: []string{"-addr", "localhost:echo"}, want: `port "echo" is not a number`},
			badInput{args: []string{"-addr", "[::1"}, want: "want host:port, [ipv6]:port or unix:/path"},
			badInput{args: []string{"-addr", ""}, want: "-addr: empty address"},
			badInput{args: []string{"-addr", longUnixPath}, want: "unix socket path is 115 bytes, sun_path holds 107"},
		)
	}
	if has("host") {
		bad = append(bad, badInput{args: []string{"-host"}, want: "flag needs an argument: -host"})
	}
	if has("4") && has("6") {
		host := func(h string) []string {
			if hostArg(c) {
				return []string{h}
			}
			return []string{"-host", h}
		}
		bad = append(bad,
			badInput{args: append([]string{"-4"}, host("::1")...), want: `address "::1": is an IPv6 address, but IPv4 (-4) was asked for`},
			badInput{args: append([]string{"-6"}, host("127.0.0.1")...), want: `address "127.0.0.1": is an IPv4 address, but IPv6 (-6) was asked for`},
		)
	}
	if hostArg(c) {
		bad = append(bad,
			badInput{args: nil, want: "HOST"},
			badInput{args: []string{"127.0.0.1", "::1"}, want: "HOST"},
		)
	} else if c.name != "bench" { // bench takes its address as an argument too
		bad = append(bad, badInput{args: []string{"stray"}, want: `unexpected argument "stray"`})
	}
	return bad
}

// specificBadInputs are the mistakes of each command's own flags.
var specificBadInputs = map[string][]badInput{
	"echo-server": {
		{args: []string{"-model", "nosuch"}, want: `unknown model "nosuch" (models: `},
		{args: []string{"-idle-timeout", "-1s"}, want: `invalid value "-1s" for flag -idle-timeout: a duration cannot be negative`},
		{args: []string{"-idle-timeout", "1e300"}, want: `invalid value "1e300" for flag -idle-timeout: too long`},
		{args: []string{"-idle-timeout", "soon"}, want: `invalid value "soon" for flag -idle-timeout`},
		{args: []string{"-workers", "-1"}, want: "-workers -1: want a value >= 0"},
		{args: []string{"-max-children", "-1"}, want: "-max-children"},
		{args: []string{"-max-threads", "0"}, want: "-max-threads 0: want a value from 1 to 9000"},
		{args: []string{"-max-threads", "20000"}, want: "-max-threads 20000: want a value from 1 to 9000"},
		{args: []string{"-backlog", "-1"}, want: "-backlog"},
	},
	"chat-server":  {{args: []string{"-backlog", "-1"}, want: "-backlog takes a value >= 0"}},
	"greet-server": {{args: []string{"-backlog", "-1"}, want: "-backlog takes a value >= 0"}},
	"udp-server": {
		{args: []string{"-size", "0"}, want: "-size takes 1..65536"},
		{args: []string{"-size", "65537"}, want: "-size takes 1..65536"},
	},
	"udp-client": {
		{args: []string{"-timeout", "0s"}, want: "-timeout must be at least 1ms"},
		// One line is one datagram: one longer than a datagram can be is
		// an error, not a datagram cut short. (Port 9, discard: nothing
		// is sent.)
		{args: []string{"-port", "9", "-prompt", ""}, stdin: strings.Repeat("x", 70000) + "\n",
			want: "a line of 65536 bytes or more does not fit in one datagram: sendto: message too long"},
		{args: []string{"-port", "9", "-prompt", ""}, stdin: strings.Repeat("x", 65508) + "\n",
			want: "a line of 65508 bytes does not fit in one datagram"},
	},
	"ping": {
		{args: []string{"-s", "65508", "127.0.0.1"}, want: "invalid argument: '65508': out of range: 0 <= value <= 65507"},
		{args: []string{"-s", "-1", "127.0.0.1"}, want: "out of range: 0 <= value <= 65507"},
		{args: []string{"-p", "xyz", "127.0.0.1"}, want: "patterns must be specified as hex digits: xyz"},
		{args: []string{"-p", "0g", "127.0.0.1"}, want: "patterns must be specified as hex digits: 0g"},
		{args: []string{"-c", "0", "127.0.0.1"}, want: "invalid argument: '0': out of range: 1 <= value"},
		{args: []string{"-c", "many", "127.0.0.1"}, want: `invalid value "many" for flag -c`},
		{args: []string{"-t", "0", "127.0.0.1"}, want: "cannot set unicast time-to-live: invalid argument"},
		{args: []string{"-t", "256", "127.0.0.1"}, want: "out of range: 0 <= value <= 255"},
		{args: []string{"-i", "-1", "127.0.0.1"}, want: `invalid value "-1" for flag -i`},
		{args: []string{"-i", "fast", "127.0.0.1"}, want: `invalid value "fast" for flag -i`},
		{args: []string{"-w", "-1", "127.0.0.1"}, want: "out of range: 0 <= value <= 2147483647"},
		{args: []string{"-W", "0", "127.0.0.1"}, want: "bad linger time"},
		{args: []string{"-4", "-6", "127.0.0.1"}, want: "only one -4 or -6"},
		{args: []string{"-I", "nosuchif0", "-c", "1", "127.0.0.1"}, want: "SO_BINDTODEVICE nosuchif0: no such device"},
		{args: []string{"127.0.0.1", "-s"}, want: "flag needs an argument: -s"},
	},
	"traceroute": {
		{args: []string{"-m", "0", "127.0.0.1"}, want: "-m 0: want 1-255"},
		{args: []string{"-m", "256", "127.0.0.1"}, want: "-m 256: want 1-255"},
		{args: []string{"-f", "0", "127.0.0.1"}, want: "-f 0: want 1 to max_ttl"},
		{args: []string{"-f", "5", "-m", "3", "127.0.0.1"}, want: "-f 5: want 1 to max_ttl"},
		{args: []string{"-q", "0", "127.0.0.1"}, want: "-q 0: want 1-10"},
		{args: []string{"-q", "11", "127.0.0.1"}, want: "-q 11: want 1-10"},
		{args: []string{"-w", "-1", "127.0.0.1"}, want: `invalid value "-1" for flag -w`},
	},
	"icmp-responder": {
		{args: []string{"-script", "x"}, want: `script item "x": want SEQ:FAULT`},
		{args: []string{"-script", "99999:drop"}, want: `script item "99999:drop": want SEQ:FAULT`},
		{args: []string{"-script", "1:explode"}, want: `unknown fault "explode"`},
		{args: []string{"-script", "1:delay=soon"}, want: `script item "1:delay=soon"`},
	},
	"bench": {
		{args: []string{"-conns", "0"}, want: "need at least 1 connection"},
		{args: []string{"-size", "0"}, want: "size must be at least 1 byte"},
		{args: []string{"-workload", "nosuch"}, want: `workload "nosuch": want echo or connect`},
		{args: []string{"-requests", "-1"}, want: "-requests cannot be negative"},
		{args: []string{"-warmup", "-1s"}, want: "-warmup: a duration cannot be negative"},
		{args: []string{"-duration", "0s"}, want: "need a duration or a number of requests"},
	},
	"fork-demo": {
		{args: []string{"-sleep", "-1s"}, want: `invalid value "-1s" for flag -sleep: a duration cannot be negative`},
		{args: []string{"-sleep", "-1"}, want: `invalid value "-1" for flag -sleep: a duration cannot be negative`},
		{args: []string{"-sleep", "soon"}, want: `invalid value "soon" for flag -sleep: want seconds (5, 0.2) or a duration (500ms, 1m30s)`},
	},
	"zombie-demo": {{args: []string{"-sleep", "-0.5"}, want: `invalid value "-0.5" for flag -sleep: a duration cannot be negative`}},
	"thread-demo": {{args: []string{"-sleep", "1x"}, want: `invalid value "1x" for flag -sleep: want seconds`}},
	"nonblock-demo": {
		{args: []string{"-rcvtimeo", "0s"}, want: "-rcvtimeo must be at least 1ms"},
		{args: []string{"-delay", "-1"}, want: `invalid value "-1" for flag -delay: a duration cannot be negative`},
	},
}

func sortedCommands() []*command {
	var cs []*command
	for _, c := range commands {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	return cs
}

// TestBadInput: every command, every mistake: one line on stderr,
// "netprog CMD: ...", exit 2, nothing on stdout.
func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, c := range sortedCommands() {
		t.Run(c.name, func(t *testing.T) {
			cases := append(commonBadInputs(c), specificBadInputs[c.name]...)
			for _, bi := range cases {
				args := append([]string{c.name}, bi.args...)
				out, errOut, code := runNetprog(t, bi.stdin, args...)
				if c.name == "udp-client" {
					// The client prints its prompt and echoes the line it
					// read before it knows the datagram is too long.
					out = ""
				}
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				if code != 2 || len(lines) != 1 || !strings.HasPrefix(errOut, "netprog "+c.name+": ") ||
					!strings.Contains(errOut, bi.want) || out != "" {
					t.Errorf("netprog %s: exit %d, stdout %.80q\nstderr %q\nwant exit 2 and one line with %q",
						strings.Join(args, " "), code, out, errOut, bi.want)
				}
				t.Logf("RELIABILITY bad-input `netprog %s` => %d `%s`", shortArgs(args), code, strings.TrimSpace(errOut))
			}
			t.Logf("%d bad inputs", len(cases))
		})
	}
	// Nothing half-done: a server refused its address left no socket file.
	if _, err := os.Stat(strings.TrimPrefix(longUnixPath, "unix:")); err == nil {
		t.Errorf("a socket file was left at the too-long path")
	}
}

// TestBadInputUnresolvable: a name that cannot be resolved, given to every
// command that takes a host, is one line and exit 2. The commands run in
// network and mount namespaces of their own where the host table is the
// only source of names (hosts: files), so no query leaves the machine
// (the technique of TestUnresolvableName).
func TestBadInputUnresolvable(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is not installed (util-linux)")
	}
	if _, err := os.Stat("/etc/nsswitch.conf"); err != nil {
		t.Skip("no /etc/nsswitch.conf to replace in the namespace")
	}
	nss := filepath.Join(t.TempDir(), "nsswitch.conf")
	if err := os.WriteFile(nss, []byte("hosts: files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command("unshare", "--net", "--mount", "sh", "-c", `mount --bind "$1" /etc/nsswitch.conf`, "sh", nss)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot make network and mount namespaces here (need root): %v %s", err, out)
	}
	const name = "nosuch.invalid"
	for _, c := range sortedCommands() {
		var args []string
		switch {
		case hostArg(c):
			args = []string{c.name, name}
		case c.name == "bench":
			args = []string{c.name, name + ":5090"}
		case commandFlags(c).Lookup("host") != nil:
			args = []string{c.name, "-host", name}
		default:
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("unshare", append([]string{"--net", "--mount", "sh", "-c",
				`mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"`, "sh", nss, netprogBin}, args...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			t.Logf("RELIABILITY bad-input `netprog %s` => %d `%s`", strings.Join(args, " "), code, strings.TrimSpace(stderr.String()))
			want := "netprog " + c.name + ": resolve " + name + ": name or service not known\n"
			if code != 2 || stderr.String() != want || stdout.String() != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line %q", args, code, stdout.String(), stderr.String(), want)
			}
		})
	}
}

// shortArgs renders a command line with long arguments cut, for the log.
func shortArgs(args []string) string {
	var out []string
	for _, a := range args {
		if len(a) > 24 {
			a = a[:16] + "..." + a[len(a)-4:]
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
