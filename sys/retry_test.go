package sys

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAcceptClassifiers: the classifier the parent's accept sites use and
// its allocation-free twin for forked children agree on every errno, and
// both say what each accept(2) failure is known to mean.
func TestAcceptClassifiers(t *testing.T) {
	want := map[unix.Errno]AcceptFailure{
		unix.ECONNABORTED: AcceptRetry, unix.EPROTO: AcceptRetry, unix.ENETDOWN: AcceptRetry,
		unix.ENOPROTOOPT: AcceptRetry, unix.EHOSTDOWN: AcceptRetry, unix.ENONET: AcceptRetry,
		unix.EHOSTUNREACH: AcceptRetry, unix.EOPNOTSUPP: AcceptRetry, unix.ENETUNREACH: AcceptRetry,
		unix.EMFILE: AcceptNoDescriptors, unix.ENFILE: AcceptNoDescriptors,
		unix.ENOBUFS: AcceptNoMemory, unix.ENOMEM: AcceptNoMemory,
		unix.EINVAL: AcceptFatal, unix.EBADF: AcceptFatal, unix.ENOTSOCK: AcceptFatal,
		unix.EFAULT: AcceptFatal, unix.EPERM: AcceptFatal,
	}
	for e := unix.Errno(0); e < 134; e++ {
		child := AcceptErrnoClass(e)
		if got := ClassifyAccept(os.NewSyscallError("accept4", e)); got != child {
			t.Errorf("%s: ClassifyAccept says %d, AcceptErrnoClass %d", unix.ErrnoName(e), got, child)
		}
		if w, ok := want[e]; ok && child != w {
			t.Errorf("%s: classified %d, want %d", unix.ErrnoName(e), child, w)
		}
		if IsAcceptRetry(os.NewSyscallError("accept4", e)) != (child == AcceptRetry) {
			t.Errorf("%s: IsAcceptRetry disagrees with the classifier", unix.ErrnoName(e))
		}
	}
}
