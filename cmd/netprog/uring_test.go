package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netprog/internal/e2e"
)

// The seccomp helper. A kernel without io_uring cannot be booted for a
// test, but it can be faked: a seccomp filter that makes io_uring_setup
// fail with ENOSYS (what a kernel built without CONFIG_IO_URING answers) or
// EPERM (sysctl kernel.io_uring_disabled, or Docker's default profile). The
// test binary re-runs itself with seccompErrnoEnv set; this init, which runs
// before any test, installs the filter and execs netprog, which inherits
// the filter across exec (seccomp(2): filters are preserved across execve).
const (
	seccompErrnoEnv = "NETPROG_TEST_SECCOMP_ERRNO"
	seccompExecEnv  = "NETPROG_TEST_SECCOMP_EXEC"
)

func init() {
	errno := os.Getenv(seccompErrnoEnv)
	if errno == "" {
		return
	}
	if err := execUnderSeccomp(errno, os.Getenv(seccompExecEnv), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp helper:", err)
		os.Exit(125)
	}
}

// auditArch is the AUDIT_ARCH_* a seccomp filter must check before it
// trusts a system call number (numbers differ from one ABI to another).
func auditArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, true
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, true
	}
	return 0, false
}

// execUnderSeccomp installs a filter failing io_uring_setup with errno,
// then execs bin with args.
func execUnderSeccomp(errno, bin string, args []string) error {
	e, err := strconv.Atoi(errno)
	if err != nil {
		return err
	}
	arch, ok := auditArch()
	if !ok {
		return fmt.Errorf("no AUDIT_ARCH for %s", runtime.GOARCH)
	}
	// struct seccomp_data: int nr at 0, __u32 arch at 4.
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: arch, Jt: 1, Jf: 0},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}, // another ABI: not ours to judge
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_IO_URING_SETUP, Jt: 0, Jf: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(e)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// The filter belongs to the calling thread, and execve keeps the
	// calling thread's: stay on it until the exec.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %v", e)
	}
	return syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
}

// TestUringUnavailable: with io_uring_setup refused, `echo-server -model
// uring` says so in one line and exits 2, before it listens.
func TestUringUnavailable(t *testing.T) {
	t.Parallel()
	if _, ok := auditArch(); !ok {
		t.Skipf("no seccomp filter for %s in this test", runtime.GOARCH)
	}
	tests := []struct {
		errno unix.Errno
		want  string
	}{
		{unix.ENOSYS, "io_uring is not available: io_uring_setup: function not implemented"},
		{unix.EPERM, "io_uring is not permitted: io_uring_setup: operation not permitted"},
	}
	for _, tt := range tests {
		t.Run(unix.ErrnoName(tt.errno), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "echo-server", "-model", "uring", "-port", "0")
			cmd.Env = append(os.Environ(), seccompErrnoEnv+"="+strconv.Itoa(int(tt.errno)), seccompExecEnv+"="+netprogBin)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err == nil {
				code = 0
			}
			if code == 125 {
				t.Skipf("cannot install a seccomp filter here: %s", stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "netprog echo-server: "+tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line starting %q", code, stderr.String(), "netprog echo-server: "+tt.want)
			}
			if strings.Contains(stdout.String(), "listening on") {
				t.Errorf("it listened before failing: %q", stdout.String())
			}
			if tt.errno == unix.EPERM {
				checkReadmeOutput(t, "uring-eperm", "cmd/netprog/uring_test.go",
					outputBlock("./netprog echo-server -model uring -port 0", stderr.String()), nil)
			}
		})
	}
}

// TestUringOutOfDescriptors: at the fd limit (soft and hard, so Go's
// raise at start cannot lift it), connections beyond it are shed (the
// client gets end of file at once) instead of waiting forever or making the
// server spin on accept's EMFILE; once clients leave it serves again.
func TestUringOutOfDescriptors(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit(1) is not installed")
	}
	const limit = 32
	s := startServerCmd(t, exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", limit, limit),
		netprogBin, "echo-server", "-model", "uring", "-raw", "-port", "0"))
	if strings.Contains(s.Err.String(), "io_uring is not") {
		t.Skip(strings.TrimSpace(s.Err.String()))
	}
	pid := s.Cmd.Process.Pid
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	served, shed := 0, 0
	for i := 0; i < 2*limit; i++ {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(15 * time.Second))
		io.WriteString(c, "ping\n")
		var b [5]byte
		if _, err := io.ReadFull(c, b[:]); err == nil {
			served++
		} else if err == io.EOF || uringIsReset(err) {
			shed++
		} else {
			t.Fatalf("client %d: neither served nor shed: %v", i, err)
		}
	}
	if served == 0 || shed == 0 {
		t.Fatalf("%d served, %d shed of %d clients at a limit of %d descriptors", served, shed, 2*limit, limit)
	}
	// At the limit, more connects arrive: the server must not spin.
	cpu0, wall0 := treeCPU(t, pid), time.Now()
	for i := 0; i < 20; i++ {
		if c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second); err == nil {
			conns = append(conns, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
		s.Stop(t)
		t.Fatalf("server died: %v\nstdout: %s\nstderr: %s", s.Status(), tail(s.Out.String(), 10), s.Err)
	}
	cpu, wall := treeCPU(t, pid)-cpu0, time.Since(wall0)
	t.Logf("at the limit: %v of CPU in %v", cpu, wall.Round(time.Millisecond))
	if cpu > wall/2 {
		t.Errorf("at the descriptor limit the server used %v of CPU in %v", cpu, wall)
	}
	// And once they are in, it waits: no spin, not even a slow one.
	if spin, _ := e2e.Spins(pid, time.Second); spin != "" {
		t.Errorf("at the descriptor limit, with clients waiting, the server spins: %s", spin)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	// Clients gone, descriptors free: it serves again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(15 * time.Second))
		io.WriteString(c, "back\n")
		var b [5]byte
		_, err = io.ReadFull(c, b[:])
		c.Close()
		if err == nil && string(b[:]) == "back\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not served again after the clients left: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Stop(t); err != nil {
		t.Errorf("exit: %v; stderr: %s", err, s.Err)
	}
	if out := s.Out.String(); !strings.Contains(out, "refused") || !strings.Contains(out, "Out of descriptors") {
		t.Errorf("summary does not count the refused connections:\n%s", tail(out, 5))
	}
}

func uringIsReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
