package sys_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// The children of these examples and tests are real forks of the test
// binary (under -race too). Their functions follow sys.Fork's rules:
// top-level, //go:nosplit, //go:norace, raw calls and global arrays only.

//go:nosplit
//go:norace
func exitSeven() int { return 7 }

// Fork returns twice: here in the parent with the child's pid; the child
// runs exitSeven and exits with its result, which wait4 collects.
func ExampleFork() {
	pid, err := sys.Fork(exitSeven)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, status, err := sys.Wait4(pid, 0)
	fmt.Println(sys.ExitDescription(status), err)
	// Output: exit status 7 <nil>
}

// ForkPidfd also returns a pidfd for the child, from clone3 itself: poll
// says it is readable once the child has ended, and wait4 then reaps it at
// once. (Where the kernel gave none, pidfd is -1 and PidfdOpen opens one.)
func ExampleForkPidfd() {
	pid, pidfd, err := sys.ForkPidfd(exitSeven)
	if err == nil && pidfd < 0 {
		pidfd, err = sys.PidfdOpen(pid)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := sys.Poll(fds, 10*time.Second)
	fmt.Println("ended:", n == 1 && fds[0].Revents&unix.POLLIN != 0, err)
	_, status, err := sys.Wait4(pid, unix.WNOHANG)
	fmt.Println(sys.ExitDescription(status), err)
	// Output:
	// ended: true <nil>
	// exit status 7 <nil>
}

// shared is memory the parent maps with MapShared before the fork; the
// child's store lands in the same pages.
var shared []byte

//go:nosplit
//go:norace
func writeShared() int {
	shared[0] = 42
	return 0
}

// A forked child gets a copy of memory, so its stores are invisible to the
// parent, except in a MAP_SHARED mapping made before the fork.
func ExampleMapShared() {
	mem, err := sys.MapShared(4096)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sys.Unmap(mem)
	shared = mem
	pid, err := sys.Fork(writeShared)
	if err != nil {
		fmt.Println(err)
		return
	}
	sys.Wait4(pid, 0)
	fmt.Println(mem[0])
	// Output: 42
}

//go:nosplit
//go:norace
func exitAtOnce() int { return 0 }

// Reap collects ended children without waiting; a server calls it after
// each accept and on SIGCHLD. Children that have not ended yet are left
// for the next call, so this example calls it until all three are in.
func ExampleReap() {
	mine := map[int]bool{}
	for range 3 {
		pid, err := sys.Fork(exitAtOnce)
		if err != nil {
			fmt.Println(err)
			return
		}
		mine[pid] = true
	}
	reaped := 0
	for deadline := time.Now().Add(10 * time.Second); reaped < 3 && time.Now().Before(deadline); {
		sys.Reap(func(pid int, status unix.WaitStatus) {
			if mine[pid] {
				reaped++
			}
		})
		time.Sleep(time.Millisecond)
	}
	fmt.Println("reaped", reaped)
	// Output: reaped 3
}

// ChildFormatInt is strconv.Itoa for a forked child: digits into a
// preallocated array.
func ExampleChildFormatInt() {
	var buf [20]byte
	n := sys.ChildFormatInt(buf[:], -1234)
	fmt.Println(string(buf[:n]))
	// Output: -1234
}

func TestChildFormatInt(t *testing.T) {
	for _, v := range []int{0, 7, -7, 10, 99, 100, 12345678, -2147483648, 1<<62 + 5} {
		var buf [21]byte
		n := sys.ChildFormatInt(buf[:], v)
		if got, want := string(buf[:n]), strconv.Itoa(v); got != want {
			t.Errorf("ChildFormatInt(%d) = %q, want %q", v, got, want)
		}
	}
	var short [2]byte
	if n := sys.ChildFormatInt(short[:], 123); n != 0 {
		t.Errorf("ChildFormatInt into 2 bytes wrote %d bytes of 123", n)
	}
}

func TestExitDescription(t *testing.T) {
	for _, tc := range []struct {
		status unix.WaitStatus
		want   string
	}{
		{0x0000, "exit status 0"},
		{0x0300, "exit status 3"},
		{0x0009, "killed by signal 9 (SIGKILL)"},
		{0x008b, "killed by signal 11 (SIGSEGV), core dumped"},
		{0x137f, "stopped by signal 19 (SIGSTOP)"},
	} {
		if got := sys.ExitDescription(tc.status); got != tc.want {
			t.Errorf("ExitDescription(%#x) = %q, want %q", uint32(tc.status), got, tc.want)
		}
	}
}

// childSignals is where a child reports its signal dispositions: 64
// handler words read back with rt_sigaction.
var childSignals []byte

// childAct is the kernel's struct sigaction (handler, flags, restorer,
// mask) for the child to read into: a global, as the child's data must be.
var childAct [4]uintptr

// childMask is the child's signal mask, read by reportSignals.
var childMask uint64

//go:nosplit
//go:norace
func reportSignals() int {
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0 /* SIG_BLOCK */, 0, uintptr(unsafe.Pointer(&childMask)), 8, 0, 0)
	if childMask != 0 {
		childSignals[0] = 1 // byte 0: some signal is blocked
	}
	for sig := 1; sig <= 64; sig++ {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&childAct)), 8, 0, 0)
		switch h := childAct[0]; {
		case h <= 1:
			childSignals[sig] = byte(h) // SIG_DFL 0, SIG_IGN 1
		default:
			childSignals[sig] = 2 // a handler
		}
	}
	return 0
}

// rtSigaction sets a signal's action in the parent (the test's own
// process), returning the old one.
func rtSigaction(sig int, act *[4]uintptr) ([4]uintptr, error) {
	var old [4]uintptr
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	if e != 0 {
		return old, e
	}
	return old, nil
}

// TestForkResetsSignals: in the child every signal the Go runtime handles
// is back to SIG_DFL, and a signal the parent ignores (here SIGHUP) stays
// ignored, as across execve(2).
func TestForkResetsSignals(t *testing.T) {
	// clone3 with CLONE_CLEAR_SIGHAND (the kernel resets), then clone
	// (the child resets), as on a kernel before 5.5.
	t.Run("clone3", testForkResetsSignals)
	t.Run("clone", func(t *testing.T) {
		defer sys.ForceClone()()
		testForkResetsSignals(t)
	})
}

func testForkResetsSignals(t *testing.T) {
	mem, err := sys.MapShared(65)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Unmap(mem)
	childSignals = mem
	// The parent ignores SIGHUP for the length of the fork, as netprog's
	// servers do (raw, so that Go's own bookkeeping is not involved; the
	// old action, Go's handler, is put back at once).
	ign := [4]uintptr{1}
	old, err := rtSigaction(int(unix.SIGHUP), &ign)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := sys.Fork(reportSignals)
	rtSigaction(int(unix.SIGHUP), &old)
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := sys.Wait4(pid, 0); err != nil || !st.Exited() || st.ExitStatus() != 0 {
		t.Fatalf("child: %v %v", sys.ExitDescription(st), err)
	}
	var handled []string
	for sig := 1; sig <= 64; sig++ {
		if mem[sig] == 2 {
			handled = append(handled, unix.SignalName(unix.Signal(sig)))
		}
	}
	if len(handled) > 0 {
		t.Errorf("signals with a handler in the child: %s", strings.Join(handled, " "))
	}
	if mem[0] != 0 {
		t.Error("the child starts with signals blocked: it should start with the forking thread's mask, which blocks none")
	}
	if mem[unix.SIGHUP] != 1 {
		t.Errorf("SIGHUP in the child: %d, want 1 (SIG_IGN)", mem[unix.SIGHUP])
	}
	if mem[unix.SIGTERM] != 0 || mem[unix.SIGPIPE] != 0 {
		t.Errorf("SIGTERM %d, SIGPIPE %d in the child, want 0 (SIG_DFL)", mem[unix.SIGTERM], mem[unix.SIGPIPE])
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("/proc/%d still there after wait4", pid)
	}
}
