package clients

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
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
	// Course frames messages as the course's programs do: each line is sent
	// exactly as typed, with no newline, and one read is one reply. Use it
	// with servers that take one recv as one message (the notes' own).
	Course   bool
	QuitWait time.Duration // after q, how long in all to wait for the server to close (0: QuitWait)
	In       int           // the descriptor the user types on (0)
	Out      io.Writer
	Notes    io.Writer // where to say that the server did not close after q (nil: Out)
}

// Run connects to server and talks until the user quits (q or Q, which is
// sent so the server can close its side; end of input sends q too) or the
// server closes the connection (ErrPeerClosed).
//
// A message goes out with a newline, so a server that frames by lines (as
// netprog's do) knows where it ends, and an empty line is a message too. The
// quit goes out as the course sends it: the q or Q alone, no newline, in a
// send of its own, because the course's servers compare a whole recv with
// 'q'; netprog's servers take a newline-less q as quit as well.
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
	if e.Course {
		quiet = protocol.OneRead
	}
	input := protocol.NewInput(e.In, e.Out)
	replies := protocol.NewMessageReader(fd, quiet)

	fmt.Fprint(e.Out, e.Banner)
	for {
		fmt.Fprint(e.Out, e.Prompt)
		line, err := input.Line()
		if err == io.EOF {
			if !strings.HasSuffix(e.Prompt, "\n") {
				fmt.Fprintln(e.Out) // end the prompt's line
			}
			// The user is done: quit as if q had been typed, as the chat
			// does. End of file alone is enough for netprog's servers,
			// but the course's echo server, reading it, spins sending
			// "You Send:" until its send fails and it dies.
			line = []byte("q")
		} else if err != nil {
			return err
		}
		if e.QuitOnBlank && len(line) == 0 {
			return nil
		}
		if protocol.IsQuit(line) {
			if _, err := sys.Send(fd, line, 0); err != nil {
				return closedOr(server, err)
			}
			e.afterQuit(fd)
			return nil
		}
		if e.Course && len(line) == 0 {
			// send(2) of nothing sends nothing: no reply would come.
			continue
		}
		if !e.Course {
			line = append(line[:len(line):len(line)], '\n')
		}
		if _, err := sys.Send(fd, line, 0); err != nil {
			return closedOr(server, err)
		}
		reply, err := replies.Next()
		if err != nil {
			return closedOr(server, err)
		}
		fmt.Fprintf(e.Out, "%s%s\n", e.ReplyPrefix, protocol.Printable(reply))
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

// QuitWait bounds how long a client waits, in all, for the server to close
// after q. A server closes at once when it reads q (or our end of file); one
// that does not (the notes' echo server, ported literally, sends "You Send:"
// forever once its client has gone) must not keep the client: after QuitWait
// the client closes anyway and says so.
const QuitWait = 2 * time.Second

// afterQuit ends a conversation politely after q: shutdown(SHUT_WR) sends
// our FIN, then we read (and drop) whatever the server still sends until its
// end of file, for at most QuitWait in all (a deadline, not a silence: a
// server that keeps sending would otherwise keep us for ever). Closing at
// once instead would make a pure-echo server's echo of "q" meet a closed
// socket, and the kernel would answer it with a reset: the server would log
// "connection reset by peer" for a client that did nothing wrong.
func (e *Echo) afterQuit(fd int) {
	notes := e.Notes
	if notes == nil {
		notes = e.Out
	}
	quitWait(fd, e.QuitWait, notes)
}

// quitWait is afterQuit's wait, shared with the chat client: wait (0:
// QuitWait) at most, saying on notes what the server did instead of
// closing.
func quitWait(fd int, wait time.Duration, notes io.Writer) {
	if wait <= 0 {
		wait = QuitWait
	}
	if sys.Shutdown(fd, unix.SHUT_WR) != nil {
		return
	}
	sent, open := drain(fd, wait)
	switch {
	case sent > 0 && open:
		fmt.Fprintf(notes, "the server kept sending after q (%d bytes in %v); closing\n", sent, wait)
	case open:
		fmt.Fprintf(notes, "the server kept the connection open %v after q; closing\n", wait)
	}
}

// drain reads and drops what fd still sends until end of file or until wait
// has passed in all; it returns the bytes it dropped and whether the
// connection was still open at the end. A reset counts as closed.
func drain(fd int, wait time.Duration) (dropped int, open bool) {
	deadline := time.Now().Add(wait)
	var buf [4096]byte
	for left := wait; ; left = time.Until(deadline) {
		if left <= 0 {
			return dropped, true
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := sys.Poll(fds, left)
		if err != nil {
			return dropped, false
		}
		if n == 0 {
			return dropped, true
		}
		n, err = sys.Read(fd, buf[:])
		if n == 0 || err != nil {
			return dropped, false
		}
		dropped += n
	}
}
