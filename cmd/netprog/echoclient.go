package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"netprog/clients"
)

// clientPreset is the course's client for one of its echo servers: the same
// program (clients.Echo) with that server's port, banner, prompt and way of
// printing replies. Each is its own command, named after its server:
// fork-server goes with fork-client, and so on.
type clientPreset struct {
	name, server string
	port         int
	echo         clients.Echo
}

var clientPresets = []clientPreset{
	{"echo-client", "echo-server", 5090, clients.Echo{
		Prompt: "Enter data to send to server: press q or Q to quit:\n"}},
	{"fork-client", "fork-server", 50007, clients.Echo{
		Banner: "Enter q or Q to quits:\n", Prompt: ">"}},
	{"select-client", "select-server", 50000, clients.Echo{
		Prompt: "%", QuitOnBlank: true}},
	{"thread-client", "thread-server", 5300, clients.Echo{
		Prompt: "Enter data to send:", ReplyPrefix: "Received data: "}},
}

func init() {
	for _, p := range clientPresets {
		register(&command{
			name:    p.name,
			teaches: fmt.Sprintf("client for %s: send each line typed, print the reply (read by the message rule); q or Q quits", p.server),
			watch:   fmt.Sprintf("strace -f -e trace=network,read,write ./netprog %s", p.name),
			setup:   p.setup,
		})
	}
}

func (p clientPreset) setup(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, p.port)
	prompt := fs.String("prompt", p.echo.Prompt, "printed before each line is read")
	quiet := secondsVar(fs, "quiet", clients.ReplyQuiet, "a reply without a newline is complete after this long with nothing more")
	course := fs.Bool("course", false, "frame as the course's programs do: send each line exactly as typed, no newline, and take one read as one reply (for servers that take one recv as one message)")
	quitWait := secondsVar(fs, "quit-wait", clients.QuitWait, "after q, wait at most this long in all for the server to close, then close anyway")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *quiet <= 0 {
			return usagef("-quiet must be > 0")
		}
		if *quitWait <= 0 {
			return usagef("-quit-wait must be > 0")
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		e := p.echo
		e.Prompt, e.Quiet, e.Course, e.QuitWait = *prompt, *quiet, *course, *quitWait
		e.In, e.Out, e.Notes = 0, stdout, notesTo(p.name)
		return clientExit(p.name, e.Run(addr))
	}
}

// clientExit gives "the server closed the connection", which carries no
// errno for exitCode to judge, its status: 1, a peer failure.
func clientExit(name string, err error) error {
	if errors.Is(err, clients.ErrPeerClosed) {
		fmt.Fprintf(os.Stderr, "netprog %s: %v\n", name, err)
		return &exitError{1}
	}
	return err
}

// notesTo is where a client says what went wrong without failing (a server
// that did not close after q): standard error, named like an error line.
func notesTo(name string) io.Writer {
	return prefixWriter{os.Stderr, "netprog " + name + ": "}
}

// prefixWriter puts prefix before each Write: one note is one Write.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
