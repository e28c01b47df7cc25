package clients

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// ReplyQuiet is how long a client waits for the rest of a reply that came
// without its newline before it takes it as complete.
const ReplyQuiet = 200 * time.Millisecond

// Greet is the course's greet client: connect, receive the greeting, print
// it as "Received data: ...", close.
func Greet(server sys.Addr, out io.Writer) error {
	fd, err := sys.Dial(server, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer sys.Close(fd)
	msg, err := protocol.NewMessageReader(fd, ReplyQuiet).Next()
	if err == io.EOF {
		return fmt.Errorf("%s: %w before it said anything", server, ErrPeerClosed)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Received data: %s\n", protocol.Printable(msg))
	return nil
}
