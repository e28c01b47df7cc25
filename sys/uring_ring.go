package sys

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: its descriptor and the three mappings it
// shares with the kernel (the submission ring, the completion ring, and the
// array of submission entries).
//
// # Who writes what, and the memory ordering it needs
//
// Each ring is a single-producer single-consumer queue over free-running
// 32-bit counters (an index is counter & mask):
//
//   - submission: we fill entries and then advance the tail; the kernel reads
//     entries up to the tail and advances the head. The tail store must be a
//     release, so the kernel never sees the new tail before the entries it
//     covers, and the head load an acquire, so we never reuse an entry the
//     kernel is still reading.
//   - completion: the kernel writes entries and advances the tail; we read
//     up to the tail (acquire) and then advance the head (release), after
//     copying the entries out, since the kernel may overwrite a slot as soon
//     as it sees the head move.
//
// liburing uses smp_load_acquire/smp_store_release for this; Go's
// sync/atomic operations are sequentially consistent, which is stronger and
// gives both. Plain loads and stores would not: the compiler may reorder or
// cache them.
//
// A Ring is used by one goroutine at a time. With IORING_SETUP_SINGLE_ISSUER
// it must also stay on one OS thread (runtime.LockOSThread) from NewRing to
// Close: the kernel refuses submissions from any other thread with EEXIST.
type Ring struct {
	Fd     int
	Params IoUringParams // as io_uring_setup returned them: sizes, features

	sqRing, cqRing, sqeMem []byte // the mappings (sqRing == cqRing with IORING_FEAT_SINGLE_MMAP)

	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqes                    []SQE
	sqeTail                 uint32 // entries handed out by SQE, published by Submit

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE
}

// NewRing creates a ring with entries submission slots and, if cqEntries is
// not 0, that many completion slots (the kernel's default is twice entries),
// and maps it. flags are IORING_SETUP_* flags. On failure nothing is left
// open.
func NewRing(entries, cqEntries, flags uint32) (*Ring, error) {
	r := &Ring{Fd: -1}
	r.Params.Flags = flags
	if cqEntries > 0 {
		r.Params.Flags |= IORING_SETUP_CQSIZE
		r.Params.CqEntries = cqEntries
	}
	fd, err := IoUringSetup(entries, &r.Params)
	if err != nil {
		return nil, err
	}
	r.Fd = fd
	if err := r.mapRings(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mapRings maps the rings at the offsets io_uring_setup reported
// (io_uring_setup(2), "mmap").
func (r *Ring) mapRings() error {
	p := &r.Params
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_SHARED | unix.MAP_POPULATE
	sqSize := int(p.SqOff.Array + p.SqEntries*4)
	cqSize := int(p.CqOff.Cqes + p.CqEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.Features&IORING_FEAT_SINGLE_MMAP != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqRing, err = mmap(r.Fd, IORING_OFF_SQ_RING, sqSize, prot, flags); err != nil {
		return err
	}
	if single {
		r.cqRing = r.sqRing
	} else if r.cqRing, err = mmap(r.Fd, IORING_OFF_CQ_RING, cqSize, prot, flags); err != nil {
		return err
	}
	if r.sqeMem, err = mmap(r.Fd, IORING_OFF_SQES, int(p.SqEntries)*int(unsafe.Sizeof(SQE{})), prot, flags); err != nil {
		return err
	}

	r.sqHead = u32At(r.sqRing, p.SqOff.Head)
	r.sqTail = u32At(r.sqRing, p.SqOff.Tail)
	r.sqFlags = u32At(r.sqRing, p.SqOff.Flags)
	r.sqMask = *u32At(r.sqRing, p.SqOff.RingMask)
	r.sqEntries = *u32At(r.sqRing, p.SqOff.RingEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SqEntries)
	// The submission ring holds indexes into the entry array, not entries
	// (so that entries could be submitted out of order). We never do that:
	// slot i always names entry i, set once here, as liburing does.
	array := unsafe.Slice(u32At(r.sqRing, p.SqOff.Array), p.SqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.sqeTail = atomic.LoadUint32(r.sqTail)

	r.cqHead = u32At(r.cqRing, p.CqOff.Head)
	r.cqTail = u32At(r.cqRing, p.CqOff.Tail)
	r.cqMask = *u32At(r.cqRing, p.CqOff.RingMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqRing[p.CqOff.Cqes])), p.CqEntries)
	return nil
}

func u32At(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }

// SQE returns the next free submission entry, or nil when the submission
// ring is full (Submit, then ask again). The entry is the caller's to fill
// (with a Prep method) until the next Submit.
func (r *Ring) SQE() *SQE {
	if r.sqeTail-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		return nil
	}
	s := &r.sqes[r.sqeTail&r.sqMask]
	r.sqeTail++
	return s
}

// publish makes the filled entries visible to the kernel and returns how
// many it has not taken yet.
func (r *Ring) publish() uint32 {
	atomic.StoreUint32(r.sqTail, r.sqeTail) // release: the entries before the tail
	return r.sqeTail - atomic.LoadUint32(r.sqHead)
}

// Pending reports how many filled entries the kernel has not taken yet.
func (r *Ring) Pending() uint32 { return r.sqeTail - atomic.LoadUint32(r.sqHead) }

// Submit hands the kernel the entries filled since the last Submit with one
// io_uring_enter(2) and returns how many it took; it makes no system call
// when there are none.
func (r *Ring) Submit() (int, error) {
	n := r.publish()
	if n == 0 {
		return 0, nil
	}
	return IoUringEnter(r.Fd, n, 0, 0)
}

// SubmitAndWait hands the kernel the new entries and waits until at least
// wait completions are ready, in one io_uring_enter(2): at steady state a
// server's only system call.
func (r *Ring) SubmitAndWait(wait uint32) (int, error) {
	n := r.publish()
	return IoUringEnter(r.Fd, n, wait, IORING_ENTER_GETEVENTS)
}

// SubmitAndWaitBatch is SubmitAndWait for a busy ring: it waits until
// batch completions are ready or minWait has passed since the call began,
// whichever comes first, so that one io_uring_enter collects many. Without
// a batch wait in the kernel (IORING_FEAT_MIN_TIMEOUT, Linux 6.12), or with
// batch <= 1, it is SubmitAndWait(1).
//
// With IORING_SETUP_DEFER_TASKRUN the kernel does not even wake the thread
// before batch arrivals are queued for it or minWait has passed: fewer
// sleeps and wake-ups, each doing more work, which is how io_uring pulls
// ahead of epoll under load. The price is up to minWait of latency when
// traffic is too thin to fill a batch, so callers ask for a batch only when
// they are busy. With no overall timeout (GeteventsArg.Ts) the kernel ends
// the wait at minWait even when nothing has come: the call then returns
// with no completion, and its ETIME is not reported as an error.
func (r *Ring) SubmitAndWaitBatch(batch uint32, minWait time.Duration) (int, error) {
	if batch <= 1 || minWait <= 0 || r.Params.Features&IORING_FEAT_MIN_TIMEOUT == 0 {
		return r.SubmitAndWait(1)
	}
	n := r.publish()
	arg := GeteventsArg{MinWaitUsec: uint32(minWait / time.Microsecond)}
	got, err := IoUringEnterArg(r.Fd, n, batch, IORING_ENTER_GETEVENTS, &arg)
	if Errno(err) == unix.ETIME {
		return 0, nil
	}
	return got, err
}

// Ready reports how many completions wait in the completion ring.
func (r *Ring) Ready() uint32 {
	return atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead)
}

// Reap copies up to len(out) completions out of the completion ring, frees
// their slots for the kernel, and returns how many it copied. It makes no
// system call.
func (r *Ring) Reap(out []CQE) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail) // acquire: the entries before the tail are written
	n := 0
	for head != tail && n < len(out) {
		out[n] = r.cqes[head&r.cqMask]
		head++
		n++
	}
	atomic.StoreUint32(r.cqHead, head) // release: we are done with those slots
	return n
}

// CQOverflowed reports whether completions are waiting in the kernel's
// overflow list because the completion ring was full (IORING_FEAT_NODROP
// keeps them there instead of dropping them); the next io_uring_enter with
// IORING_ENTER_GETEVENTS moves them into the ring.
func (r *Ring) CQOverflowed() bool {
	return atomic.LoadUint32(r.sqFlags)&IORING_SQ_CQ_OVERFLOW != 0
}

// Close unmaps the rings and closes the ring's descriptor. Requests still
// pending are cancelled by the kernel after Close returns, asynchronously:
// memory they point to (buffers of a recv) must outlive them, so a caller
// that cares cancels them and waits for their completions first.
func (r *Ring) Close() error {
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	keep(munmap(r.sqeMem))
	if r.cqRing != nil && &r.cqRing[0] != &r.sqRing[0] {
		keep(munmap(r.cqRing))
	}
	keep(munmap(r.sqRing))
	r.sqeMem, r.cqRing, r.sqRing, r.sqes, r.cqes = nil, nil, nil, nil, nil
	if r.Fd >= 0 {
		keep(Close(r.Fd))
		r.Fd = -1
	}
	return first
}
