package clients

import (
	"context"

	"golang.org/x/sys/unix"

	"netprog/servers"
	"netprog/sys"
)

// Chat is the course's chat client: connect to the chat server and hold one
// conversation, the server speaking first. The conversation itself is
// servers.Chat, the same code the server runs.
func Chat(server sys.Addr, chat *servers.Chat) (servers.ChatEnd, error) {
	fd, err := sys.Dial(server, unix.SOCK_STREAM, 0)
	if err != nil {
		return servers.ChatStopped, err
	}
	defer sys.Close(fd)
	return chat.Talk(context.Background(), fd, server, false)
}
