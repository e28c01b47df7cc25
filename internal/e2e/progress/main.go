// Command progress reads `go test -json` on its standard input and prints
// what `go test` prints (a line per package, the output of what failed),
// plus a line for each test of a second or more as it ends: a long package
// shows it is moving. It exits 1 if a test or package failed, or if the
// input held no package result.
//
//	go test -json ./... | go run ./internal/e2e/progress
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	out := bufio.NewWriter(os.Stdout)
	logs := map[string][]string{}     // package/test: its output so far
	started := map[string]time.Time{} // package/test: when it started
	failed, packages := false, 0
	start := time.Now()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Fprintln(out, in.Text()) // not JSON: a build error, say
			out.Flush()
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "run", "cont":
			started[key] = e.Time // a parallel test waits paused between the two
		case "output":
			logs[key] = append(logs[key], e.Output)
		case "pass", "skip":
			if e.Test == "" && e.Action == "skip" {
				packages++
				fmt.Fprintf(out, "?    %-40s [no test files]\n", e.Package)
			} else if e.Test == "" {
				packages++
				fmt.Fprintf(out, "ok   %-40s %6.1fs  [%v]\n", e.Package, e.Elapsed, time.Since(start).Round(time.Second))
			} else if !strings.Contains(e.Test, "/") {
				// A parallel test's Elapsed leaves out its parallel
				// subtests: the time since it ran (or, parallel, since
				// it was let go on) is what it took.
				d := e.Elapsed
				if t0, ok := started[key]; ok && !e.Time.IsZero() {
					d = max(d, e.Time.Sub(t0).Seconds())
				}
				if d >= 1 {
					fmt.Fprintf(out, "     %-40s %6.1fs  %s\n", e.Package, d, e.Test)
				}
			}
			delete(logs, key)
			delete(started, key)
		case "fail":
			failed = true
			if e.Test == "" {
				packages++
				for _, l := range logs[key] {
					fmt.Fprint(out, l)
				}
				fmt.Fprintf(out, "FAIL %-40s %6.1fs\n", e.Package, e.Elapsed)
			} else {
				for _, l := range logs[key] {
					fmt.Fprint(out, l)
				}
			}
			delete(logs, key)
		}
		out.Flush()
	}
	if packages == 0 {
		fmt.Fprintln(out, "progress: no package result in the input")
		failed = true
	}
	out.Flush()
	if failed {
		os.Exit(1)
	}
}
