package sys_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// An event loop's connect: start it, wait for the socket to turn writable,
// read the outcome.
func ExampleConnectStart() {
	a, _ := sys.ResolveAddr("127.0.0.1:0", sys.AnyFamily)
	lfd, bound, err := sys.Listener(a, 16, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(lfd)

	fd, _ := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	defer sys.Close(fd)
	done, err := sys.ConnectStart(fd, bound)
	if err != nil {
		fmt.Println(err)
		return
	}
	if !done {
		// An epoll loop would watch for EPOLLOUT here with the rest.
		sys.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 5*time.Second)
	}
	fmt.Println("connect:", sys.SocketError(fd, bound))
	// Output: connect: <nil>
}

func TestConnectStartRefused(t *testing.T) {
	a, _ := sys.ResolveAddr("127.0.0.1:0", sys.AnyFamily)
	lfd, bound, err := sys.Listener(a, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	sys.Close(lfd) // nobody listens on bound any more
	fd, err := sys.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(fd)
	done, err := sys.ConnectStart(fd, bound)
	if err == nil && !done {
		sys.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}, 5*time.Second)
		err = sys.SocketError(fd, bound)
	}
	if sys.Errno(err) != unix.ECONNREFUSED {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	if want := "connect " + bound.String() + ": connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// A thread's own CPU time: what the load generator reads to tell whether
// it was the limit.
func ExampleGetrusage() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, _ := sys.Getrusage(unix.RUSAGE_THREAD)
	for start := time.Now(); time.Since(start) < 20*time.Millisecond; {
	}
	after, _ := sys.Getrusage(unix.RUSAGE_THREAD)
	fmt.Println(sys.CPUTime(&after) > sys.CPUTime(&before))
	// Output: true
}

// A pipe is not a terminal: a program writing into one draws no progress.
func ExampleIsTerminal() {
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	fmt.Println(sys.IsTerminal(int(w.Fd())))
	// Output: false
}
