// Package inlinecheck holds a build check: the functions a hot path counts
// on the compiler to inline still fit its budget.
package inlinecheck

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestHotPathInlines: sys.rawRestart is written small enough for the
// compiler to inline it (sys/retry.go says why: a flood ping makes two of
// these calls per packet, and a call less between its loop and the kernel
// shows in bench/ping.sh). Its cost sits just under the budget, so a change
// that grows it would slow ping without a word: this says so instead. It
// builds package sys with -gcflags=-m=2, outside the race detector (which
// inlines no //go:norace function).
func TestHotPathInlines(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goCmd, "build", "-gcflags=netprog/sys=-m=2", "netprog/sys").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m=2 netprog/sys: %v\n%s", err, out)
	}
	for _, fn := range []string{"rawRestart"} {
		if !regexp.MustCompile(`: can inline ` + fn + ` with cost \d+`).Match(out) {
			why := regexp.MustCompile(`cannot inline ` + fn + `: [^\n]*`).Find(out)
			t.Errorf("sys.%s is no longer inlined: %s", fn, why)
		}
	}
}
