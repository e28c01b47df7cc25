package protocol

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The course's prompts and labels for the chat.
const (
	ChatPrompt   = "SEND( TYPE q or Q to Quit):"
	ChatReceived = "RECIEVED:" // sic: the course's spelling
)

// ChatQuiet is how long a chat waits for the rest of a message that arrived
// without its newline before taking it as it is (the client's side of the
// message rule; the course's Python chat sends no newlines).
const ChatQuiet = 100 * time.Millisecond

// ChatEnd says how a conversation ended.
type ChatEnd int

const (
	ChatIQuit       ChatEnd = iota // this side typed q or Q
	ChatInputClosed                // this side's input ended: q was sent for it
	ChatPeerQuit                   // the peer sent q or Q
	ChatPeerClosed                 // the peer closed the connection without q
	ChatStopped                    // the program is stopping (the socket was shut down under us)
)

// Chat is one end of the course's peer-to-peer chat; the server and the
// client run the same code and differ only in who speaks first.
//
// Turn-taking (the course): the side whose turn it is types one line, which
// is sent; then it waits for the other's line. While this side types, poll(2)
// watches its input and, with POLLRDHUP, the socket: so a peer that hangs up
// is noticed at once, without reading a message it sent out of turn early.
//
// Duplex: both sides type whenever they like; one poll(2) waits on the
// input and the socket together, and whichever is ready is served. That is
// the lesson: one thread, two descriptors, no blocking on either.
//
// A message is a line (the message rule): lines are sent with a newline, and
// a message that arrives without one is complete after ChatQuiet. q or Q from
// either side ends the conversation; so does end of input (q is sent for it).
// The quit goes out as the course sends it, q alone with no newline, because
// the course's chat compares a whole recv with 'q'.
//
// Course frames every message as the course's programs do: sent exactly as
// typed, no newline, and one read taken as one message. An empty line is then
// not sent at all (send(2) of nothing sends nothing, and both sides would
// wait): it is still this side's turn.
type Chat struct {
	In     int       // the descriptor the user types on (0)
	Out    io.Writer // prompts and what the peer said
	Duplex bool
	Course bool

	input *Input // kept across conversations: a pipe may hold the next lines
}

func (c *Chat) lines() *Input {
	if c.input == nil {
		c.input = NewInput(c.In, c.Out)
	}
	return c.input
}

// Talk holds one conversation on the connected socket fd with peer until
// either side quits or the connection ends. The caller closes fd; it stops
// Talk early by shutting fd down (shutdown(2) wakes the poll).
func (c *Chat) Talk(ctx context.Context, fd int, peer sys.Addr, speakFirst bool) (ChatEnd, error) {
	quiet := ChatQuiet
	if c.Course {
		quiet = OneRead
	}
	conv := &conversation{Chat: c, ctx: ctx, fd: fd, peer: peer, sock: NewMessageReader(fd, quiet)}
	if c.Duplex {
		return conv.duplex()
	}
	return conv.turns(speakFirst)
}

// conversation is the state of one Talk.
type conversation struct {
	*Chat
	ctx  context.Context
	fd   int
	peer sys.Addr
	sock *MessageReader
}

func (v *conversation) turns(myTurn bool) (ChatEnd, error) {
	for {
		if !myTurn {
			end, over, err := v.receive()
			if over || err != nil {
				return end, err
			}
			myTurn = true
			continue
		}
		fmt.Fprint(v.Out, ChatPrompt)
		if !v.lines().Buffered() {
			// Wait for the user, but hear the peer hang up meanwhile.
			fds := []unix.PollFd{
				{Fd: int32(v.In), Events: unix.POLLIN},
				{Fd: int32(v.fd), Events: unix.POLLRDHUP},
			}
			if _, err := sys.Poll(fds, -1); err != nil {
				return ChatStopped, err
			}
			if fds[1].Revents != 0 {
				fmt.Fprintln(v.Out)
				return v.drain()
			}
		}
		end, over, sent, err := v.send()
		if over || err != nil {
			return end, err
		}
		myTurn = !sent
	}
}

func (v *conversation) duplex() (ChatEnd, error) {
	fmt.Fprint(v.Out, ChatPrompt)
	for {
		// Lines already read but not handed out are invisible to poll.
		inReady, sockReady := v.lines().Buffered(), v.sock.Buffered()
		if !inReady && !sockReady {
			fds := []unix.PollFd{
				{Fd: int32(v.In), Events: unix.POLLIN},
				{Fd: int32(v.fd), Events: unix.POLLIN},
			}
			if _, err := sys.Poll(fds, -1); err != nil {
				return ChatStopped, err
			}
			inReady, sockReady = fds[0].Revents != 0, fds[1].Revents != 0
		}
		if sockReady {
			end, over, err := v.receive()
			if over || err != nil {
				return end, err
			}
		}
		if inReady {
			end, over, _, err := v.send()
			if over || err != nil {
				return end, err
			}
			fmt.Fprint(v.Out, ChatPrompt)
		}
	}
}

// send reads the user's next line and sends it; over is true when the
// conversation ended with it, and sent is false when there was nothing to
// send (an empty line in Course framing).
func (v *conversation) send() (end ChatEnd, over, sent bool, err error) {
	line, err := v.lines().Line()
	end = ChatIQuit
	switch {
	case err == io.EOF:
		line, end = []byte("q"), ChatInputClosed
		fmt.Fprintln(v.Out)
	case err != nil:
		return ChatStopped, true, false, err
	}
	quit := IsQuit(line)
	msg := line // q goes alone, as the course sends it
	if !quit && !v.Course {
		msg = append(line[:len(line):len(line)], '\n')
	}
	if len(msg) == 0 { // an empty course message: nothing to send
		return 0, false, false, nil
	}
	if _, err := sys.Send(v.fd, msg, 0); err != nil {
		end, over, err := v.broken(err)
		return end, over, true, err
	}
	return end, quit, true, nil
}

// receive takes the peer's next message and prints it; over is true when
// the conversation ended with it.
func (v *conversation) receive() (end ChatEnd, over bool, err error) {
	msg, err := v.sock.Next()
	switch {
	case err == io.EOF:
		if v.ctx.Err() != nil {
			return ChatStopped, true, nil
		}
		fmt.Fprintf(v.Out, "%s closed the connection\n", v.peer)
		return ChatPeerClosed, true, nil
	case err != nil:
		return v.broken(err)
	case IsQuit(msg):
		fmt.Fprintf(v.Out, "I received %s\n", Printable(msg))
		return ChatPeerQuit, true, nil
	}
	fmt.Fprintf(v.Out, "%s %s\n", ChatReceived, Printable(msg))
	return 0, false, nil
}

// drain prints what the peer said before it hung up, until its q or the end.
func (v *conversation) drain() (ChatEnd, error) {
	for {
		end, over, err := v.receive()
		if over || err != nil {
			return end, err
		}
	}
}

// broken ends a conversation on an error: a stop we caused, or a peer failure
// (reset, EPIPE) reported to the caller.
func (v *conversation) broken(err error) (ChatEnd, bool, error) {
	if v.ctx.Err() != nil {
		return ChatStopped, true, nil
	}
	return ChatPeerClosed, true, err
}
