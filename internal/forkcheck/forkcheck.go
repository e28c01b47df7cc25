// Package forkcheck proves from a binary's machine code that the code a
// forked child runs cannot enter the Go runtime.
//
// After sys.Fork the child is a copy of a multi-threaded process with one
// thread left; any entry into the runtime (a stack check that finds a
// pending preemption, an allocation, a write barrier, the race detector)
// may wait forever on a lock held by a thread that no longer exists. The
// compiler and linker do not catch this: //go:nosplit only drops a
// function's own stack check, and the linker's nosplit analysis allows a
// nosplit function to call one that checks. Worse, the compiler inserts
// such calls where the source shows none: copy() becomes
// runtime.slicecopy under -race, which checks the stack. So the tests
// disassemble the test binary itself (go tool objdump) and walk the static
// call graph from the child's entry points.
package forkcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

// Forbidden are the runtime functions a child must never reach even though
// some of them do not check the stack: the race detector's hooks, the
// garbage collector's write barriers and pointer copies, checkptr, and the
// scheduler's system-call bookkeeping.
var Forbidden = []string{
	"runtime.race", "runtime.gcWriteBarrier", "runtime.wbZero", "runtime.wbMove",
	"runtime.typedmemmove", "runtime.typedslicecopy", "runtime.checkptr",
	"runtime.entersyscall", "runtime.exitsyscall", "runtime.morestack",
	"runtime.mallocgc", "runtime.newobject", "runtime.growslice", "runtime.slicecopy",
}

// panics are reached only on a bug (an index out of range); they are the
// child's own assertion failures, not part of its normal path.
var panics = regexp.MustCompile(`^runtime\.(panic|goPanic)`)

// Result is what Check walked.
type Result struct {
	Functions []string // every function reached, sorted
}

// Check disassembles binary and walks the calls (and tail jumps) from the
// functions whose names match roots (a regular expression). Every function
// reached must have no stack check (no call to runtime.morestack), call no
// Forbidden function, and make no indirect call unless its name is in
// indirect (sys.rawFork calls the child function through a func value).
func Check(binary, roots string, indirect map[string]bool) (*Result, error) {
	level, err := disassemble(binary, roots)
	if err != nil {
		return nil, err
	}
	if len(level) == 0 {
		return nil, fmt.Errorf("no function in %s matches %q", binary, roots)
	}
	seen := map[string]bool{}
	var problems []string
	for len(level) > 0 {
		next := map[string]bool{}
		for name, fn := range level {
			seen[name] = true
			for _, target := range fn.calls {
				switch {
				case target == "":
					if !indirect[name] {
						problems = append(problems, name+" makes an indirect call")
					}
				case forbidden(target):
					problems = append(problems, name+" calls "+target)
				case panics.MatchString(target):
				case !seen[target] && level[target] == nil:
					next[target] = true
				}
			}
		}
		if len(next) == 0 {
			break
		}
		var names []string
		for n := range next {
			names = append(names, regexp.QuoteMeta(n))
		}
		level, err = disassemble(binary, "^(?:"+strings.Join(names, "|")+")$")
		if err != nil {
			return nil, err
		}
		for n := range next {
			if level[n] == nil {
				problems = append(problems, "cannot disassemble "+n)
			}
		}
	}
	res := &Result{}
	for n := range seen {
		res.Functions = append(res.Functions, n)
	}
	sort.Strings(res.Functions)
	if len(problems) > 0 {
		sort.Strings(problems)
		return res, fmt.Errorf("a forked child could enter the runtime:\n  %s", strings.Join(problems, "\n  "))
	}
	return res, nil
}

func forbidden(name string) bool {
	for _, f := range Forbidden {
		if strings.HasPrefix(name, f) {
			return true
		}
	}
	return false
}

type function struct {
	calls []string // targets; "" for an indirect call
}

var (
	textRE = regexp.MustCompile(`^TEXT (\S+)\(SB\)`)
	callRE = regexp.MustCompile(`\t(CALL|JMP) (.*)$`)
	symRE  = regexp.MustCompile(`^(\S+)\(SB\)`)
)

// disassemble runs go tool objdump -s pattern and collects each function's
// call and jump targets.
func disassemble(binary, pattern string) (map[string]*function, error) {
	cmd := exec.Command("go", "tool", "objdump", "-s", pattern, binary)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool objdump %s: %v: %s", binary, err, bytes.TrimSpace(stderr.Bytes()))
	}
	fns := map[string]*function{}
	var cur *function
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := textRE.FindStringSubmatch(line); m != nil {
			cur = &function{}
			fns[m[1]] = cur
			continue
		}
		m := callRE.FindStringSubmatch(line)
		if cur == nil || m == nil {
			continue
		}
		operand := strings.TrimSpace(m[2])
		if s := symRE.FindStringSubmatch(operand); s != nil {
			cur.calls = append(cur.calls, s[1])
			continue
		}
		if m[1] == "CALL" {
			cur.calls = append(cur.calls, "") // through a register
		}
		// JMP to an address: a branch inside the function.
	}
	return fns, sc.Err()
}
