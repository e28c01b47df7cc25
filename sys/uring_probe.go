package sys

import (
	"runtime"
	"unsafe"
)

// Probe is what IORING_REGISTER_PROBE reports: which opcodes this kernel's
// io_uring knows (5.6 and later). It lists opcodes only, not their variants:
// multishot accept and recv, and provided-buffer rings, are found out by
// trying them.
type Probe struct {
	LastOp uint8 // the highest opcode the kernel knows
	ops    [256]bool
}

// struct io_uring_probe and struct io_uring_probe_op.
type ioUringProbe struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
	ops    [256]ioUringProbeOp
}

type ioUringProbeOp struct {
	op    uint8
	resv  uint8
	flags uint16 // IO_URING_OP_SUPPORTED
	resv2 uint32
}

const ioUringOpSupported = 1 << 0

// Probe asks the kernel which opcodes the ring supports. A kernel older than
// 5.6 fails with EINVAL.
func (r *Ring) Probe() (*Probe, error) {
	var raw ioUringProbe
	_, err := IoUringRegister(r.Fd, IORING_REGISTER_PROBE, unsafe.Pointer(&raw), uint32(len(raw.ops)))
	runtime.KeepAlive(&raw)
	if err != nil {
		return nil, err
	}
	p := &Probe{LastOp: raw.lastOp}
	for _, op := range raw.ops[:raw.opsLen] {
		if op.flags&ioUringOpSupported != 0 {
			p.ops[op.op] = true
		}
	}
	return p, nil
}

// Supports reports whether the kernel knows opcode op.
func (p *Probe) Supports(op uint8) bool { return p.ops[op] }
