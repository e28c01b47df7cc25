// Command netprog is the course's programs in one binary: one subcommand per
// program. `netprog help` lists them with the idea each teaches.
//
// Exit status, for every command: 0 success; 1 the peer or the network failed
// us (connection refused or reset, no reply); 2 a usage error or a failure of
// this system (address in use, unresolvable name, permission denied).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"

	"netprog/sys"
)

// command is one program of the course.
type command struct {
	name    string
	teaches string // one line for `netprog help`
	more    string // more for `netprog help COMMAND`, after teaches
	args    string // what follows the flags, e.g. "HOST"
	watch   string // how to watch it with strace
	// setup declares the command's flags and returns what runs it with the
	// arguments left after them.
	setup func(fs *flag.FlagSet) func(args []string) error
	// getopt: the command mimics a classic tool whose users type
	// getopt-style clusters ("ping -c3 -qn"): see getoptArgs.
	getopt bool
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a mistake on the command line: exit 2, with a pointer to -h.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries a status without a message (the command printed its own).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

var stdout io.Writer = os.Stdout

// The main goroutine keeps the process's first thread for the whole run:
// locked during init, it is never moved, so every call the program makes
// from it (a server's accept4, a parent's clone, close and wait4, a demo's
// sleep) shows under the process id in strace -f, not under whichever
// thread the scheduler picked. The runtime's own threads still come and
// go beside it.
func init() { runtime.LockOSThread() }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// Global flags before the command name: --trace.
	for len(args) > 0 && (args[0] == "--trace" || args[0] == "-trace") {
		sys.SetTrace(os.Stderr)
		args = args[1:]
	}
	if len(args) == 0 {
		help(os.Stderr, nil)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		return help(os.Stdout, args[1:])
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "netprog: unknown command %q (netprog help lists them)\n", name)
		return 2
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	trace := fs.Bool("trace", false, "print each system call, strace-style, on stderr")
	runner := c.setup(fs)
	rest := args[1:]
	if c.getopt {
		rest = getoptArgs(fs, rest)
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(os.Stdout, c, fs)
			return 0
		}
		fmt.Fprintf(os.Stderr, "netprog %s: %v (netprog %s -h for usage)\n", name, err, name)
		return 2
	}
	if *trace {
		sys.SetTrace(os.Stderr)
	}
	err := dropAtStart(name) // a file capability is ping's alone: privilege.go
	if err == nil {
		err = runner(fs.Args())
	}
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	code := exitCode(err)
	msg := err.Error()
	var ue *usageError
	if errors.As(err, &ue) {
		msg += fmt.Sprintf(" (netprog %s -h for usage)", name)
	}
	fmt.Fprintf(os.Stderr, "netprog %s: %s\n", name, msg)
	return code
}

// exitCode maps an error to the documented exit status.
func exitCode(err error) int {
	if sys.IsPeerFailure(err) {
		return 1
	}
	return 2
}

func help(w io.Writer, args []string) int {
	if len(args) > 0 {
		c, ok := commands[args[0]]
		if !ok {
			fmt.Fprintf(os.Stderr, "netprog: unknown command %q\n", args[0])
			return 2
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		fs.Bool("trace", false, "print each system call, strace-style, on stderr")
		c.setup(fs)
		usage(w, c, fs)
		return 0
	}
	fmt.Fprintln(w, "netprog: the network programming course's programs, on Linux system calls.")
	fmt.Fprintln(w, "\nUsage: netprog [--trace] COMMAND [flags] [args]\n\nCommands:")
	names := listed()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, wrap(commands[n].teaches, helpWidth-width-4, width+4))
	}
	fmt.Fprintln(w, "\n"+wrap("netprog help COMMAND (or netprog COMMAND -h) shows a command's flags and how to watch it with strace.", helpWidth, 0))
	fmt.Fprintln(w, "Exit status: 0 success, 1 peer or network failure, 2 usage or system error.")
	return 0
}

// courseOrder is the order `netprog help` lists the commands in: the
// course's, lesson by lesson, as the README's contents go (the first
// server and client, echo, UDP, chat, names and ports, processes, threads,
// multiplexing, nonblocking sockets, ICMP), each server before its client.
var courseOrder = []string{
	"greet-server", "greet-client",
	"echo-server", "echo-client",
	"udp-server", "udp-client",
	"chat-server", "chat-client",
	"hostname", "ports",
	"fork-demo", "zombie-demo", "fork-server", "fork-client",
	"thread-demo", "thread-server", "thread-client",
	"select-server", "select-client",
	"nonblock-demo",
	"ping", "traceroute", "icmp-responder",
	"bench", "check",
}

// listed is the commands in courseOrder, then any registered but missing
// from it (sorted), so that none is ever left out of help.
func listed() []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range courseOrder {
		if commands[n] != nil && !seen[n] {
			names = append(names, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range commands {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// helpWidth is the terminal width help fits in.
const helpWidth = 80

// wrap breaks text into lines of at most width columns at spaces, and
// indents every line after the first by indent spaces (a hanging indent).
// A word longer than width has a line of its own.
func wrap(text string, width, indent int) string {
	var b strings.Builder
	col := 0
	for _, word := range strings.Fields(text) {
		switch {
		case col == 0:
		case col+1+len(word) > width:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}

func usage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: netprog %s [flags]%s\n\n%s\n", c.name, strings.TrimRight(" "+c.args, " "), wrap(c.teaches, helpWidth, 0))
	if c.more != "" {
		fmt.Fprintf(w, "\n%s\n", c.more)
	}
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if c.watch != "" {
		fmt.Fprintf(w, "\nWatch it:\n  %s\n", strings.ReplaceAll(c.watch, "\n", "\n  "))
	}
}
