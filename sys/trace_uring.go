package sys

import (
	"strconv"
	"unsafe"
)

// The trace lines of io_uring's calls (uring.go): see trace_calls.go.

func traceIoUringSetup(entries, flags uint32, p *IoUringParams, fd int, err error) {
	if !Tracing() {
		return
	}
	args := itoa(int(entries)) + ", {flags=" + flagNames(int(flags), setupFlagNames)
	if err == nil {
		args += ", sq_entries=" + itoa(int(p.SqEntries)) + ", cq_entries=" + itoa(int(p.CqEntries)) +
			", features=0x" + strconv.FormatUint(uint64(p.Features), 16)
	}
	trace("io_uring_setup", args+"}", fd, err)
}

func traceIoUringEnter(fd int, toSubmit, minComplete, flags uint32, arg *GeteventsArg, argsz uintptr, n int, err error) {
	if !Tracing() {
		return
	}
	a := "NULL, 0"
	if arg != nil {
		a = "{sigmask=NULL, min_wait_usec=" + itoa(int(arg.MinWaitUsec)) + ", ts=NULL}, " + itoa(int(argsz))
	}
	trace("io_uring_enter", itoa(fd)+", "+itoa(int(toSubmit))+", "+itoa(int(minComplete))+", "+
		flagNames(int(flags), enterFlagNames)+", "+a, n, err)
}

func traceIoUringRegister(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32, n int, err error) {
	if !Tracing() {
		return
	}
	name, ok := registerOpNames[opcode]
	if !ok {
		name = itoa(int(opcode))
	}
	trace("io_uring_register", itoa(fd)+", "+name+", "+fmtPtr(arg)+", "+itoa(int(nrArgs)), n, err)
}

func traceMmap(fd int, offset int64, length, prot, flags int, b []byte, err error) {
	if !Tracing() {
		return
	}
	ret := -1
	if err == nil {
		ret = int(uintptr(unsafe.Pointer(&b[0])))
	}
	trace("mmap", "NULL, "+itoa(length)+", "+flagNames(prot, protFlags)+", "+flagNames(flags, mapFlags)+
		", "+itoa(fd)+", 0x"+strconv.FormatInt(offset, 16), ret, err)
}

func traceMunmap(addr uintptr, length int, err error) {
	if !Tracing() {
		return
	}
	trace("munmap", "0x"+strconv.FormatUint(uint64(addr), 16)+", "+itoa(length), 0, err)
}
