package main

import (
	"embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The C references: the same designs as the epoll and fork models, written
// in C as small as they go (bench/cref/*.c), compiled with the system's C
// compiler when the harness starts and measured in the same interleaved
// rounds as the models. Their rows answer the question a systems course
// asks of every Go model: what does the language and its runtime cost here?
// The sources live in their own folder because Go refuses .c files in a
// package directory that does not use cgo; they are embedded in the
// harness, so it needs no source tree at run time, only `cc`.

//go:embed cref/epoll.c cref/fork.c
var crefSources embed.FS

const (
	crefEpoll = "c-epoll" // bench/cref/epoll.c: one level-triggered epoll_wait loop
	crefFork  = "c-fork"  // bench/cref/fork.c: UNP's serv01, a fork per connection
	// crefForkBig is c-fork grown, before it listens, to the Go fork
	// server's address space: as many mappings and as many resident
	// kilobytes. Measured under connect only: it separates what a fork
	// costs for the footprint from what it costs for the language.
	crefForkBig = "c-fork-big"
)

// crefModels are the C rows, in the table's order.
var crefModels = []string{crefEpoll, crefFork, crefForkBig}

func isCRef(model string) bool {
	for _, m := range crefModels {
		if m == model {
			return true
		}
	}
	return false
}

// crefSource is the C file a reference is built from.
func crefSource(model string) string {
	if model == crefEpoll {
		return "cref/epoll.c"
	}
	return "cref/fork.c"
}

// buildCRefs compiles the C references the run needs into dir with `cc`
// (or $CC) and returns the binaries by model. Without a compiler it returns
// why, and the C rows say so instead of measuring.
func buildCRefs(models []string, dir string, log io.Writer) (map[string]string, string) {
	need := false
	for _, m := range models {
		need = need || isCRef(m)
	}
	if !need {
		return nil, ""
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		return nil, fmt.Sprintf("no C compiler (%s) found: the C references were not built", cc)
	}
	bins := map[string]string{}
	for _, src := range []string{"cref/epoll.c", "cref/fork.c"} {
		b, err := crefSources.ReadFile(src)
		if err != nil {
			return nil, err.Error()
		}
		path := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err.Error()
		}
		bin := strings.TrimSuffix(path, ".c")
		out, err := exec.Command(cc, "-O2", "-o", bin, path).CombinedOutput()
		if err != nil {
			return nil, fmt.Sprintf("%s -O2 bench/%s failed: %v: %s", cc, src, err, lastLines(out, 3))
		}
		bins[src] = bin
	}
	fmt.Fprintf(log, "built the C references with %s\n", cc)
	out := map[string]string{}
	for _, m := range crefModels {
		out[m] = bins[crefSource(m)]
	}
	return out, ""
}

// footprint is the size of a process's address space: its mappings and
// its resident memory.
type footprint struct {
	Mappings   int `json:"mappings"`
	ResidentKB int `json:"resident_kb"`
	// AnonKB is the resident anonymous memory (RssAnon): what a fork
	// copies page table entries for and write-protects.
	AnonKB       int `json:"anon_kb"`
	PageTablesKB int `json:"page_tables_kb"`
}

// readFootprint reads /proc/PID/maps and /proc/PID/status.
func readFootprint(pid int) (footprint, error) {
	var f footprint
	p := "/proc/" + strconv.Itoa(pid)
	maps, err := os.ReadFile(p + "/maps")
	if err != nil {
		return f, err
	}
	f.Mappings = strings.Count(string(maps), "\n")
	status, err := os.ReadFile(p + "/status")
	if err != nil {
		return f, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			f.ResidentKB = n
		case "RssAnon":
			f.AnonKB = n
		case "VmPTE":
			f.PageTablesKB = n
		}
	}
	return f, nil
}

func (f footprint) String() string {
	return fmt.Sprintf("%d mappings, %d kB resident (%d kB anonymous), %d kB of page tables", f.Mappings, f.ResidentKB, f.AnonKB, f.PageTablesKB)
}
