package clients

import (
	"context"
	"io"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// Chat is the course's chat client: connect to the chat server and hold one
// conversation, the server speaking first. The conversation itself is
// protocol.Chat, the same code the server runs. When this side quits (q, or
// the end of its input), the client waits for the server to close, as the
// echo clients do: at most QuitWait in all, saying on notes when the server
// kept the connection open or kept sending.
func Chat(server sys.Addr, chat *protocol.Chat, notes io.Writer) (protocol.ChatEnd, error) {
	fd, err := sys.Dial(server, unix.SOCK_STREAM, 0)
	if err != nil {
		return protocol.ChatStopped, err
	}
	defer sys.Close(fd)
	end, err := chat.Talk(context.Background(), fd, server, false)
	if err == nil && (end == protocol.ChatIQuit || end == protocol.ChatInputClosed) {
		quitWait(fd, QuitWait, notes)
	}
	return end, err
}
