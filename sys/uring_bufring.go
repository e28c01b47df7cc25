package sys

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING, 5.19): a
// group of equal buffers the kernel picks from when data arrives for a recv
// submitted with IOSQE_BUFFER_SELECT. A server with a thousand idle
// connections then needs no thousand read buffers, only as many as data is
// in flight; and a multishot recv, which has no buffer of its own, needs one.
//
// The ring is a third single-producer single-consumer queue: we add buffers
// at the tail (a 16-bit counter the kernel reads with acquire), the kernel
// takes them at its private head. A completion says which buffer it used
// (CQE.BufferID); once we have consumed the data we give the buffer back.
type BufRing struct {
	Bgid    uint16 // the buffer group ID recvs name in SQE.BufIndex
	Size    int    // bytes per buffer
	ring    *Ring
	entries uint32
	mask    uint32
	mem     []byte // the ring of struct io_uring_buf, shared with the kernel
	bufs    []byte // the buffers themselves: entries * Size bytes
	tail    uint16 // buffers added, published by Publish
}

// ioUringBuf is struct io_uring_buf, one ring entry.
type ioUringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// ioUringBufReg is struct io_uring_buf_reg, IORING_REGISTER_PBUF_RING's
// argument.
type ioUringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// bufRingTailOff is where struct io_uring_buf_ring keeps its tail: a __u16
// at byte 14, overlaid on the resv field of the first entry.
const bufRingTailOff = 14

// RegisterBufRing maps entries buffers of size bytes each and a ring
// holding them all, and registers it as buffer group bgid. entries must be a
// power of two no larger than 32768. A kernel without provided-buffer rings
// (before 5.19) fails with EINVAL.
func (r *Ring) RegisterBufRing(entries uint32, size int, bgid uint16) (*BufRing, error) {
	if entries == 0 || entries&(entries-1) != 0 || entries > 1<<15 {
		return nil, syscallErr("io_uring_register", unix.EINVAL)
	}
	b := &BufRing{Bgid: bgid, Size: size, ring: r, entries: entries, mask: entries - 1}
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	var err error
	// The ring must be page-aligned, which mmap memory always is; the
	// buffers are mapped too, outside the Go heap, so that nothing the
	// garbage collector manages is ever written by the kernel behind its back.
	if b.mem, err = mmap(-1, 0, int(entries)*int(unsafe.Sizeof(ioUringBuf{})), prot, flags); err != nil {
		return nil, err
	}
	if b.bufs, err = mmap(-1, 0, int(entries)*size, prot, flags); err != nil {
		munmap(b.mem)
		return nil, err
	}
	reg := ioUringBufReg{
		ringAddr:    uint64(uintptr(unsafe.Pointer(&b.mem[0]))),
		ringEntries: entries,
		bgid:        bgid,
	}
	_, err = IoUringRegister(r.Fd, IORING_REGISTER_PBUF_RING, unsafe.Pointer(&reg), 1)
	runtime.KeepAlive(&reg)
	if err != nil {
		munmap(b.bufs)
		munmap(b.mem)
		return nil, err
	}
	for bid := range entries {
		b.add(uint16(bid))
	}
	b.Publish()
	return b, nil
}

// add puts buffer bid at the ring's tail; the kernel sees it after Publish.
func (b *BufRing) add(bid uint16) {
	e := (*ioUringBuf)(unsafe.Pointer(&b.mem[(uint32(b.tail)&b.mask)*uint32(unsafe.Sizeof(ioUringBuf{}))]))
	e.addr = uint64(uintptr(unsafe.Pointer(&b.bufs[int(bid)*b.Size])))
	e.len = uint32(b.Size)
	e.bid = bid
	b.tail++
}

// Publish makes the buffers given back since the last Publish available to
// the kernel. The tail is a 16-bit field and Go has no 16-bit atomics, so
// the whole aligned 32-bit word holding it (with the first entry's bid,
// which only we ever write) is stored at once, atomically: a release, as
// liburing's io_uring_buf_ring_advance does.
func (b *BufRing) Publish() {
	word := (*uint32)(unsafe.Pointer(&b.mem[bufRingTailOff-2]))
	var half [2]uint16
	half[0] = (*ioUringBuf)(unsafe.Pointer(&b.mem[0])).bid
	half[1] = b.tail
	atomic.StoreUint32(word, *(*uint32)(unsafe.Pointer(&half)))
}

// Take returns the data a completion delivered into a provided buffer (nil
// if it used none) and gives the buffer back to the ring. The data stays
// valid until the next Publish, after which the kernel may fill the buffer
// again: copy it out first.
func (b *BufRing) Take(c CQE) []byte {
	bid, ok := c.BufferID()
	if !ok || uint32(bid) >= b.entries {
		return nil
	}
	n := min(max(int(c.Res), 0), b.Size)
	start := int(bid) * b.Size
	data := b.bufs[start : start+n : start+n]
	b.add(bid)
	return data
}

// Close unregisters the group and unmaps its memory. Requests that might
// still pick a buffer must have completed.
func (b *BufRing) Close() error {
	reg := ioUringBufReg{bgid: b.Bgid}
	_, err := IoUringRegister(b.ring.Fd, IORING_UNREGISTER_PBUF_RING, unsafe.Pointer(&reg), 1)
	runtime.KeepAlive(&reg)
	if e := munmap(b.bufs); err == nil {
		err = e
	}
	if e := munmap(b.mem); err == nil {
		err = e
	}
	b.bufs, b.mem = nil, nil
	return err
}
