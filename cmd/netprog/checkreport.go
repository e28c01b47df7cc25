package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"netprog/clients/probe"
	"netprog/sys"
)

// The report card: one line per probe, PASS / FINDING / SKIP with the
// measured fact, the lesson under each finding, then a summary. Colour
// only on a terminal (and not with NO_COLOR); a progress line on standard
// error only when it is a terminal; -json for scripts.

type checkCard struct {
	program, addr string
	proto         probe.Protocol
	server        string // "pid 1234: python3 -u ..." or "pid 1234", "" unwatched
	results       []probe.Result
	elapsed       time.Duration
	color         bool
	progressTo    io.Writer // nil: no progress line
	probeCount    int
	probeN        int
}

func newCheckCard(a checkArgs, t probe.Target, l *probe.Launcher) *checkCard {
	c := &checkCard{program: a.program, addr: t.Addr.String(), proto: a.proto}
	if t.Pid > 0 {
		c.server = fmt.Sprintf("pid %d", t.Pid)
	}
	c.color = sys.IsTerminal(1) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	if sys.IsTerminal(2) {
		c.progressTo = os.Stderr
	}
	for _, p := range probe.Probes() {
		if slices.Contains(p.Kinds, a.proto.Kind) && (len(a.only) == 0 || slices.Contains(a.only, p.Name) || p.Name == "reply") {
			c.probeCount++
		}
	}
	return c
}

// progress shows the probe running now, on a terminal.
func (c *checkCard) progress(name string) {
	if c.progressTo == nil {
		return
	}
	c.probeN++
	fmt.Fprintf(c.progressTo, "\r\033[Knetprog check: %s (%d/%d)...", name, min(c.probeN, c.probeCount), c.probeCount)
}

func (c *checkCard) progressDone() {
	if c.progressTo != nil {
		fmt.Fprint(c.progressTo, "\r\033[K")
	}
}

func (c *checkCard) count(s probe.Status) int {
	n := 0
	for _, r := range c.results {
		if r.Status == s {
			n++
		}
	}
	return n
}

// paint wraps s in an ANSI colour when the card is in colour.
func (c *checkCard) paint(code, s string) string {
	if !c.color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

var statusColour = map[probe.Status]string{probe.Pass: "32", probe.Finding: "1;31", probe.Skip: "2"}

const (
	cardStatusWidth = 9  // "FINDING  "
	cardNameWidth   = 20 // "framing/two-in-one  "
)

func (c *checkCard) writeText(w io.Writer) {
	fmt.Fprintf(w, "netprog check %s %s: %s\n", c.program, c.addr, c.proto.Describe())
	if c.server != "" {
		fmt.Fprintf(w, "server: %s\n", c.server)
	} else {
		fmt.Fprintln(w, "server: not watched (-pid or -- to watch it in /proc)")
	}
	fmt.Fprintln(w)
	indent := cardStatusWidth + cardNameWidth
	for _, r := range c.results {
		status := fmt.Sprintf("%-*s", cardStatusWidth, r.Status)
		fmt.Fprintf(w, "%s%-*s%s\n", c.paint(statusColour[r.Status], status), cardNameWidth, r.Probe,
			wrap(r.Fact, helpWidth-indent, indent))
		if r.Status == probe.Finding && r.Lesson != "" {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", cardStatusWidth), wrap("lesson: "+r.Lesson, helpWidth-cardStatusWidth, cardStatusWidth+2))
		}
	}
	fmt.Fprintln(w)
	took := c.elapsed.Round(100 * time.Millisecond)
	if c.elapsed < time.Second {
		took = c.elapsed.Round(time.Millisecond)
	}
	summary := fmt.Sprintf("%d passed, %s, %d skipped in %s", c.count(probe.Pass),
		plural(c.count(probe.Finding), "finding", "findings"), c.count(probe.Skip), took)
	fmt.Fprintln(w, c.paint("1", summary))
}

// plural is "1 finding", "2 findings".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// checkJSON is the -json document.
type checkJSON struct {
	Program  string         `json:"program"`
	Address  string         `json:"address"`
	Protocol string         `json:"protocol"`
	Server   string         `json:"server,omitempty"`
	Results  []probe.Result `json:"results"`
	Summary  map[string]int `json:"summary"`
	Seconds  float64        `json:"seconds"`
}

func (c *checkCard) writeJSON(w io.Writer) error {
	doc := checkJSON{
		Program: c.program, Address: c.addr, Protocol: c.proto.Describe(), Server: c.server, Results: c.results,
		Summary: map[string]int{"pass": c.count(probe.Pass), "finding": c.count(probe.Finding), "skip": c.count(probe.Skip)},
		Seconds: c.elapsed.Seconds(),
	}
	if doc.Results == nil {
		doc.Results = []probe.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
