package sys_test

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func ExampleResolveAddr() {
	for _, s := range []string{"localhost:5090", "[::1]:5090", ":8090", "unix:/tmp/echo.sock"} {
		a, err := sys.ResolveAddr(s, sys.AnyFamily)
		fmt.Println(a, err)
	}
	six, _ := sys.ResolveAddr("localhost:5090", sys.IPv6) // -6
	fmt.Println(six)
	_, err := sys.ResolveAddr("localhost:70000", sys.AnyFamily)
	fmt.Println(err)
	// Output:
	// 127.0.0.1:5090 <nil>
	// [::1]:5090 <nil>
	// 0.0.0.0:8090 <nil>
	// unix:/tmp/echo.sock <nil>
	// [::1]:5090
	// address "localhost:70000": port 70000 out of range 0-65535
}

func ExampleParsePort() {
	for _, s := range []string{"8090", "65536", "http"} {
		p, err := sys.ParsePort(s)
		fmt.Println(p, err)
	}
	// Output:
	// 8090 <nil>
	// 0 port 65536 out of range 0-65535
	// 0 port "http" is not a number
}

// A server's start and a client's first exchange: Listener (socket,
// setsockopt, bind, listen, getsockname), Dial (socket, connect), Accept4,
// then Send and Read.
func ExampleListener() {
	lo, _ := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	lfd, bound, err := sys.Listener(lo, 5, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(lfd)
	fmt.Println("the kernel chose a port:", bound.Port != 0)

	cfd, err := sys.Dial(bound, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(cfd)
	afd, _, err := sys.Accept4(lfd, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(afd)

	sys.Send(cfd, []byte("Thank you for Connecting \n"), 0)
	buf := make([]byte, 512)
	n, _ := sys.Read(afd, buf)
	fmt.Printf("%q\n", buf[:n])
	// Output:
	// the kernel chose a port: true
	// "Thank you for Connecting \n"
}

// Connecting where nothing listens: the error names the call and the
// address, and counts as the peer's failure (exit status 1).
func ExampleDial() {
	lo, _ := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	// A socket bound but not listening holds a port that refuses connections.
	fd, _ := sys.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer sys.Close(fd)
	sys.Bind(fd, lo)
	bound, _ := sys.Getsockname(fd)

	_, err := sys.Dial(bound, unix.SOCK_STREAM, 0)
	fmt.Println(strings.Replace(err.Error(), bound.String(), "ADDR", 1))
	fmt.Println(sys.Errno(err) == unix.ECONNREFUSED, sys.IsPeerFailure(err))
	// Output:
	// connect ADDR: connection refused
	// true true
}

// UDP keeps message boundaries: a datagram longer than the buffer is cut,
// and MSG_TRUNC makes recvfrom say how long it really was.
func ExampleRecvfrom() {
	lo, _ := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	fd, _ := sys.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	defer sys.Close(fd)
	sys.Bind(fd, lo)
	me, _ := sys.Getsockname(fd)

	sys.Sendto(fd, []byte("hello, world"), 0, me)
	buf := make([]byte, 5)
	n, from, full, _ := sys.Recvfrom(fd, buf, 0)
	fmt.Printf("%q: %d of %d bytes, from myself: %v\n", buf[:n], n, full, from == me)
	// Output:
	// "hello": 5 of 12 bytes, from myself: true
}

// Poll waits on several descriptors at once; here one end of a connection
// becomes readable once the other has sent.
func ExamplePoll() {
	lo, _ := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	lfd, bound, _ := sys.Listener(lo, 1, false)
	defer sys.Close(lfd)
	cfd, _ := sys.Dial(bound, unix.SOCK_STREAM, 0)
	defer sys.Close(cfd)
	afd, _, _ := sys.Accept4(lfd, 0)
	defer sys.Close(afd)

	fds := []unix.PollFd{{Fd: int32(afd), Events: unix.POLLIN}}
	n, _ := sys.Poll(fds, 0)
	fmt.Println("ready before:", n)
	sys.Send(cfd, []byte("hi\n"), 0)
	n, _ = sys.Poll(fds, -1)
	fmt.Println("ready after:", n, fds[0].Revents&unix.POLLIN != 0)
	// Output:
	// ready before: 0
	// ready after: 1 true
}

// SetTrace prints every call strace-style; a failing call shows its errno.
func ExampleSetTrace() {
	sys.SetTrace(os.Stdout)
	defer sys.SetTrace(nil)
	a := sys.Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 8090}
	sys.Bind(-1, a)
	sys.Close(-1)
	// Output:
	// bind(-1, {AF_INET, 127.0.0.1:8090}) = -1 EBADF (Bad file descriptor)
	// close(-1) = -1 EBADF (Bad file descriptor)
}

func ExampleUname() {
	u, err := sys.Uname()
	fmt.Println(u.Sysname, err, u.Nodename != "")
	// Output:
	// Linux <nil> true
}

func ExampleSysctl() {
	v, err := sys.Sysctl("net.ipv4.ip_local_port_range")
	fmt.Println(len(strings.Fields(v)), err)
	// Output:
	// 2 <nil>
}

func ExampleAddr_String() {
	fmt.Println(sys.Addr{Family: unix.AF_INET6, IP: netip.IPv6Loopback(), Port: 5090})
	fmt.Println(sys.Addr{Family: unix.AF_UNIX, Path: "/tmp/echo.sock"})
	// Output:
	// [::1]:5090
	// unix:/tmp/echo.sock
}

// A peer that does not read lets the sender's queue fill; once it reads,
// the queue shrinks, though the socket may not be writable (POLLOUT) yet.
func ExampleSendQueued() {
	lo, _ := sys.ResolveAddr("127.0.0.1:0", sys.IPv4)
	lfd, bound, _ := sys.Listener(lo, 5, false)
	defer sys.Close(lfd)
	cfd, _ := sys.Dial(bound, unix.SOCK_STREAM, 0)
	defer sys.Close(cfd)
	afd, _, _ := sys.Accept4(lfd, 0)
	defer sys.Close(afd)

	q, _ := sys.SendQueued(cfd)
	fmt.Println("nothing sent, queued:", q)
	sys.SetNonblock(cfd, true)
	chunk := make([]byte, 64<<10)
	for {
		if _, err := sys.Send(cfd, chunk, 0); sys.IsTemporary(err) {
			break // the peer's window and our buffer are full
		}
	}
	full, _ := sys.SendQueued(cfd)
	fmt.Println("the peer does not read, queued:", full > 0)

	for range 16 { // the peer reads 1 MiB
		sys.Read(afd, chunk)
	}
	shrank := false
	for deadline := time.Now().Add(10 * time.Second); !shrank && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		q, _ = sys.SendQueued(cfd)
		shrank = q < full
	}
	fmt.Println("the peer read, the queue shrank:", shrank)
	// Output:
	// nothing sent, queued: 0
	// the peer does not read, queued: true
	// the peer read, the queue shrank: true
}
