package sys_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// A parent hands one end of a second channel to a child over the first:
// what is written into the received descriptor comes out of the other end.
func ExampleSendFD() {
	ch, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(ch[0])
	defer sys.Close(ch[1])
	pair, _ := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	defer sys.Close(pair[1])

	if err := sys.SendFD(ch[0], pair[0]); err != nil {
		fmt.Println(err)
		return
	}
	sys.Close(pair[0]) // the open file lives on in the message

	fd, err := sys.RecvFD(ch[1])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("received a descriptor:", fd >= 0)
	sys.Write(fd, []byte("through the passed socket\n"))
	sys.Close(fd)
	buf := make([]byte, 64)
	n, _ := sys.Read(pair[1], buf)
	fmt.Print(string(buf[:n]))

	sys.Close(ch[0])
	fd, err = sys.RecvFD(ch[1])
	fmt.Println("after the sender closed:", fd, err)
	// Output:
	// received a descriptor: true
	// through the passed socket
	// after the sender closed: -1 <nil>
}

func ExampleSocketpair() {
	p, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	sys.Write(p[0], []byte("ping"))
	sys.Write(p[1], []byte("pong"))
	buf := make([]byte, 4)
	sys.Read(p[1], buf)
	fmt.Println(string(buf))
	sys.Read(p[0], buf)
	fmt.Println(string(buf))
	sys.Close(p[0])
	sys.Close(p[1])
	// Output:
	// ping
	// pong
}

func ExampleDup() {
	p, _ := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	second, err := sys.Dup(p[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	sys.Close(p[0]) // the socket stays open through the second descriptor
	sys.Write(second, []byte("still open"))
	buf := make([]byte, 16)
	n, _ := sys.Read(p[1], buf)
	fmt.Println(string(buf[:n]))
	sys.Close(second)
	sys.Close(p[1])
	// Output: still open
}

// recvFDFuncs are the two receivers: the traced one for Go code and the
// raw one for forked children (called here from ordinary Go code, which is
// allowed: it only makes a raw system call on global buffers).
var recvFDFuncs = []struct {
	name string
	recv func(sock int) (int, error)
}{
	{"RecvFD", sys.RecvFD},
	{"ChildRecvFD", func(sock int) (int, error) {
		fd, e := sys.ChildRecvFD(sock)
		if e != 0 {
			return fd, e
		}
		return fd, nil
	}},
}

func mustPair(t *testing.T) [2]int {
	t.Helper()
	p, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p
}

// TestRecvFD: a descriptor passed arrives as a new, close-on-exec
// descriptor for the same socket; several in a row each come with their
// own byte; a plain byte with no descriptor is EBADMSG; end of file is -1
// and no error.
func TestRecvFD(t *testing.T) {
	for _, r := range recvFDFuncs {
		t.Run(r.name, func(t *testing.T) {
			ch := mustPair(t)
			var others [3][2]int
			for i := range others {
				others[i] = mustPair(t)
				if err := sys.SendFD(ch[0], others[i][0]); err != nil {
					t.Fatal(err)
				}
			}
			for i := range others {
				fd, err := r.recv(ch[1])
				if err != nil || fd < 0 {
					t.Fatalf("message %d: fd %d, %v", i, fd, err)
				}
				flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
				if flags&unix.FD_CLOEXEC == 0 {
					t.Errorf("received descriptor %d is not close-on-exec", fd)
				}
				msg := "to " + strconv.Itoa(i)
				unix.Write(fd, []byte(msg))
				unix.Close(fd)
				buf := make([]byte, 16)
				n, _ := unix.Read(others[i][1], buf)
				if string(buf[:n]) != msg {
					t.Errorf("message %d went elsewhere: read %q from its peer", i, buf[:n])
				}
			}
			unix.Write(ch[0], []byte{'x'})
			if fd, err := r.recv(ch[1]); fd != -1 || !errors.Is(err, unix.EBADMSG) {
				t.Errorf("a byte without a descriptor: %d, %v; want -1, EBADMSG", fd, err)
			}
			unix.Close(ch[0])
			if fd, err := r.recv(ch[1]); fd != -1 || err != nil {
				t.Errorf("at end of file: %d, %v; want -1, nil", fd, err)
			}
		})
	}
}

// TestRecvFDAtLimit: when the receiver has no descriptor number left
// under RLIMIT_NOFILE, the kernel drops the passed descriptor and sets
// MSG_CTRUNC; both receivers say EMFILE, and the channel goes on working.
func TestRecvFDAtLimit(t *testing.T) {
	for _, r := range recvFDFuncs {
		t.Run(r.name, func(t *testing.T) {
			ch := mustPair(t)
			other := mustPair(t)
			if err := sys.SendFD(ch[0], other[0]); err != nil {
				t.Fatal(err)
			}
			if err := sys.SendFD(ch[0], other[0]); err != nil {
				t.Fatal(err)
			}
			var old unix.Rlimit
			if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
				t.Fatal(err)
			}
			lowest, err := unix.Dup(0) // the number the next descriptor would get
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(lowest)
			lim := old
			lim.Cur = uint64(lowest)
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Skipf("cannot lower RLIMIT_NOFILE: %v", err)
			}
			fd, err := r.recv(ch[1])
			unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
			if fd != -1 || !errors.Is(err, unix.EMFILE) {
				unix.Close(fd)
				t.Fatalf("at the descriptor limit: %d, %v; want -1, EMFILE", fd, err)
			}
			fd, err = r.recv(ch[1])
			if err != nil || fd < 0 {
				t.Fatalf("after the limit was raised: %d, %v", fd, err)
			}
			unix.Close(fd)
		})
	}
}

// TestTraceSendFD: the trace lines name the calls as strace does, with the
// descriptor inside the SCM_RIGHTS control message.
func TestTraceSendFD(t *testing.T) {
	var b strings.Builder
	sys.SetTrace(&b)
	defer sys.SetTrace(nil)
	ch := mustPair(t)
	other := mustPair(t)
	sys.SendFD(ch[0], other[0])
	fd, err := sys.RecvFD(ch[1])
	if err != nil {
		t.Fatal(err)
	}
	sys.Close(fd)
	sys.SetTrace(nil)
	out := b.String()
	for _, want := range []string{
		"socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [",
		fmt.Sprintf("sendmsg(%d, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"\\0\", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[%d]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL) = 1", ch[0], other[0]),
		fmt.Sprintf("recvmsg(%d, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"\\0\", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[%d]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 1", ch[1], fd),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks\n\t%s\ngot:\n%s", want, out)
		}
	}
}
