package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"netprog/clients"
)

// writeResults writes NAME.md, NAME.json and NAME.svg into dir.
func writeResults(dir, name string, r *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".md"), []byte(markdown(r)), 0o644); err != nil {
		return err
	}
	return writePlot(filepath.Join(dir, name+".svg"), r)
}

// partialLine is the line an interrupted run's results begin with.
func partialLine(p *partial) string {
	return fmt.Sprintf("PARTIAL: %s after %d of %d runs (%d of %d cells measured, %d with every repeat)",
		p.Reason, p.RunsDone, p.RunsTotal, p.CellsMeasured, p.CellsTotal, p.CellsComplete)
}

// markdown renders the results as tables a student can read.
func markdown(r *results) string {
	var b strings.Builder
	m := r.Machine
	if r.Partial != nil {
		fmt.Fprintf(&b, "# %s\n\n", partialLine(r.Partial))
		got := ""
		if r.Repeats > 1 {
			got = fmt.Sprintf(" a cell shows the median of the repeats it got (the details say how many when fewer than %d),", r.Repeats)
		}
		fmt.Fprintf(&b, "The run was stopped before the end:%s ? marks a cell not measured, and the targets "+
			"judge only what was measured. These are not a complete run's results.\n\n", got)
	}
	how := "`make bench` (`go run ./bench`)"
	if r.Quick {
		how = "`make bench-quick` (`go run ./bench -quick`)"
	}
	fmt.Fprintf(&b, "# Server designs compared\n\n")
	if r.Quick {
		fmt.Fprintf(&b, "**A quick run:** fewer loads and one short repeat per cell, for a first look. "+
			"The figures are noisier than a full `make bench` (three repeats, 1000 connections and 4 KiB messages too).\n\n")
	}
	fmt.Fprintf(&b, "Measured %s on %d cores (%s), %d GiB, Linux %s, %s, by %s in %.0f s.\n\n",
		m.Date, m.Cores, m.CPU, m.MemoryGiB, m.Kernel, m.Go, how, r.ElapsedSeconds)
	fmt.Fprintf(&b, "Load average (1 minute) at the start and the end: %.1f and %.1f. The generator and the server under test account for about 2; "+
		"more means other work shared the cores during the run, and the figures are noisier for it.\n\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "Every server is `netprog echo-server -model M -raw -q -port 0 -backlog 4096` (go-net: an idiomatic Go `net` echo "+
		"server, a goroutine per connection), driven over loopback by `netprog bench`, one thread with epoll on the same machine "+
		"(connect: %s, each connection from the next of the loopback addresses 127.0.0.1 to 127.0.0.8, so that TIME_WAIT's hold on one "+
		"address's ports does not cap the column): generator and server share the %d cores. The servers' output (with -q, a line or two "+
		"per connection) goes to a file in memory (/dev/shm). Each cell is the median of %d interleaved repeats of %.1f s, measured after every "+
		"connection has had its first echo. Server CPU is user+system time from /proc, children included (reaped or alive). "+
		"Server system calls per request come from a separate %.1f s run counted with %s.\n\n",
		connectThreads(r), m.Cores, r.Repeats, r.WindowSeconds, r.SyscallSeconds, r.SyscallMethod)
	if hasCRef(r) {
		fmt.Fprintf(&b, "The C references (%s) are the epoll and fork designs written in C, as small as they go "+
			"(bench/cref/: one level-triggered epoll_wait loop with read and write; UNP's serv01, a fork per connection with a "+
			"SIGCHLD handler reaping by waitpid WNOHANG), compiled with `cc -O2` by the harness and measured in the same "+
			"interleaved rounds: what the same design costs without Go. %s is the C fork server grown, before it listens, "+
			"to the Go fork server's size (mappings, resident anonymous memory, page tables), measured under connect only.\n\n",
			strings.Join(crefModels[:2], ", "), crefForkBig)
	}
	if r.CRefMissing != "" {
		fmt.Fprintf(&b, "**No C reference rows:** %s.\n\n", r.CRefMissing)
	}
	fmt.Fprintf(&b, "‡ client-bound: the generator's thread was busy %.0f%% of the window or more, so the server may be faster than shown.  \n", 100*clients.ClientBoundShare)
	fmt.Fprintf(&b, "— not run (see the notes).  ! errors or starved connections (see the details).\n\n")

	notes := skipNotes(r)
	matrix := func(title, unit string, val func(c *cell) string) {
		fmt.Fprintf(&b, "## %s\n\n", title)
		if unit != "" {
			fmt.Fprintf(&b, "%s\n\n", unit)
		}
		b.WriteString("| model |")
		for _, l := range r.Loads {
			fmt.Fprintf(&b, " %s |", columnName(l))
		}
		b.WriteString("\n|---|")
		for range r.Loads {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, model := range r.Models {
			fmt.Fprintf(&b, "| %s |", model)
			for _, l := range r.Loads {
				c := r.cell(model, l)
				switch {
				case c == nil || c.Skipped != "":
					b.WriteString(" — |")
				case c.Failed != "":
					b.WriteString(" failed |")
				default:
					fmt.Fprintf(&b, " %s |", val(c))
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	flags := func(c *cell) string {
		s := ""
		if c.ClientBound {
			s += " ‡"
		}
		if c.Median != nil && (c.Median.Errors > 0 || c.Median.Starved > 0) {
			s += " !"
		}
		return s
	}
	matrix("Requests per second", "Higher is better. In the connect column a request is a whole connection: connect, send, echo, close.",
		func(c *cell) string {
			if c.Median == nil {
				return "?"
			}
			return fmt.Sprintf("%.0f%s", c.Median.RequestsPerSec, flags(c))
		})
	againstC(&b, r)
	matrix("p99 latency", "The time within which 99% of requests got their whole echo back (connect: from socket() to the echo).",
		func(c *cell) string {
			if c.Median == nil {
				return "?"
			}
			return clients.FormatLatency(c.Median.P99us)
		})
	matrix("Server CPU per 1000 requests (ms)", "User+system time of the server and its children, per 1000 requests (connect: per 1000 connections). Lower is cheaper.",
		func(c *cell) string {
			if c.Median == nil {
				return "?"
			}
			return fmt.Sprintf("%.1f", c.Median.ServerCPUmsPer1k)
		})
	matrix("Server system calls per request", "All of the server's calls (every thread and child) over the counting run, divided by the requests in it.",
		func(c *cell) string {
			if c.Syscalls == nil {
				return "n/a"
			}
			return fmt.Sprintf("%.2f", c.Syscalls.PerRequest)
		})

	b.WriteString("## Targets\n\n| claim | want | measured | |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		verdict := ""
		if t.Met != nil {
			verdict = "met"
			if !*t.Met {
				verdict = "**missed**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, verdict)
	}
	b.WriteString("\n")

	if len(notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Details\n\n")
	for _, l := range r.Loads {
		fmt.Fprintf(&b, "### %s\n\n", l)
		b.WriteString("| model | req/s | p50 | p99 | p99.9 | max | server CPU ms/1k | syscalls/req | main calls per request | page faults/req | generator CPU | generator calls/req | errors, starved |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n")
		for _, model := range r.Models {
			c := r.cell(model, l)
			if c == nil || c.Skipped != "" {
				continue
			}
			if c.Failed != "" {
				fmt.Fprintf(&b, "| %s | failed: %s ||||||||||||\n", model, strings.ReplaceAll(c.Failed, "|", "/"))
				continue
			}
			if c.Median == nil {
				fmt.Fprintf(&b, "| %s | not measured ||||||||||||\n", model)
				continue
			}
			if len(c.Samples) < r.Repeats {
				model = fmt.Sprintf("%s (%d of %d repeats)", model, len(c.Samples), r.Repeats)
			}
			md := c.Median
			sc, mix, pf := "n/a", "", "n/a"
			if c.Syscalls != nil {
				sc = fmt.Sprintf("%.2f", c.Syscalls.PerRequest)
				mix = syscallMix(c.Syscalls)
				if c.Syscalls.PageFaults > 0 || c.Syscalls.PageFaultsPerRequest > 0 {
					pf = fmt.Sprintf("%.2f", c.Syscalls.PageFaultsPerRequest)
				} else if c.Syscalls.Method == "perf stat" {
					pf = "0"
				}
			}
			fmt.Fprintf(&b, "| %s | %.0f%s | %s | %s | %s | %s | %.1f | %s | %s | %s | %.0f%% | %.2f | %s |\n",
				model, md.RequestsPerSec, flags(c), clients.FormatLatency(md.P50us), clients.FormatLatency(md.P99us), clients.FormatLatency(md.P999us), clients.FormatLatency(md.MaxUs),
				md.ServerCPUmsPer1k, sc, mix, pf, 100*md.ClientCPUShare, md.ClientSyscalls, problems(c))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func columnName(l load) string {
	if l.Workload == clients.WorkloadConnect {
		return fmt.Sprintf("connect %s × %d", sizeName(l.Size), l.Conns)
	}
	return fmt.Sprintf("echo %s × %d", sizeName(l.Size), l.Conns)
}

// skipNotes explains each model's missing cells once.
func skipNotes(r *results) []string {
	var notes []string
	for _, model := range r.Models {
		var skipped []string
		for _, l := range r.Loads {
			if c := r.cell(model, l); c != nil && c.Skipped != "" {
				skipped = append(skipped, columnName(l))
			}
		}
		if len(skipped) == 0 {
			continue
		}
		var reason string
		switch concurrency(model) {
		case 0:
			// A C reference: without a compiler, or the footprint
			// experiment's columns.
			reason = firstSkip(r, model)
		case 1:
			reason = "it serves one connection at a time, so with persistent connections all but one would wait in the listen queue for the whole run: it finishes no request for them, and its table entry would measure one connection while claiming many"
		default:
			reason = fmt.Sprintf("it runs a fixed pool of %d workers (started with -workers %d), each serving one connection at a time: beyond %d persistent connections the rest would wait in the listen queue for the whole run", concurrency(model), concurrency(model), concurrency(model))
		}
		notes = append(notes, fmt.Sprintf("**%s** is not run at %s: %s.", model, strings.Join(skipped, ", "), reason))
	}
	for _, c := range r.Cells {
		if c.Failed != "" {
			notes = append(notes, fmt.Sprintf("**%s** at %s failed: %s", c.Model, columnName(c.Load), c.Failed))
		}
	}
	return notes
}

// syscallMix lists the calls that make up most of a request, per request.
func syscallMix(s *syscallCount) string {
	if s.Requests == 0 || len(s.ByName) == 0 {
		return ""
	}
	type kv struct {
		name string
		n    int64
	}
	var all []kv
	for k, v := range s.ByName {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].name < all[j].name })
	var parts []string
	for _, e := range all {
		per := float64(e.n) / float64(s.Requests)
		if len(parts) == 4 || per < 0.01 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", e.name, per))
	}
	return strings.Join(parts, ", ")
}

func problems(c *cell) string {
	var p []string
	kinds := make([]string, 0, len(c.ErrorKinds))
	for k := range c.ErrorKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		p = append(p, fmt.Sprintf("%d × %s", c.ErrorKinds[k], k))
	}
	if c.Median != nil && c.Median.Starved > 0 {
		p = append(p, fmt.Sprintf("%d starved", c.Median.Starved))
	}
	if len(p) == 0 {
		return "none"
	}
	return strings.Join(p, "; ")
}

// firstSkip is the reason of the first skipped cell of model.
func firstSkip(r *results, model string) string {
	for _, l := range r.Loads {
		if c := r.cell(model, l); c != nil && c.Skipped != "" {
			return c.Skipped
		}
	}
	return ""
}

// hasCRef reports whether the run asked for a C reference.
func hasCRef(r *results) bool {
	for _, m := range r.Models {
		if isCRef(m) {
			return true
		}
	}
	return false
}

// crefPairs are the rows of the table against C: a model and its C
// reference, and the footprint experiment against the plain C fork.
var crefPairs = [][2]string{{"epoll", crefEpoll}, {"fork", crefFork}, {crefForkBig, crefFork}, {"fork", crefForkBig}}

// againstC writes requests/s of each Go model divided by its C
// reference's, column by column, and the fork servers' sizes at rest.
func againstC(b *strings.Builder, r *results) {
	var rows []string
	for _, p := range crefPairs {
		var cells []string
		any := false
		for _, l := range r.Loads {
			a, c := r.cell(p[0], l), r.cell(p[1], l)
			if a == nil || c == nil {
				cells = append(cells, "")
				continue
			}
			v, n := againstCRatio(r, a, c)
			if n == 0 {
				cells = append(cells, "")
				continue
			}
			any = true
			cells = append(cells, fmt.Sprintf("%.2f", v))
		}
		if any {
			rows = append(rows, fmt.Sprintf("| %s ÷ %s | %s |", p[0], p[1], strings.Join(cells, " | ")))
		}
	}
	if len(rows) == 0 {
		return
	}
	how := "Each repeat runs a model and its C reference back to back (which goes first alternates), and a cell here is the median of the repeats' own ratios, " +
		"so that a slow spell of the machine, which hits both of a pair alike, cancels out (the ratio of the medians above can differ: each median may come from another spell). "
	if !r.Paired {
		how = "From the medians above (this run was made before the harness ran each model beside its C reference). "
	}
	b.WriteString("## Against C\n\nRequests per second of a model divided by its C reference's: 1.00 is as fast as C. " + how +
		"The last two rows split the fork gap: the C server grown to the Go server's size against the plain one (what the footprint costs), " +
		"and the Go server against the grown one (what is left for the language and netprog).\n\n| ratio |")
	for _, l := range r.Loads {
		fmt.Fprintf(b, " %s |", columnName(l))
	}
	b.WriteString("\n|---|")
	for range r.Loads {
		b.WriteString("---:|")
	}
	b.WriteString("\n" + strings.Join(rows, "\n") + "\n\n")
	if len(r.Footprints) > 0 {
		b.WriteString("The fork servers' address spaces (/proc/PID/maps and status):\n\n")
		for _, m := range []struct{ key, what string }{
			{"fork", "fork at rest, as the run started"},
			{forkUnderConnect, "fork under connect, as " + crefForkBig + " was last grown to it (its heap grows with the load)"},
			{crefFork, crefFork + " at rest"},
			{crefForkBig, crefForkBig + " as it last started"},
		} {
			if f, ok := r.Footprints[m.key]; ok {
				fmt.Fprintf(b, "- %s: %v\n", m.what, f)
			}
		}
		b.WriteString("\n")
	}
}

// connectThreads says how many generator threads drove the connect column.
func connectThreads(r *results) string {
	if r.ConnectThreads > 1 {
		return fmt.Sprintf("%d such threads sharing the workers", r.ConnectThreads)
	}
	return "one such thread"
}
