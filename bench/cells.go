package main

// The table: a load is a column, a cell one model under one load, a
// sample one measured repeat of a cell, and the cell's figures the median
// of its samples.

import (
	"fmt"
	"slices"
	"sort"

	"netprog/clients"
)

// load is one column of the table.
type load struct {
	Workload string `json:"workload"`
	Conns    int    `json:"conns"`
	Size     int    `json:"size"`
}

func (l load) String() string {
	if l.Workload == clients.WorkloadConnect {
		return fmt.Sprintf("connect %d workers x %s", l.Conns, sizeName(l.Size))
	}
	return fmt.Sprintf("echo %d conns x %s", l.Conns, sizeName(l.Size))
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// loads is every column: echo at each size and connection count, then
// connect.
func (c *config) loads() []load {
	var ls []load
	for _, size := range c.EchoSizes {
		for _, n := range c.EchoConns {
			ls = append(ls, load{clients.WorkloadEcho, n, size})
		}
	}
	if c.ConnectWorkers > 0 {
		ls = append(ls, load{clients.WorkloadConnect, c.ConnectWorkers, c.ConnectSize})
	}
	return ls
}

// skipReason says why a model does not run a load, or "" if it does.
func skipReason(model string, l load) string {
	if model == crefForkBig && l.Workload != clients.WorkloadConnect {
		return "the footprint experiment: measured under connect only"
	}
	limit := concurrency(model)
	if l.Workload != clients.WorkloadEcho || limit == 0 || l.Conns <= limit {
		return ""
	}
	if model == "iterative" {
		return fmt.Sprintf("serves one connection at a time: the other %d persistent connections would wait in the listen queue for the whole run", l.Conns-1)
	}
	return fmt.Sprintf("a pool of %d workers serves %d connections at a time: the other %d would wait in the listen queue for the whole run", limit, limit, l.Conns-limit)
}

// sample is one measured repeat of a cell.
type sample struct {
	RequestsPerSec   float64 `json:"requests_per_sec"`
	P50us            float64 `json:"p50_us"`
	P99us            float64 `json:"p99_us"`
	P999us           float64 `json:"p99_9_us"`
	MaxUs            float64 `json:"max_us"`
	Requests         int64   `json:"requests"`
	Seconds          float64 `json:"seconds"`
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	// CPU milliseconds the server (and its children) spent per 1000
	// requests (per 1000 connections in the connect workload).
	ServerCPUmsPer1k float64 `json:"server_cpu_ms_per_1k"`
	ClientCPUShare   float64 `json:"client_cpu_share"`
	ClientSyscalls   float64 `json:"client_syscalls_per_request"`
	Errors           int64   `json:"errors"`
	Starved          int     `json:"starved"`
	WarmupSeconds    float64 `json:"warmup_seconds"`
	// Repeat is the interleaved repeat the sample was measured in, from
	// 0; paired ratios match samples by it (paired.go).
	Repeat int `json:"repeat,omitempty"`
}

// cell is one model under one load.
type cell struct {
	Model       string           `json:"model"`
	Load        load             `json:"load"`
	Skipped     string           `json:"skipped,omitempty"`
	Failed      string           `json:"failed,omitempty"`
	Samples     []sample         `json:"samples,omitempty"`
	Median      *sample          `json:"median,omitempty"`
	ClientBound bool             `json:"client_bound"`
	ErrorKinds  map[string]int64 `json:"error_kinds,omitempty"`
	Syscalls    *syscallCount    `json:"syscalls,omitempty"`
}

// summarize takes the median of each measure over the repeats.
func (c *cell) summarize() {
	if len(c.Samples) == 0 {
		return
	}
	med := func(get func(sample) float64) float64 {
		v := make([]float64, len(c.Samples))
		for i, s := range c.Samples {
			v[i] = get(s)
		}
		return median(v)
	}
	m := sample{
		RequestsPerSec:   med(func(s sample) float64 { return s.RequestsPerSec }),
		P50us:            med(func(s sample) float64 { return s.P50us }),
		P99us:            med(func(s sample) float64 { return s.P99us }),
		P999us:           med(func(s sample) float64 { return s.P999us }),
		MaxUs:            med(func(s sample) float64 { return s.MaxUs }),
		Requests:         int64(med(func(s sample) float64 { return float64(s.Requests) })),
		Seconds:          med(func(s sample) float64 { return s.Seconds }),
		ServerCPUSeconds: med(func(s sample) float64 { return s.ServerCPUSeconds }),
		ServerCPUmsPer1k: med(func(s sample) float64 { return s.ServerCPUmsPer1k }),
		ClientCPUShare:   med(func(s sample) float64 { return s.ClientCPUShare }),
		ClientSyscalls:   med(func(s sample) float64 { return s.ClientSyscalls }),
		Errors:           int64(med(func(s sample) float64 { return float64(s.Errors) })),
		Starved:          int(med(func(s sample) float64 { return float64(s.Starved) })),
		WarmupSeconds:    med(func(s sample) float64 { return s.WarmupSeconds }),
	}
	c.Median = &m
	c.ClientBound = m.ClientCPUShare >= clients.ClientBoundShare
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
