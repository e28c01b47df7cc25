// Package e2e is the end-to-end test harness of every package that drives
// the built netprog binary: the binary itself (built once per `make test`,
// or once per test binary without make), a server process started on port
// 0 and stopped with a signal, waiting for a condition with a deadline,
// what /proc says of a process tree, and the peers that stress a server
// (a flood that never reads, a slow reader, many clients at once).
//
// It imports no package under test but clients/probe and sys, so that the
// internal tests of any package (servers included) can use it.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BinEnv names the environment variable that holds the path of a netprog
// built as the Makefile builds the release (CGO_ENABLED=0, so that a file
// capability can be dropped on every thread: sys/caps.go). `make test`
// builds it once and sets it for every package; without it, the first
// test binary to ask builds its own.
const BinEnv = "NETPROG_TEST_BIN"

// RaceBinEnv names the variable that holds a -race build of netprog (the
// fork-safety checks read its machine code); built on demand when unset.
const RaceBinEnv = "NETPROG_TEST_RACE_BIN"

var (
	tmpOnce sync.Once
	tmpDir  string
	tmpErr  error

	binOnce sync.Once
	bin     string
	binErr  error

	raceOnce sync.Once
	raceBin  string
	raceErr  error
)

func buildDir() (string, error) {
	tmpOnce.Do(func() { tmpDir, tmpErr = os.MkdirTemp("", "netprog-e2e") })
	return tmpDir, tmpErr
}

// build runs `go build` for netprog with extra flags and environment.
func build(name string, env []string, flags ...string) (string, error) {
	dir, err := buildDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	args := append(append([]string{"build"}, flags...), "-o", path, "netprog/cmd/netprog")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %v\n%s", args, err, out)
	}
	return path, nil
}

// fromEnv is the binary the variable names, if it names an executable.
func fromEnv(name string) (string, bool) {
	p := os.Getenv(name)
	if p == "" {
		return "", false
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		fmt.Fprintf(os.Stderr, "%s=%s is no executable; building one\n", name, p)
		return "", false
	}
	return p, true
}

// Bin is the netprog binary the tests run (BinEnv's, else built now).
// It panics if it cannot be built: Main calls it first, so a test binary
// that needs it fails at once, with the build's errors.
func Bin() string {
	binOnce.Do(func() {
		if p, ok := fromEnv(BinEnv); ok {
			bin = p
			return
		}
		bin, binErr = build("netprog", []string{"CGO_ENABLED=0"})
	})
	if binErr != nil {
		panic(binErr)
	}
	return bin
}

// RaceBin is a -race build of netprog (RaceBinEnv's, else built once).
func RaceBin(t testing.TB) string {
	t.Helper()
	raceOnce.Do(func() {
		if p, ok := fromEnv(RaceBinEnv); ok {
			raceBin = p
			return
		}
		raceBin, raceErr = build("netprog-race", nil, "-race")
	})
	if raceErr != nil {
		t.Fatal(raceErr)
	}
	return raceBin
}

// Main is a TestMain for a package of end-to-end tests: it makes sure the
// binary is there (building it if BinEnv is unset), sets *bin to its path
// (when bin is not nil), runs the tests and removes what it built.
func Main(m *testing.M, bin *string) {
	code := func() int {
		defer Cleanup()
		if err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%v", r)
				}
			}()
			if p := Bin(); bin != nil {
				*bin = p
			}
			return nil
		}(); err != nil {
			fmt.Fprintln(os.Stderr, "building netprog:", err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}

// Cleanup removes the binaries this process built.
func Cleanup() {
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
}
