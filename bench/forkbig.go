package main

// The footprint experiment: c-fork-big, the C fork server grown to the
// size of the Go fork server under the same load, so that the two fork
// rows compare processes of one size.

import (
	"fmt"
	"strconv"
)

// footprint records the size of model's server as key in the results.
func (h *harness) footprint(model, key, when string) {
	s := h.servers[model]
	if s == nil {
		return
	}
	f, err := readFootprint(s.pid())
	if err != nil {
		return
	}
	if h.res.Footprints == nil {
		h.res.Footprints = map[string]footprint{}
	}
	h.res.Footprints[key] = f
	fmt.Fprintf(h.log, "%-10s %s: %v\n", model, when, f)
}

// forkUnderConnect is the key of the Go fork server's size after its
// latest run under connect, the size c-fork-big was last grown to: its
// heap grows with the load (1 MB of anonymous memory at rest, 3 after a
// second of connects, 6 after ten), and every fork pays for it.
const forkUnderConnect = "fork under connect"

// startGrown starts the C fork server grown to the Go fork server's size
// now, or restarts it when the Go server has grown by more than a tenth
// since, so that each repeat compares servers of the same size.
func (h *harness) startGrown() (*server, error) {
	old, had := h.res.Footprints[forkUnderConnect]
	if s := h.servers["fork"]; s != nil {
		if f, err := readFootprint(s.pid()); err == nil {
			if had && h.servers[crefForkBig] != nil && f.AnonKB*10 <= old.AnonKB*11 {
				return h.servers[crefForkBig], nil // still the same size
			}
			if h.res.Footprints == nil {
				h.res.Footprints = map[string]footprint{}
			}
			h.res.Footprints[forkUnderConnect] = f
			fmt.Fprintf(h.log, "%-10s under connect: %v\n", "fork", f)
		}
	}
	if s := h.servers[crefForkBig]; s != nil {
		if err := s.stop(); err != nil {
			fmt.Fprintln(h.log, "bench:", err)
		}
	}
	s, err := startServer(h.cfg.Bin, crefForkBig, h.logDir, h.crefCommand(crefForkBig))
	if err != nil {
		return nil, err
	}
	h.servers[crefForkBig] = s
	fmt.Fprintf(h.log, "started %-10s pid %d on %s\n", crefForkBig, s.pid(), s.addr)
	h.footprint(crefForkBig, crefForkBig, "at rest")
	return s, nil
}

// crefCommand is a C reference's command line (nil for the other models):
// the port (0: any), the backlog the models get, and for the grown fork
// server the Go fork server's mappings, resident anonymous kilobytes and
// kilobytes of page tables.
func (h *harness) crefCommand(model string) []string {
	if !isCRef(model) {
		return nil
	}
	args := []string{h.crefs[model], "0", "4096"}
	if model == crefForkBig {
		f := h.res.Footprints[forkUnderConnect]
		args = append(args, strconv.Itoa(f.Mappings), strconv.Itoa(f.AnonKB), strconv.Itoa(f.PageTablesKB))
	}
	return args
}
