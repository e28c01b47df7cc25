package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/raw/netnstest"
)

// The privilege tests give a copy of a binary CAP_NET_RAW as a file
// capability, as `setcap cap_net_raw+ep` does, and run it as user nobody:
// the way a teacher gives students ping without root (privilege.go).

// needFileCaps skips unless this test can set file capabilities and switch
// to user nobody: root, and setpriv (util-linux).
func needFileCaps(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("setting a file capability and running as nobody need root")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
}

// withNetRaw copies the file at src into a directory nobody can enter and
// gives the copy CAP_NET_RAW, permitted and effective: the extended
// attribute security.capability, struct vfs_cap_data revision 2
// (<linux/capability.h>).
func withNetRaw(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	const vfsCapRevision2, vfsCapFlagsEffective = 0x02000000, 0x000001
	xattr := make([]byte, 20) // magic_etc, then {permitted, inheritable} × 2
	binary.LittleEndian.PutUint32(xattr[0:], vfsCapRevision2|vfsCapFlagsEffective)
	binary.LittleEndian.PutUint32(xattr[4:], 1<<unix.CAP_NET_RAW)
	if err := unix.Setxattr(dst, "security.capability", xattr, 0); err != nil {
		t.Skipf("cannot set a file capability here: %v", err)
	}
	return dst
}

// asNobody is a command that runs bin as user nobody, with no groups.
func asNobody(bin string, args ...string) *exec.Cmd {
	return exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
}

// threadCaps reads every thread's CapPrm, CapEff and NoNewPrivs lines from
// /proc/PID/task/*/status.
func threadCaps(t *testing.T, pid int) map[string][]string {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of %d: %v", pid, err)
	}
	caps := map[string][]string{}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread has gone
		}
		for _, line := range strings.Split(string(b), "\n") {
			key, val, ok := strings.Cut(line, ":")
			if ok && (key == "CapPrm" || key == "CapEff" || key == "NoNewPrivs") {
				caps[key] = append(caps[key], strings.TrimSpace(val))
			}
		}
	}
	return caps
}

// noCapsLeft fails unless every thread of pid holds no capability and has
// no_new_privs set.
func noCapsLeft(t *testing.T, what string, pid int) {
	t.Helper()
	caps := threadCaps(t, pid)
	for key, want := range map[string]string{"CapPrm": "0000000000000000", "CapEff": "0000000000000000", "NoNewPrivs": "1"} {
		if len(caps[key]) == 0 {
			t.Errorf("%s: no %s lines", what, key)
		}
		for i, v := range caps[key] {
			if v != want {
				t.Errorf("%s: thread %d of %d has %s %s, want %s (all: %v)", what, i, len(caps[key]), key, v, want, caps)
				break
			}
		}
	}
}

// exited is a process's end: done is closed once err is set.
type exited struct {
	done chan struct{}
	err  error
}

// startAsNobody starts cmd and returns buffers of its stdout and stderr,
// once its output contains ready; the process is killed when the test ends.
func startAsNobody(t *testing.T, cmd *exec.Cmd, ready string) (*lockedBuffer, *lockedBuffer, *exited) {
	t.Helper()
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	end := &exited{done: make(chan struct{})}
	go func() {
		io.Copy(out, bufio.NewReader(stdout))
		end.err = cmd.Wait()
		close(end.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-end.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), ready) {
		if time.Now().After(deadline) {
			t.Fatalf("%v: no %q in 20 s\nstdout: %s\nstderr: %s", cmd.Args, ready, out, errb)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return out, errb, end
}

// TestFileCapabilityPing: with CAP_NET_RAW as a file capability, a user's
// ping opens its raw socket, then holds no capability on any thread for
// the rest of its run (as iputils), and no_new_privs is set.
func TestFileCapabilityPing(t *testing.T) {
	t.Parallel()
	needFileCaps(t)
	bin := withNetRaw(t, netprogBin)
	cmd := asNobody(bin, "ping", "-i", "0.2", "-w", "60", "127.0.0.1")
	_, errb, end := startAsNobody(t, cmd, "icmp_seq=2 ")
	noCapsLeft(t, "ping", cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-end.done:
		if end.err != nil {
			t.Errorf("ping stopped by SIGINT: %v\nstderr: %s", end.err, errb)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ping did not stop within 20 s of SIGINT")
	}
	if strings.Contains(errb.String(), "datagram socket") {
		t.Errorf("ping fell back to a datagram socket: the capability was not used\n%s", errb)
	}
}

// TestFileCapabilityOtherCommands: every other command drops the
// capability before it does anything; icmp-responder, which answers for
// the whole host, refuses to run with it.
func TestFileCapabilityOtherCommands(t *testing.T) {
	t.Parallel()
	needFileCaps(t)
	bin := withNetRaw(t, netprogBin)

	cmd := asNobody(bin, "echo-server", "-addr", "127.0.0.1:0", "-model", "thread")
	startAsNobody(t, cmd, "listening on ")
	noCapsLeft(t, "echo-server", cmd.Process.Pid)

	_, errOut, code := runCommand(t, "", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "icmp-responder")
	if code != 2 || !strings.Contains(errOut, "only root may run it") {
		t.Errorf("icmp-responder with a file capability: exit %d, stderr %q; want 2 and a refusal", code, errOut)
	}
}

// TestDropCapabilitiesEveryThread: internal/captest opens a raw socket with
// the file capability, parks goroutines on threads of their own, drops, and
// tries again from every parked thread and from new ones: each must get
// EPERM. A build with cgo cannot drop on every thread, and says so.
func TestDropCapabilitiesEveryThread(t *testing.T) {
	t.Parallel()
	needFileCaps(t)
	for _, cgo := range []string{"0", "1"} {
		t.Run("CGO_ENABLED="+cgo, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "captest")
			build := exec.Command("go", "build", "-o", path, "netprog/internal/captest")
			build.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
			if out, err := build.CombinedOutput(); err != nil {
				if cgo == "1" {
					t.Skipf("no cgo build here: %v\n%s", err, out)
				}
				t.Fatalf("build: %v\n%s", err, out)
			}
			bin := withNetRaw(t, path)
			out, _, code := runCommand(t, "", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin)
			if !strings.HasPrefix(out, "before: ok\n") {
				t.Fatalf("the capability did not open a raw socket before the drop:\n%s", out)
			}
			if cgo == "1" {
				if code != 2 || !strings.Contains(out, "cannot drop capabilities on every thread") {
					t.Errorf("cgo build: exit %d, want 2 and a refusal:\n%s", code, out)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || len(lines) != 2+16 || lines[1] != "drop: ok" {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, l := range lines[2:] {
				if !strings.HasSuffix(l, "operation not permitted") {
					t.Errorf("a thread kept its capability: %q\n%s", l, out)
				}
			}
		})
	}
}

// TestFileCapabilityTraceroute: traceroute too holds the capability only
// to open its socket. It runs in a namespace of the test's whose kernel
// does not answer pings, so its one probe waits (up to 60 s) while the
// test looks, then SIGINT ends it.
func TestFileCapabilityTraceroute(t *testing.T) {
	t.Parallel()
	needFileCaps(t)
	netnstest.Need(t)
	n := netnstest.New(t)
	ns := n.Add("cap")
	n.Sysctl(ns, "net.ipv4.icmp_echo_ignore_all", "1")
	bin := withNetRaw(t, netprogBin)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, asNobody(bin, "traceroute", "-n", "-m", "1", "-q", "1", "-w", "60", "127.0.0.1").Args...)...)
	out, errb, end := startAsNobody(t, cmd, "traceroute to ")
	noCapsLeft(t, "traceroute", cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-end.done:
	case <-time.After(20 * time.Second):
		t.Fatal("traceroute did not stop within 20 s of SIGINT")
	}
	if strings.Contains(errb.String(), "datagram socket") {
		t.Errorf("traceroute fell back to a datagram socket\nstdout: %s\nstderr: %s", out, errb)
	}
}
