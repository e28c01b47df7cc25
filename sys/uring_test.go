package sys

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTestRing makes a small ring, or skips the test when this kernel (or a
// seccomp filter, or sysctl kernel.io_uring_disabled) refuses io_uring.
func newTestRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := NewRing(entries, 0, 0)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// waitOne submits what is filled and returns the next completion.
func waitOne(t *testing.T, r *Ring) CQE {
	t.Helper()
	var c [1]CQE
	for r.Reap(c[:]) == 0 {
		if _, err := r.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
	}
	return c[0]
}

func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func TestRingRequests(t *testing.T) {
	r := newTestRing(t, 8)
	a, b := socketpair(t)
	buf := make([]byte, 64)
	tests := []struct {
		name    string
		prep    func(s *SQE)
		before  func() // runs after submission, before waiting
		wantRes int32
		check   func(t *testing.T)
	}{
		{name: "nop", prep: func(s *SQE) { s.PrepNop(1) }, wantRes: 0},
		{name: "send", prep: func(s *SQE) { s.PrepSend(a, []byte("hello\n"), 0, 2) }, wantRes: 6,
			check: func(t *testing.T) {
				n, _ := unix.Read(b, buf)
				if string(buf[:n]) != "hello\n" {
					t.Errorf("peer read %q", buf[:n])
				}
			}},
		{name: "recv waits for data", prep: func(s *SQE) { s.PrepRecv(a, buf, 0, 3) },
			before: func() { unix.Write(b, []byte("world")) }, wantRes: 5,
			check: func(t *testing.T) {
				if string(buf[:5]) != "world" {
					t.Errorf("recv got %q", buf[:5])
				}
			}},
		{name: "timeout", prep: func(s *SQE) { s.PrepTimeout(&KernelTimespec{Nsec: 1e6}, 4) }, wantRes: -int32(unix.ETIME)},
		{name: "poll", prep: func(s *SQE) { s.PrepPollAdd(a, unix.POLLOUT, 5) }, wantRes: unix.POLLOUT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := r.SQE()
			if s == nil {
				t.Fatal("submission ring full")
			}
			tt.prep(s)
			want := s.UserData
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			if tt.before != nil {
				tt.before()
			}
			c := waitOne(t, r)
			if c.UserData != want || c.Res != tt.wantRes {
				t.Errorf("completion %+v, want user data %d, res %d", c, want, tt.wantRes)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestRingFullAndCancel(t *testing.T) {
	r := newTestRing(t, 4)
	if got := r.Params.SqEntries; got != 4 {
		t.Fatalf("SqEntries %d, want 4", got)
	}
	a, _ := socketpair(t)
	buf := make([]byte, 16)
	// Four entries fill the ring; the fifth must wait for a Submit.
	r.SQE().PrepRecv(a, buf, 0, 10)
	for i := 0; i < 3; i++ {
		r.SQE().PrepNop(uint64(20 + i))
	}
	if s := r.SQE(); s != nil {
		t.Fatal("SQE returned an entry from a full ring")
	}
	if n, err := r.Submit(); err != nil || n != 4 {
		t.Fatalf("Submit = %d, %v; want 4", n, err)
	}
	r.SQE().PrepCancel(10, 30)
	got := map[uint64]int32{}
	for len(got) < 5 {
		c := waitOne(t, r)
		got[c.UserData] = c.Res
	}
	if got[10] != -int32(unix.ECANCELED) || got[30] != 0 {
		t.Errorf("cancelled recv = %d, cancel = %d; want ECANCELED, 0 (all: %v)", got[10], got[30], got)
	}
}

func TestProbe(t *testing.T) {
	r := newTestRing(t, 4)
	p, err := r.Probe()
	if err != nil {
		t.Skipf("no IORING_REGISTER_PROBE (kernel before 5.6): %v", err)
	}
	for _, op := range []uint8{IORING_OP_NOP, IORING_OP_READ, IORING_OP_SEND, IORING_OP_RECV} {
		if !p.Supports(op) {
			t.Errorf("probe says %s is not supported", OpName(op))
		}
	}
	if p.Supports(255) {
		t.Error("probe says opcode 255 is supported")
	}
}

// TestMultishotRecvBufRing sends more bytes than a provided-buffer ring
// holds to a socket with one multishot recv armed, and gets every byte
// back, in order, in buffers the kernel picked. When the ring runs dry the
// recv ends with ENOBUFS (without IORING_CQE_F_MORE) and must be armed again
// once buffers are given back: the server relies on exactly that.
func TestMultishotRecvBufRing(t *testing.T) {
	r := newTestRing(t, 8)
	br, err := r.RegisterBufRing(4, 8, 7)
	if err != nil {
		t.Skipf("no provided-buffer rings (kernel before 5.19): %v", err)
	}
	defer br.Close()
	a, b := socketpair(t)
	want := "one two three four five six seven eight nine ten"
	unix.Write(b, []byte(want))
	arm := func() {
		r.SQE().PrepRecvSelect(a, br.Bgid, 0, true, 1)
	}
	arm()
	var got bytes.Buffer
	enobufs := 0
	for got.Len() < len(want) {
		c := waitOne(t, r)
		switch {
		case c.Res == -int32(unix.EINVAL):
			t.Skip("no multishot recv (kernel before 6.0)")
		case c.Res == -int32(unix.ENOBUFS):
			enobufs++
		case c.Res <= 0:
			t.Fatalf("recv: %+v %v", c, c.Err())
		default:
			data := br.Take(c)
			if data == nil {
				t.Fatalf("completion %+v has no buffer", c)
			}
			got.Write(data)
		}
		br.Publish()
		if !c.More() {
			arm()
		}
	}
	if got.String() != want {
		t.Errorf("got %q, want %q", got.String(), want)
	}
	if enobufs == 0 {
		t.Errorf("%d bytes through 4 buffers of 8 without one ENOBUFS", len(want))
	}
	unix.Shutdown(b, unix.SHUT_WR)
	if c := waitOne(t, r); c.Res != 0 || c.More() {
		t.Errorf("after end of file: %+v, want res 0 without F_MORE", c)
	}
}

// TestMultishotAcceptNonblocking checks what the uring server relies on:
// a multishot accept on a nonblocking listening socket waits for
// connections (io_uring polls the socket) instead of failing with EAGAIN.
func TestMultishotAcceptNonblocking(t *testing.T) {
	r := newTestRing(t, 8)
	lfd, addr, err := Listener(Addr{Family: unix.AF_INET, IP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 0}, 16, false)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	if err := SetNonblock(lfd, true); err != nil {
		t.Fatal(err)
	}
	r.SQE().PrepAccept(lfd, unix.SOCK_CLOEXEC, true, 9)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		fd, err := Dial(addr, unix.SOCK_STREAM, 10*time.Second) // a hang bound: loopback connects at once
		if err != nil {
			t.Fatal(err)
		}
		defer Close(fd)
		c := waitOne(t, r)
		if c.Res == -int32(unix.EINVAL) {
			t.Skip("no multishot accept (kernel before 5.19)")
		}
		if c.Res < 0 || !c.More() {
			t.Fatalf("accept %d: %+v (%v), want a descriptor with F_MORE", i, c, c.Err())
		}
		Close(int(c.Res))
	}
}

// TestSubmitAndWaitBatch: a batch wait returns once the batch is complete,
// and also when fewer completions come (after the minimum wait), with no
// error: the caller handles what there is.
func TestSubmitAndWaitBatch(t *testing.T) {
	tests := []struct {
		name        string
		nops, batch uint32
	}{
		{"batch complete", 4, 4},
		{"fewer than the batch", 1, 8},
		{"no batch asked", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 16)
			if r.Params.Features&IORING_FEAT_MIN_TIMEOUT == 0 && tt.batch > 1 {
				t.Log("no IORING_FEAT_MIN_TIMEOUT here: SubmitAndWaitBatch is SubmitAndWait(1)")
			}
			for i := range tt.nops {
				r.SQE().PrepNop(uint64(i))
			}
			n, err := r.SubmitAndWaitBatch(tt.batch, 200*time.Microsecond)
			if err != nil {
				t.Fatal(err)
			}
			if n != int(tt.nops) {
				t.Errorf("submitted %d, want %d", n, tt.nops)
			}
			// NOPs complete at submission, so every one is there.
			if got := r.Ready(); got != tt.nops {
				t.Errorf("%d completions ready, want %d", got, tt.nops)
			}
			// Nothing submitted, one pending timer: the wait ends with the
			// timer's completion though the batch asked for more.
			var c [16]CQE
			r.Reap(c[:])
			ts := KernelTimespec{Nsec: int64(time.Millisecond)}
			r.SQE().PrepTimeout(&ts, 99)
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			for r.Ready() == 0 {
				if _, err := r.SubmitAndWaitBatch(tt.batch, 200*time.Microsecond); err != nil {
					t.Fatal(err)
				}
			}
			if got := r.Reap(c[:]); got != 1 || c[0].UserData != 99 {
				t.Errorf("reaped %d completions (%+v), want the timer's", got, c[0])
			}
		})
	}
}

// TestSubmitAndWaitBatchEndsEmpty: with nothing coming for a long while (a
// timer of a minute pending: far more than a loaded machine can keep this
// thread from its next call), a batch wait still ends after its minimum
// wait, with no completion and no error: the kernel ends a batch wait that
// has no overall timeout at min_wait_usec.
func TestSubmitAndWaitBatchEndsEmpty(t *testing.T) {
	r := newTestRing(t, 8)
	if r.Params.Features&IORING_FEAT_MIN_TIMEOUT == 0 {
		t.Skip("no IORING_FEAT_MIN_TIMEOUT (Linux 6.12) here: no batch wait")
	}
	ts := KernelTimespec{Sec: 60}
	r.SQE().PrepTimeout(&ts, 1)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	n, err := r.SubmitAndWaitBatch(8, 200*time.Microsecond)
	if err != nil || n != 0 {
		t.Fatalf("SubmitAndWaitBatch: %d, %v; want 0 submitted and no error", n, err)
	}
	if got := r.Ready(); got != 0 {
		t.Errorf("%d completions ready before the one-minute timer could fire", got)
	}
}
