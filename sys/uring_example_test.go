package sys_test

import (
	"fmt"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// A round trip through io_uring: one send and one recv on a socket pair,
// submitted together and completed by one io_uring_enter(2).
func ExampleRing() {
	ring, err := sys.NewRing(8, 0, 0)
	if err != nil {
		fmt.Println(err) // io_uring_setup: function not implemented, without io_uring
		return
	}
	defer ring.Close()
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	msg, buf := []byte("hello, ring\n"), make([]byte, 64)
	ring.SQE().PrepSend(fds[0], msg, 0, 1)
	ring.SQE().PrepRecv(fds[1], buf, 0, 2)
	var cqes [2]sys.CQE
	got := 0
	for got < 2 {
		if _, err := ring.SubmitAndWait(uint32(2 - got)); err != nil {
			fmt.Println(err)
			return
		}
		got += ring.Reap(cqes[got:])
	}
	for _, c := range cqes {
		if c.UserData == 2 {
			fmt.Printf("recv: %d bytes: %q\n", c.Res, buf[:c.Res])
		} else {
			fmt.Printf("send: %d bytes\n", c.Res)
		}
	}
	// Unordered output:
	// send: 12 bytes
	// recv: 12 bytes: "hello, ring\n"
}
