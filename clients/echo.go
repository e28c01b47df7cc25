package clients

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/servers"
	"netprog/sys"
)

// Echo is the course's echo client in its several dresses (one per course
// server: see the presets in cmd/netprog): it reads lines from the user,
// sends each, and prints the server's reply.
type Echo struct {
	Banner      string        // printed once after connecting ("Enter q or Q to quits:")
	Prompt      string        // printed before each line is read
	ReplyPrefix string        // printed before each reply ("Received data: ")
	QuitOnBlank bool          // an empty line also quits (the select client's rule)
	Quiet       time.Duration // the reply quiet period (0: ReplyQuiet)
	In          int           // the descriptor the user types on (0)
	Out         io.Writer
}

// Run connects to server and talks until the user quits (q or Q, which is
// sent so the server can close its side, or end of input) or the server
// closes the connection (ErrPeerClosed).
func (e *Echo) Run(server sys.Addr) error {
	fd, err := sys.Dial(server, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer sys.Close(fd)
	quiet := e.Quiet
	if quiet <= 0 {
		quiet = ReplyQuiet
	}
	input := servers.NewInput(e.In, e.Out)
	replies := servers.NewMessageReader(fd, quiet)

	fmt.Fprint(e.Out, e.Banner)
	for {
		fmt.Fprint(e.Out, e.Prompt)
		line, err := input.Line()
		if err == io.EOF {
			if !strings.HasSuffix(e.Prompt, "\n") {
				fmt.Fprintln(e.Out) // end the prompt's line
			}
			return nil // closing is enough: the server reads end of file
		}
		if err != nil {
			return err
		}
		if e.QuitOnBlank && len(line) == 0 {
			return nil
		}
		line = append(line[:len(line):len(line)], '\n')
		if _, err := sys.Send(fd, line, 0); err != nil {
			return closedOr(server, err)
		}
		if servers.IsQuit(line) {
			drain(fd)
			return nil
		}
		reply, err := replies.Next()
		if err != nil {
			return closedOr(server, err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Out, "%s%s\n", e.ReplyPrefix, servers.Printable(reply))
	}
}

// closedOr names a connection the server closed as such. A server that
// closed its socket answers the data we send afterwards with a reset (RST),
// so the next read may fail with ECONNRESET rather than see end of file,
// and a send with EPIPE: all three mean the server is gone.
func closedOr(server sys.Addr, err error) error {
	if err == io.EOF || sys.IsPeerGone(err) {
		return fmt.Errorf("%s: %w", server, ErrPeerClosed)
	}
	return err
}

// drainWait bounds drain: a server closes at once when it reads our end
// of file, so this only ends the wait for one that does not; it is not
// ReplyQuiet, because a loaded machine may take longer than a reply's
// quiet period to run the server at all.
const drainWait = 5 * time.Second

// drain ends a conversation politely after q: shutdown(SHUT_WR) sends our
// FIN, then we read (and drop) whatever the server still sends until its
// end of file, or until it has been silent for drainWait. Closing at once
// instead would make a pure-echo server's echo of "q" meet a closed socket,
// and the kernel would answer it with a reset: the server would log
// "connection reset by peer" for a client that did nothing wrong.
func drain(fd int) {
	if sys.Shutdown(fd, unix.SHUT_WR) != nil {
		return
	}
	sys.SetRecvTimeout(fd, drainWait)
	var buf [512]byte
	for {
		n, err := sys.Read(fd, buf[:])
		if n == 0 || err != nil {
			return
		}
	}
}
