package sys

import (
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// traceTestBuf collects trace lines for one test; SetTrace is global, so tests
// that use it do not run in parallel.
func traceTestBuf(t *testing.T) *strings.Builder {
	t.Helper()
	var b strings.Builder
	SetTrace(&b)
	t.Cleanup(func() { SetTrace(nil) })
	return &b
}

// TestTraceExchange runs a small TCP exchange through the wrappers and checks
// each call's line, in strace's shape, with the descriptors and ports of
// this run put in.
func TestTraceExchange(t *testing.T) {
	b := traceTestBuf(t)
	lo := Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	lfd, bound, err := Listener(lo, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	cfd, err := Dial(bound, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := Getsockname(cfd)
	afd, peer, err := Accept4(lfd, 0)
	if err != nil {
		t.Fatal(err)
	}
	if peer != local {
		t.Errorf("accept4 says the peer is %v, getsockname on the client %v", peer, local)
	}
	if _, err := Send(cfd, []byte("hello\n"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := Read(afd, buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	Shutdown(cfd, unix.SHUT_WR)
	if n, err := Recv(afd, buf, 0); n != 0 || err != nil {
		t.Fatalf("recv after the peer's shutdown = %d, %v; want 0 (end of file)", n, err)
	}
	Close(afd)
	Close(cfd)

	r := strings.NewReplacer("LFD", strconv.Itoa(lfd), "CFD", strconv.Itoa(cfd), "AFD", strconv.Itoa(afd),
		"LPORT", strconv.Itoa(bound.Port), "CPORT", strconv.Itoa(local.Port))
	want := r.Replace(`socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = LFD
setsockopt(LFD, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
bind(LFD, {AF_INET, 127.0.0.1:0}) = 0
listen(LFD, 5) = 0
getsockname(LFD, {AF_INET, 127.0.0.1:LPORT}) = 0
socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = CFD
connect(CFD, {AF_INET, 127.0.0.1:LPORT}) = 0
getsockname(CFD, {AF_INET, 127.0.0.1:CPORT}) = 0
accept4(LFD, {AF_INET, 127.0.0.1:CPORT}, SOCK_CLOEXEC) = AFD
sendto(CFD, "hello\n", 6, MSG_NOSIGNAL, NULL, 0) = 6
read(AFD, "hello\n", 64) = 6
shutdown(CFD, SHUT_WR) = 0
recvfrom(AFD, "", 64, 0, NULL, NULL) = 0
close(AFD) = 0
close(CFD) = 0
`)
	if got := b.String(); got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// TestTraceErrors: a failed call ends "= -1 ENAME (Message)", as in strace.
func TestTraceErrors(t *testing.T) {
	b := traceTestBuf(t)
	lo := Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	lfd, bound, err := Listener(lo, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	fd, err := Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	b.Reset()
	err = Bind(fd, bound)
	want := "bind(" + strconv.Itoa(fd) + ", {AF_INET, " + bound.String() + "}) = -1 EADDRINUSE (Address already in use)\n"
	if b.String() != want {
		t.Errorf("trace %q, want %q", b.String(), want)
	}
	if got, want := err.Error(), "bind "+bound.String()+": address already in use"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !errors.Is(err, unix.EADDRINUSE) || IsPeerFailure(err) {
		t.Errorf("bind error %v: want EADDRINUSE, not a peer failure", err)
	}

	b.Reset()
	err = Close(-1)
	if got := b.String(); got != "close(-1) = -1 EBADF (Bad file descriptor)\n" {
		t.Errorf("trace %q", got)
	}
	if err == nil || err.Error() != "close: bad file descriptor" {
		t.Errorf("Close(-1) = %v", err)
	}
}

// TestTraceOff: with no writer set, nothing is formatted or written.
func TestTraceOff(t *testing.T) {
	b := traceTestBuf(t)
	SetTrace(nil)
	if Tracing() {
		t.Fatal("Tracing() after SetTrace(nil)")
	}
	Close(-1)
	if b.Len() != 0 {
		t.Errorf("trace written while off: %q", b.String())
	}
}

// TestTraceDatagram: recvfrom shows the real length of a cut datagram, as
// strace does with MSG_TRUNC, and the sender.
func TestTraceDatagram(t *testing.T) {
	lo := Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	fd, err := Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(fd)
	if err := Bind(fd, lo); err != nil {
		t.Fatal(err)
	}
	me, _ := Getsockname(fd)
	b := traceTestBuf(t)
	if _, err := Sendto(fd, []byte("hello, world"), 0, me); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	n, from, full, err := Recvfrom(fd, buf, 0)
	if err != nil || n != 5 || full != 12 || from != me {
		t.Fatalf("Recvfrom = %d, %v, %d, %v; want 5 of 12 bytes from %v", n, from, full, err, me)
	}
	fds := strconv.Itoa(fd)
	want := "sendto(" + fds + ", \"hello, world\", 12, MSG_NOSIGNAL, {AF_INET, " + me.String() + "}) = 12\n" +
		"recvfrom(" + fds + ", \"hello\", 5, MSG_TRUNC, {AF_INET, " + me.String() + "}) = 12\n"
	if got := b.String(); got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// TestTracePoll: poll's line lists the descriptors and events asked for.
func TestTracePoll(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	b := traceTestBuf(t)
	fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}, {Fd: int32(p[1]), Events: unix.POLLOUT}}
	n, err := Poll(fds, 0)
	if err != nil || n != 1 {
		t.Fatalf("Poll = %d, %v; want 1 (the write end)", n, err)
	}
	want := regexp.MustCompile(`^poll\(\[\{fd=\d+, events=POLLIN\}, \{fd=\d+, events=POLLOUT\}\], 2, 0\) = 1\n$`)
	if !want.MatchString(b.String()) {
		t.Errorf("trace %q", b.String())
	}
}

func TestFmtData(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"hello\n", `"hello\n"`},
		{"a\r\n\t\"\\", `"a\r\n\t\"\\"`},
		{"\x00\x7f\xff", `"\0\177\377"`},
		{strings.Repeat("x", 32), `"` + strings.Repeat("x", 32) + `"`},
		{strings.Repeat("x", 33), `"` + strings.Repeat("x", 32) + `"...`},
	}
	for _, tt := range tests {
		if got := fmtData([]byte(tt.in)); got != tt.want {
			t.Errorf("fmtData(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFlagNames(t *testing.T) {
	tests := []struct {
		v    int
		want string
	}{
		{0, "0"},
		{unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"},
		{unix.MSG_TRUNC | unix.MSG_DONTWAIT, "MSG_TRUNC|MSG_DONTWAIT"}, // as strace prints it
		{unix.MSG_NOSIGNAL | unix.MSG_ERRQUEUE, "MSG_ERRQUEUE|MSG_NOSIGNAL"},
		{unix.EPOLLIN | unix.EPOLLET | unix.EPOLLEXCLUSIVE, "EPOLLIN|EPOLLEXCLUSIVE|EPOLLET"},
		{unix.MSG_PEEK | 0x10000000, "MSG_PEEK|0x10000000"},
	}
	for _, tt := range tests {
		table := msgFlags
		if strings.HasPrefix(tt.want, "EPOLL") {
			table = epollFlags
		}
		if got := flagNames(tt.v, table); got != tt.want {
			t.Errorf("flagNames(%#x) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

// TestFlagNamesAsStracePrints: every flag table names a combination as
// strace 6.1 printed it for a C program making these calls (wait4, socket,
// recvfrom, epoll_ctl, mmap with all the flags the tables know).
func TestFlagNamesAsStracePrints(t *testing.T) {
	tests := []struct {
		table []flagName
		want  string
	}{
		{waitFlags, "WNOHANG|WSTOPPED|WCONTINUED|__WCLONE|__WALL"},
		{sockTypeFlags, "SOCK_CLOEXEC|SOCK_NONBLOCK"},
		{msgFlags, "MSG_OOB|MSG_PEEK|MSG_TRUNC|MSG_DONTWAIT|MSG_WAITALL|MSG_ERRQUEUE|MSG_NOSIGNAL|MSG_CMSG_CLOEXEC"},
		{epollFlags, "EPOLLIN|EPOLLPRI|EPOLLOUT|EPOLLERR|EPOLLHUP|EPOLLRDHUP|EPOLLEXCLUSIVE"},
		{epollFlags, "EPOLLIN|EPOLLONESHOT|EPOLLET"},
		{pollFlags, "POLLIN|POLLPRI|POLLOUT|POLLERR|POLLHUP|POLLNVAL|POLLRDHUP"},
		{protFlags, "PROT_READ|PROT_WRITE"},
		{mapFlags, "MAP_SHARED|MAP_ANONYMOUS|MAP_POPULATE"},
	}
	for _, tt := range tests {
		v := 0
		for _, name := range strings.Split(tt.want, "|") {
			i := slices.IndexFunc(tt.table, func(f flagName) bool { return f.name == name })
			if i < 0 {
				t.Fatalf("%s: no flag named %s", tt.want, name)
			}
			v |= tt.table[i].bit
		}
		if got := flagNames(v, tt.table); got != tt.want {
			t.Errorf("flagNames(%#x) = %s, strace prints %s", uint32(v), got, tt.want)
		}
	}
}

func TestErrnoText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{unix.EADDRINUSE, "-1 EADDRINUSE (Address already in use)"},
		{unix.ECONNREFUSED, "-1 ECONNREFUSED (Connection refused)"},
		{Bind(-1, Addr{Family: unix.AF_INET, IP: netip.IPv4Unspecified()}), "-1 EBADF (Bad file descriptor)"},
		{errors.New("no errno"), "-1 (no errno)"},
	}
	for _, tt := range tests {
		if got := errnoText(tt.err); got != tt.want {
			t.Errorf("errnoText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
