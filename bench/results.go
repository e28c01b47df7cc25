package main

// What a run measured, as results.json keeps it: the machine, the cells,
// and how far an interrupted run got.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine is where the results were measured.
type machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Date      string `json:"date"`
	// The 1-minute load average when the run started and ended: the
	// generator and the server under test make about 2; more means other
	// work shared the cores, and the figures are noisier for it.
	LoadStart float64 `json:"load_average_start"`
	LoadEnd   float64 `json:"load_average_end"`
}

func loadAverage() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(b), "%f", &l)
	}
	return l
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), LoadStart: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = (kb + 512<<10) >> 20
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// results is everything one harness run measured.
type results struct {
	Machine        machine  `json:"machine"`
	WindowSeconds  float64  `json:"window_seconds"`
	Repeats        int      `json:"repeats"`
	SyscallMethod  string   `json:"syscall_method"`
	SyscallSeconds float64  `json:"syscall_window_seconds"`
	Models         []string `json:"models"`
	Loads          []load   `json:"loads"`
	Cells          []*cell  `json:"cells"`
	Targets        []target `json:"targets"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	// Quick is set by -quick: fewer loads, one short repeat.
	Quick bool `json:"quick,omitempty"`
	// ConnectThreads is how many generator threads drove the connect
	// workload.
	ConnectThreads int `json:"connect_threads,omitempty"`
	// Paired is set when a Go model and its C references ran back to back
	// in every repeat and each sample records its repeat (paired.go):
	// then the ratios against C are read repeat by repeat. Results written
	// before were not so run: their ratios are the medians'.
	Paired bool `json:"paired,omitempty"`
	// CRefMissing says why the C references were not measured (no C
	// compiler); "" when they were, or were not asked for.
	CRefMissing string `json:"cref_missing,omitempty"`
	// Footprints are the fork servers' address spaces: the Go fork
	// model's and the C one's at rest, as the run started; the Go one's
	// under connect (forkUnderConnect), as c-fork-big was last grown to
	// it; and c-fork-big then, as it started.
	Footprints map[string]footprint `json:"footprints,omitempty"`
	// Partial is set when the run was interrupted: only some runs were
	// measured, and each cell's figures are the median of the repeats it
	// got.
	Partial *partial `json:"partial,omitempty"`
}

// partial says how far an interrupted run got.
type partial struct {
	Reason        string `json:"reason"`         // "interrupted by SIGINT"
	RunsDone      int    `json:"runs_done"`      // measured runs (repeats and syscall runs)
	RunsTotal     int    `json:"runs_total"`     // planned
	CellsMeasured int    `json:"cells_measured"` // cells with at least one repeat
	CellsComplete int    `json:"cells_complete"` // cells with every repeat
	CellsTotal    int    `json:"cells_total"`    // cells to run (not skipped)
}

// errInterrupted is what runHarness returns, with the partial results,
// when its context is cancelled.
var errInterrupted = errors.New("interrupted")

func (r *results) cell(model string, l load) *cell {
	for _, c := range r.Cells {
		if c.Model == model && c.Load == l {
			return c
		}
	}
	return nil
}
