package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The README's excerpts of program output, each between
//
//	<!-- output NAME: written by `make readme-strace` from the test named here -->
//	<!-- /output NAME -->
//
// are runs of the program, never typed by hand: the test that runs the
// command writes its block with -update-strace (make readme-strace), and
// otherwise checks that the block still says what a run says now, compared
// as the block's test decides (most mask the numbers: times, ports and pids
// differ from run to run, the lines may not). The strace blocks are the same
// idea for strace runs (strace_lessons_test.go).

var outputBlockRE = regexp.MustCompile(`(?s)<!-- output ([\w-]+)[^>]*-->\n(.*?)<!-- /output ([\w-]+) -->\n`)

// readmeMu serialises the tests that rewrite README.md: each reads the file
// afresh under it, replaces its own blocks and writes it back.
var readmeMu sync.Mutex

// readmeOutputs returns the README's output blocks by name (their bodies).
func readmeOutputs(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range outputBlockRE.FindAllStringSubmatch(string(readme), -1) {
		if m[1] != m[3] {
			t.Fatalf("README: output block %q ends as %q", m[1], m[3])
		}
		blocks[m[1]] = m[2]
	}
	return blocks
}

// outputBlock renders a block's body: the command as a user types it, then
// what the run printed, in a fence (no command line when command is "").
func outputBlock(command, output string) string {
	if command == "" {
		return "```\n" + strings.TrimRight(output, "\n") + "\n```\n"
	}
	return "```\n$ " + command + "\n" + strings.TrimRight(output, "\n") + "\n```\n"
}

// checkReadmeOutput checks the README's output block name against body, a
// fresh run rendered by outputBlock, with same deciding (nil: the two are
// equal once every number is masked); with -update-strace it writes body
// into the block instead. from names the test, for the marker.
func checkReadmeOutput(t *testing.T, name, from, body string, same func(readme, run string) bool) {
	t.Helper()
	if same == nil {
		same = func(readme, run string) bool { return maskNumbers(readme) == maskNumbers(run) }
	}
	if *updateStrace {
		readmeMu.Lock()
		defer readmeMu.Unlock()
		readme, err := os.ReadFile(readmePath)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		out := outputBlockRE.ReplaceAllStringFunc(string(readme), func(m string) string {
			sm := outputBlockRE.FindStringSubmatch(m)
			if sm[1] != name {
				return m
			}
			found = true
			return "<!-- output " + name + ": written by `make readme-strace` from " + from + " -->\n" + body + "<!-- /output " + name + " -->\n"
		})
		if !found {
			t.Fatalf("README has no block <!-- output %s --> to write (add the two markers where it goes)", name)
		}
		if err := os.WriteFile(readmePath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, ok := readmeOutputs(t)[name]
	if !ok {
		t.Errorf("README has no block <!-- output %s --> (make readme-strace writes it once the markers are there)", name)
		return
	}
	if !same(got, body) {
		t.Errorf("README's output block %s is not what the program prints now (make readme-strace rewrites it):\nREADME:\n%s\na run now:\n%s", name, got, body)
	}
}

var anyNumber = regexp.MustCompile(`[0-9]+`)

// maskNumbers replaces every number with N.
func maskNumbers(s string) string { return anyNumber.ReplaceAllString(s, "N") }

// readmeOutputTests names the test that writes each output block, so that
// a block no test writes is found (TestReadmeOutputsHaveTests).
var readmeOutputTests = map[string]string{
	"trace-bind":        "TestReadmeTrace",
	"errors":            "TestReadmeErrors",
	"fork-demo":         "TestForkDemo",
	"zombie-demo":       "TestZombieDemoReap",
	"check-echo":        "TestCheckExpected",
	"uring-eperm":       "TestUringUnavailable",
	"ping":              "TestReadmePing",
	"traceroute":        "TestTracerouteThroughRouter",
	"uring-summary":     "TestReadmeUringSummary",
	"reuseport-summary": "TestReadmeReuseportSummary",
}

// TestReadmeOutputsHaveTests: every output block of the README is one a
// test writes and checks, and every such test's block is there.
func TestReadmeOutputsHaveTests(t *testing.T) {
	blocks := readmeOutputs(t)
	for name := range blocks {
		if _, ok := readmeOutputTests[name]; !ok {
			t.Errorf("README's output block %q is checked by no test (readmeOutputTests)", name)
		}
	}
	for name, test := range readmeOutputTests {
		if _, ok := blocks[name]; !ok {
			t.Errorf("README has no output block %q (%s writes it)", name, test)
		}
	}
}

// TestReadmeTrace: the README's example of --trace, a server whose port is
// taken: the calls up to the failed bind, the close, and the one-line
// error; exit 2.
func TestReadmeTrace(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // another program holds the port
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	args := []string{"--trace", "greet-server", "-host", "127.0.0.1", "-port", port}
	out, errOut, code := runNetprog(t, "", args...)
	if code != 2 || out != "" ||
		!strings.Contains(errOut, "bind(") || !strings.Contains(errOut, ":"+port+"}) = -1 EADDRINUSE (Address already in use)\n") ||
		!strings.HasSuffix(errOut, "netprog greet-server: bind 127.0.0.1:"+port+": address already in use\n") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	checkReadmeOutput(t, "trace-bind", "cmd/netprog/readme_output_test.go", outputBlock("./netprog "+strings.Join(args, " "), errOut), nil)
}

// TestReadmePing: the README's first ping, three requests to 127.0.0.1.
func TestReadmePing(t *testing.T) {
	t.Parallel()
	needRoot(t)
	out, errOut, code := runNetprog(t, "", "ping", "-c", "3", "127.0.0.1")
	if code != 0 || errOut != "" || !strings.Contains(out, "3 packets transmitted, 3 received, 0% packet loss") {
		t.Fatalf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
	checkReadmeOutput(t, "ping", "cmd/netprog/readme_output_test.go", outputBlock("sudo ./netprog ping -c 3 127.0.0.1", out),
		func(readme, run string) bool {
			return strings.Join(masked(readme), "\n") == strings.Join(masked(run), "\n")
		})
}

// TestReadmeErrors: the README's examples of the one-line errors and their
// exit statuses: a port in use, a connection refused, a name that does not
// resolve (in namespaces where no query can leave), a privileged port as
// user nobody. Each is also tested on its own (foundation_test.go); here
// they are run once more for the excerpt.
func TestReadmeErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	refusing := fndRefusingPort(t)
	type run struct {
		stderr string
		code   int
		note   string
	}
	var runs []run
	_, errOut, code := runNetprog(t, "", "echo-server", "-port", port)
	runs = append(runs, run{errOut, code, ""})
	_, errOut, code = runNetprog(t, "", "echo-client", "-port", refusing)
	runs = append(runs, run{errOut, code, ""})
	errOut, code = runUnresolvable(t, "echo-client", "-host", "nosuch.invalid")
	runs = append(runs, run{errOut, code, ""})
	errOut, code = runAsNobody(t, "echo-server", "-port", "80")
	runs = append(runs, run{errOut, code, ", as a normal user"})
	wants := []struct {
		line string
		code int
	}{
		{"netprog echo-server: bind 127.0.0.1:" + port + ": address already in use", 2},
		{"netprog echo-client: connect 127.0.0.1:" + refusing + ": connection refused", 1},
		{"netprog echo-client: resolve nosuch.invalid: name or service not known", 2},
		{"netprog echo-server: bind 127.0.0.1:80: permission denied", 2},
	}
	width := 0
	for i, r := range runs {
		if r.stderr != wants[i].line+"\n" || r.code != wants[i].code {
			t.Fatalf("stderr %q, exit %d; want %q, exit %d", r.stderr, r.code, wants[i].line, wants[i].code)
		}
		width = max(width, len(wants[i].line))
	}
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "%-*s (exit %d%s)\n", width, strings.TrimSuffix(r.stderr, "\n"), r.code, r.note)
	}
	// Numbers masked, and the padding with them: a port of four digits
	// pads its line by one more space.
	spaces := regexp.MustCompile(` +`)
	checkReadmeOutput(t, "errors", "cmd/netprog/readme_output_test.go", outputBlock("", b.String()), func(readme, run string) bool {
		return spaces.ReplaceAllString(maskNumbers(readme), " ") == spaces.ReplaceAllString(maskNumbers(run), " ")
	})
}
