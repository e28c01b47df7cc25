package servers

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Stats is what a server counts while it runs; safe for concurrent use.
type Stats struct {
	Conns    atomic.Int64 // connections accepted and served
	Bytes    atomic.Int64 // bytes echoed back (the greet server: bytes of greetings sent)
	Refused  atomic.Int64 // connections shed (fd limit, FD_SETSIZE, max threads)
	Children atomic.Int64 // child processes reaped

	// PerWorker is, for models with several acceptors (reuseport), the
	// connections each one accepted: how the kernel spread them. Set once
	// the model has returned.
	PerWorker []int64

	// Ring is, for the uring model, how its ring was used. Set once the
	// model has returned.
	Ring *RingStats

	// Greetings counts the greetings the greet server sent; greets marks
	// its Stats, whose summary speaks of greetings, not echoes.
	Greetings atomic.Int64
	greets    bool
}

// RingStats counts a uring server's io_uring_enter calls and the
// completions they brought: completions per call is what io_uring is for.
type RingStats struct {
	Enters      int64 // io_uring_enter calls
	Completions int64 // completions handled
	BatchWaits  int64 // calls that waited for a batch of completions
}

// Summary prints what the server did and what it cost: connections, bytes,
// and CPU time (user and system) of the server and of its reaped children
// from getrusage(2), the figures UNP's servers print on SIGINT.
func (s *Stats) Summary(w io.Writer) {
	self, _ := sys.Getrusage(unix.RUSAGE_SELF)
	kids, _ := sys.Getrusage(unix.RUSAGE_CHILDREN)
	fmt.Fprintf(w, "served %s", count(s.Conns.Load(), "connection", "connections"))
	if s.greets {
		fmt.Fprintf(w, ", sent %s (%s)", count(s.Greetings.Load(), "greeting", "greetings"), count(s.Bytes.Load(), "byte", "bytes"))
	} else {
		fmt.Fprintf(w, ", echoed %s", count(s.Bytes.Load(), "byte", "bytes"))
	}
	if r := s.Refused.Load(); r > 0 {
		fmt.Fprintf(w, ", refused %d", r)
	}
	if c := s.Children.Load(); c > 0 {
		fmt.Fprintf(w, ", reaped %s", count(c, "child", "children"))
	}
	if len(s.PerWorker) > 0 {
		fmt.Fprintf(w, "\nconnections per worker: %s", strings.Trim(fmt.Sprint(s.PerWorker), "[]"))
	}
	if r := s.Ring; r != nil && r.Enters > 0 {
		fmt.Fprintf(w, "\nio_uring: %s from %s (%.1f each), %s",
			count(r.Completions, "completion", "completions"), count(r.Enters, "io_uring_enter call", "io_uring_enter calls"),
			float64(r.Completions)/float64(r.Enters), count(r.BatchWaits, "of them a batch wait", "of them batch waits"))
	}
	fmt.Fprintf(w, "\nCPU time: user %.3fs sys %.3fs; children: user %.3fs sys %.3fs\n",
		tvSec(self.Utime), tvSec(self.Stime), tvSec(kids.Utime), tvSec(kids.Stime))
}

func tvSec(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
