package sys

import (
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// One trace function per wrapper whose line takes more than its
// arguments' names (the data transfers are in trace_io.go, the calls about
// processes in trace_proc.go, io_uring's in trace_uring.go): each builds the strace-style line only when tracing is
// on (see trace.go), so the wrappers themselves read as x/sys's do: the
// call, the trace hook, the error.

func traceICMPFilter(fd int, pass []int, err error) {
	if !Tracing() {
		return
	}
	var names []string
	for _, t := range pass {
		n, ok := icmpTypeNames[t]
		if !ok {
			n = strconv.Itoa(t)
		}
		names = append(names, n)
	}
	trace("setsockopt", itoa(fd)+", SOL_RAW, ICMP_FILTER, ~["+strings.Join(names, " ")+"], 4", 0, err)
}

func traceICMPv6Filter(fd int, pass []int, err error) {
	if !Tracing() {
		return
	}
	var names []string
	for _, t := range pass {
		names = append(names, strconv.Itoa(t))
	}
	trace("setsockopt", itoa(fd)+", SOL_ICMPV6, ICMP6_FILTER, {pass=["+strings.Join(names, " ")+"]}, 32", 0, err)
}

func traceAttachFilter(fd int, prog []unix.SockFilter, fp *unix.SockFprog, err error) {
	if !Tracing() {
		return
	}
	trace("setsockopt", itoa(fd)+", SOL_SOCKET, SO_ATTACH_FILTER, {len="+itoa(len(prog))+", filter=0x"+
		strconv.FormatUint(uint64(uintptr(unsafe.Pointer(fp.Filter))), 16)+"}, 16", 0, err)
}

func traceMapShared(n int, b []byte, err error) {
	if !Tracing() {
		return
	}
	addr := 0
	if err == nil && len(b) > 0 {
		addr = int(uintptr(unsafe.Pointer(&b[0])))
	}
	trace("mmap", "NULL, "+itoa(n)+", PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0", addr, err)
}

func traceOpen(path string, flags, fd int, err error) {
	if !Tracing() {
		return
	}
	mode := map[int]string{unix.O_RDONLY: "O_RDONLY", unix.O_WRONLY: "O_WRONLY", unix.O_RDWR: "O_RDWR"}[flags&unix.O_ACCMODE]
	if rest := flags &^ (unix.O_ACCMODE | unix.O_CLOEXEC); rest != 0 {
		mode += "|0x" + strconv.FormatInt(int64(rest), 16)
	}
	trace("openat", "AT_FDCWD, "+fmtData([]byte(path))+", "+mode+"|O_CLOEXEC", fd, err)
}

func traceSocketpair(family, typ, proto int, fds [2]int, err error) {
	if !Tracing() {
		return
	}
	pair := "0x0"
	if err == nil {
		pair = "[" + itoa(fds[0]) + ", " + itoa(fds[1]) + "]"
	}
	trace("socketpair", familyName(family)+", "+fmtSockType(typ)+", "+fmtProto(family, proto)+", "+pair, 0, err)
}

func traceSocket(family, typ, proto, fd int, err error) {
	if !Tracing() {
		return
	}
	trace("socket", familyName(family)+", "+fmtSockType(typ)+", "+fmtProto(family, proto), fd, err)
}

func traceListen(fd, backlog int, err error) {
	if !Tracing() {
		return
	}
	trace("listen", itoa(fd)+", "+itoa(backlog), 0, err)
}

func traceConnect(fd int, a Addr, err error) {
	if !Tracing() {
		return
	}
	trace("connect", itoa(fd)+", "+fmtSockaddr(a), 0, err)
}

func traceShutdown(fd, how int, err error) {
	if !Tracing() {
		return
	}
	name := map[int]string{unix.SHUT_RD: "SHUT_RD", unix.SHUT_WR: "SHUT_WR", unix.SHUT_RDWR: "SHUT_RDWR"}[how]
	trace("shutdown", itoa(fd)+", "+name, 0, err)
}

func traceSetsockoptInt(fd, level, opt, val int, err error) {
	if !Tracing() {
		return
	}
	trace("setsockopt", itoa(fd)+", "+fmtOpt(level, opt)+", ["+itoa(val)+"], 4", 0, err)
}

func traceGetsockoptInt(fd, level, opt, v int, err error) {
	if !Tracing() {
		return
	}
	trace("getsockopt", itoa(fd)+", "+fmtOpt(level, opt)+", ["+itoa(v)+"], [4]", 0, err)
}

func traceSetTimeout(fd, opt int, tv unix.Timeval, err error) {
	if !Tracing() {
		return
	}
	trace("setsockopt", itoa(fd)+", "+fmtOpt(unix.SOL_SOCKET, opt)+
		", {tv_sec="+strconv.FormatInt(tv.Sec, 10)+", tv_usec="+strconv.FormatInt(tv.Usec, 10)+"}, 16", 0, err)
}

func traceSetLinger(fd int, l unix.Linger, secs int, err error) {
	if !Tracing() {
		return
	}
	trace("setsockopt", itoa(fd)+", "+fmtOpt(unix.SOL_SOCKET, unix.SO_LINGER)+
		", {l_onoff="+itoa(int(l.Onoff))+", l_linger="+itoa(secs)+"}, 8", 0, err)
}

func traceGetfl(fd, flags int, err error) {
	if !Tracing() {
		return
	}
	trace("fcntl", itoa(fd)+", F_GETFL", flags, err)
}

func traceSetfl(fd int, on bool, err error) {
	if !Tracing() {
		return
	}
	arg := "O_RDWR"
	if on {
		arg = "O_RDWR|O_NONBLOCK"
	}
	trace("fcntl", itoa(fd)+", F_SETFL, "+arg, 0, err)
}

func traceDupfd(fd, nfd int, err error) {
	if !Tracing() {
		return
	}
	trace("fcntl", itoa(fd)+", F_DUPFD_CLOEXEC, 0", nfd, err)
}

func traceUname(u *unix.Utsname, err error) {
	if !Tracing() {
		return
	}
	trace("uname", "{sysname=\""+unix.ByteSliceToString(u.Sysname[:])+"\", nodename=\""+unix.ByteSliceToString(u.Nodename[:])+"\", ...}", 0, err)
}

func traceSetns(fd, nstype int, err error) {
	if !Tracing() {
		return
	}
	name := "0"
	if nstype == unix.CLONE_NEWNET {
		name = "CLONE_NEWNET"
	}
	trace("setns", itoa(fd)+", "+name, 0, err)
}

func traceSIOCOUTQ(fd, n int, err error) {
	if !Tracing() {
		return
	}
	trace("ioctl", itoa(fd)+", SIOCOUTQ, ["+itoa(n)+"]", 0, err)
}

func traceBindToDevice(fd int, ifname string, err error) {
	if !Tracing() {
		return
	}
	trace("setsockopt", itoa(fd)+", SOL_SOCKET, SO_BINDTODEVICE, \""+ifname+"\", "+itoa(len(ifname)), 0, err)
}

func traceUnmap(b []byte, err error) {
	if !Tracing() {
		return
	}
	addr := ""
	if len(b) > 0 {
		addr = "0x" + strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&b[0]))), 16)
	}
	trace("munmap", addr+", "+itoa(len(b)), 0, err)
}

func traceTCGETS(fd int, err error) {
	if !Tracing() {
		return
	}
	trace("ioctl", itoa(fd)+", TCGETS", 0, err)
}

func tracePath(call, path string, err error) {
	if !Tracing() {
		return
	}
	trace(call, `"`+path+`"`, 0, err)
}

func traceBind(fd int, a Addr, err error) {
	if !Tracing() {
		return
	}
	trace("bind", itoa(fd)+", "+fmtSockaddr(a), 0, err)
}

func traceAccept4(fd int, peer Addr, flags, nfd int, err error) {
	if !Tracing() {
		return
	}
	addr := "NULL"
	if err == nil {
		addr = fmtSockaddr(peer)
	}
	trace("accept4", itoa(fd)+", "+addr+", "+flagNames(flags, sockTypeFlags), nfd, err)
}

func traceClose(fd int, err error) {
	if !Tracing() {
		return
	}
	trace("close", itoa(fd), 0, err)
}

func traceSockname(call string, fd int, a Addr, err error) {
	if !Tracing() {
		return
	}
	trace(call, itoa(fd)+", "+fmtSockaddr(a), 0, err)
}

func traceEventfd(flags, fd int, err error) {
	if !Tracing() {
		return
	}
	f := "EFD_CLOEXEC"
	if flags&unix.EFD_NONBLOCK != 0 {
		f += "|EFD_NONBLOCK"
	}
	trace("eventfd2", "0, "+f, fd, err)
}

// The waits (poll.go).

var pollFlags = []flagName{
	{unix.POLLIN, "POLLIN"}, {unix.POLLPRI, "POLLPRI"}, {unix.POLLOUT, "POLLOUT"},
	{unix.POLLERR, "POLLERR"}, {unix.POLLHUP, "POLLHUP"}, {unix.POLLNVAL, "POLLNVAL"},
	{unix.POLLRDHUP, "POLLRDHUP"},
}

func fmtPollFds(fds []unix.PollFd, revents bool) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range fds {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 8 {
			b.WriteString("...")
			break
		}
		b.WriteString("{fd=" + strconv.Itoa(int(p.Fd)) + ", events=" + flagNames(int(p.Events), pollFlags))
		if revents {
			b.WriteString(", revents=" + flagNames(int(p.Revents), pollFlags))
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

func tracePoll(fds []unix.PollFd, ms, n int, err error) {
	if Tracing() {
		trace("poll", fmtPollFds(fds, false)+", "+itoa(len(fds))+", "+itoa(ms), n, err)
	}
}

// traceSelect shows the sets as they were given (rin, win), and which of
// them were given at all.
func traceSelect(nfd int, rin, win *unix.FdSet, r, w bool, tv *unix.Timeval, n int, err error) {
	if !Tracing() {
		return
	}
	timeout := "NULL"
	if tv != nil {
		timeout = "{tv_sec=" + strconv.FormatInt(tv.Sec, 10) + ", tv_usec=" + strconv.FormatInt(tv.Usec, 10) + "}"
	}
	trace("select", itoa(nfd)+", "+fmtFdSet(rin, nfd, r)+", "+fmtFdSet(win, nfd, w)+", NULL, "+timeout, n, err)
}

func fmtFdSet(s *unix.FdSet, nfd int, present bool) string {
	if !present {
		return "NULL"
	}
	var parts []string
	for fd := 0; fd < nfd && fd < FD_SETSIZE; fd++ {
		if s.IsSet(fd) {
			parts = append(parts, strconv.Itoa(fd))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

var epollFlags = []flagName{
	{unix.EPOLLIN, "EPOLLIN"}, {unix.EPOLLPRI, "EPOLLPRI"}, {unix.EPOLLOUT, "EPOLLOUT"},
	{unix.EPOLLERR, "EPOLLERR"}, {unix.EPOLLHUP, "EPOLLHUP"}, {unix.EPOLLRDHUP, "EPOLLRDHUP"},
	{unix.EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"}, {unix.EPOLLONESHOT, "EPOLLONESHOT"}, {unix.EPOLLET, "EPOLLET"},
}

func traceEpollCtl(epfd, op, fd int, ev *unix.EpollEvent, err error) {
	if !Tracing() {
		return
	}
	name := map[int]string{unix.EPOLL_CTL_ADD: "EPOLL_CTL_ADD", unix.EPOLL_CTL_MOD: "EPOLL_CTL_MOD", unix.EPOLL_CTL_DEL: "EPOLL_CTL_DEL"}[op]
	arg := "NULL"
	if ev != nil {
		arg = "{events=" + flagNames(int(ev.Events), epollFlags) + ", data={fd=" + itoa(fd) + "}}"
	}
	trace("epoll_ctl", itoa(epfd)+", "+name+", "+itoa(fd)+", "+arg, 0, err)
}

func traceEpollWait(epfd int, events []unix.EpollEvent, ms, n int, err error) {
	if !Tracing() {
		return
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n && i < 8; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{events=" + flagNames(int(events[i].Events), epollFlags) + ", data={fd=" + strconv.Itoa(int(events[i].Fd)) + "}}")
	}
	b.WriteByte(']')
	trace("epoll_wait", itoa(epfd)+", "+b.String()+", "+itoa(len(events))+", "+itoa(ms), n, err)
}

func traceUnshare(flags int, err error) {
	if !Tracing() {
		return
	}
	name := "0x" + strconv.FormatInt(int64(flags), 16)
	if flags == unix.CLONE_FILES {
		name = "CLONE_FILES"
	}
	trace("unshare", name, 0, err)
}
