package forkcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestRootsFindsMarkedFunctions: a function marked //netprog:forkchild is
// a root, named as the symbol table names it, in a main package, a library
// package and as a method; unmarked functions, and marked ones in test
// files and testdata, are not.
func TestRootsFindsMarkedFunctions(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"main.go": `package main

// demoChild is where a demo's child starts.
//
//go:nosplit
//netprog:forkchild
func demoChild() int { return 0 }

func main() {}
`,
		"lib/lib.go": `package lib

type pool struct{}

//netprog:forkchild
func (p *pool) worker() int { return 0 }

//netprog:forkchild
func child() int { return 0 }

// notAChild mentions netprog:forkchild in its text only.
func notAChild() int { return 0 }
`,
		"lib/lib_test.go":   "package lib\n\n//netprog:forkchild\nfunc testChild() int { return 0 }\n",
		"lib/testdata/x.go": "package x\n\n//netprog:forkchild\nfunc dataChild() int { return 0 }\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Roots(filepath.Join(dir, "lib")) // from below the module root
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.com/m/lib.(*pool).worker", "example.com/m/lib.child", "main.demoChild"}
	if !slices.Equal(got, want) {
		t.Fatalf("Roots = %q, want %q", got, want)
	}
	re := regexp.MustCompile(Pattern(got))
	for _, n := range want {
		if !re.MatchString(n) {
			t.Errorf("Pattern does not match %s", n)
		}
	}
	if re.MatchString("example.com/m/lib.childX") || re.MatchString("xmain.demoChild") {
		t.Errorf("Pattern %s matches more than the roots", re)
	}
}

// TestRootsOfThisModule: the fork children of netprog itself are found.
func TestRootsOfThisModule(t *testing.T) {
	got, err := Roots(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"netprog/servers.forkChild", "netprog/servers.preforkChild",
		"netprog/servers.passfdChild", "netprog/sys.rawFork"} {
		if !slices.Contains(got, want) {
			t.Errorf("Roots(.) = %q: no %s", got, want)
		}
	}
}
