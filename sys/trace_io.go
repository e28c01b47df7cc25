package sys

import "golang.org/x/sys/unix"

// The trace lines of the data transfer calls (io.go, rawsock.go, scmrights.go):
// see trace_calls.go.

func traceRead(fd int, p []byte, n int, err error) {
	if !Tracing() {
		return
	}
	data := "\"\""
	if err == nil {
		data = fmtData(p[:n])
	}
	trace("read", itoa(fd)+", "+data+", "+itoa(len(p)), n, err)
}

func traceWrite(fd int, p []byte, n, m int, err error) {
	if !Tracing() {
		return
	}
	trace("write", itoa(fd)+", "+fmtData(p[n:])+", "+itoa(len(p)-n), m, err)
}

func traceSend(fd int, p []byte, n, flags, m int, err error) {
	if !Tracing() {
		return
	}
	trace("sendto", itoa(fd)+", "+fmtData(p[n:])+", "+itoa(len(p)-n)+", "+flagNames(flags, msgFlags)+", NULL, 0", m, err)
}

func traceRecv(fd int, p []byte, flags, n int, err error) {
	if !Tracing() {
		return
	}
	data := "\"\""
	if err == nil {
		data = fmtData(p[:n])
	}
	trace("recvfrom", itoa(fd)+", "+data+", "+itoa(len(p))+", "+flagNames(flags, msgFlags)+", NULL, NULL", n, err)
}

func traceRecvfrom(fd int, p []byte, flags int, from Addr, n, full int, err error) {
	if !Tracing() {
		return
	}
	data, addr := "\"\"", "NULL"
	if err == nil {
		data, addr = fmtData(p[:n]), fmtSockaddr(from)
	}
	trace("recvfrom", itoa(fd)+", "+data+", "+itoa(len(p))+", "+flagNames(flags, msgFlags)+", "+addr, full, err)
}

func traceSendto(fd int, p []byte, flags int, to Addr, n int, err error) {
	if !Tracing() {
		return
	}
	trace("sendto", itoa(fd)+", "+fmtData(p)+", "+itoa(len(p))+", "+flagNames(flags, msgFlags)+", "+fmtSockaddr(to), n, err)
}

func traceRecvmsg(fd int, p []byte, flags int, from Addr, n, oobn, rflags int, err error) {
	if !Tracing() {
		return
	}
	data := "\"\""
	if err == nil {
		data = fmtData(p[:min(n, len(p))])
	}
	trace("recvmsg", itoa(fd)+", {msg_name="+fmtSockaddr(from)+", msg_iov=[{"+data+", "+itoa(len(p))+
		"}], msg_controllen="+itoa(oobn)+", msg_flags="+flagNames(rflags, msgFlags)+"}, "+flagNames(flags, msgFlags), n, err)
}

func traceRecvmsgBuf(fd int, m *Msg, flags int, err error) {
	if !Tracing() {
		return
	}
	data, name := "\"\"", "NULL"
	if err == nil {
		data, name = fmtData(m.Data[:min(m.N, len(m.Data))]), fmtSockaddr(m.From())
	}
	trace("recvmsg", itoa(fd)+", {msg_name="+name+", msg_iov=[{"+data+", "+itoa(len(m.Data))+
		"}], msg_controllen="+itoa(m.ControlN)+", msg_flags="+flagNames(m.Flags, msgFlags)+"}, "+flagNames(flags, msgFlags), m.N, err)
}

func traceSendFD(sock, fd int, oob []byte, n int, err error) {
	if !Tracing() {
		return
	}
	trace("sendmsg", itoa(sock)+", {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="+fmtData(fdMsgByte)+
		", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len="+itoa(unix.CmsgLen(4))+
		", cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=["+itoa(fd)+"]}], msg_controllen="+
		itoa(len(oob))+", msg_flags=0}, MSG_NOSIGNAL", n, err)
}

func traceRecvFD(sock int, data []byte, n, fd, oobn, rflags int, err error) {
	if !Tracing() {
		return
	}
	cmsg := ""
	if fd >= 0 {
		cmsg = "msg_control=[{cmsg_len=" + itoa(unix.CmsgLen(4)) +
			", cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[" + itoa(fd) + "]}], "
	}
	ret, rerr := n, err
	if rerr != nil && n > 0 { // the call worked; what it brought did not
		rerr = nil
	}
	trace("recvmsg", itoa(sock)+", {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="+fmtData(data[:max(n, 0)])+
		", iov_len=1}], msg_iovlen=1, "+cmsg+"msg_controllen="+itoa(oobn)+", msg_flags="+
		flagNames(rflags, msgFlags)+"}, MSG_CMSG_CLOEXEC", ret, rerr)
}
