package main

// The time a run takes: the window fitted to the budget, the estimate of
// the time left on each progress line, and the plan when a cell fails.

import (
	"fmt"
	"time"
)

// Per-run costs besides the measured window, from runs on 2 cores:
// connecting, warm-up, closing and settling; perf attaching and detaching.
const (
	runOverhead   = 300*time.Millisecond + settleQuiet
	countOverhead = 600 * time.Millisecond
)

// fitBudget shortens the window when the models and loads would take the
// run past cfg.Budget: new models appear as the course grows, and make
// bench has a time limit.
func (h *harness) fitBudget() {
	if h.cfg.Budget <= 0 {
		return
	}
	timed, counted := h.timedTotal, h.countTotal
	fixed := time.Duration(timed)*runOverhead + time.Duration(counted)*(h.cfg.SyscallWindow+countOverhead)
	est := fixed + time.Duration(timed)*h.cfg.Window
	if est <= h.cfg.Budget || timed == 0 {
		return
	}
	w := max((h.cfg.Budget-fixed)/time.Duration(timed), 300*time.Millisecond)
	w = w.Round(10 * time.Millisecond)
	fmt.Fprintf(h.log, "%d runs would take about %v: shortening each window from %v to %v to stay within %v\n",
		h.total, est.Round(time.Second), h.cfg.Window, w, h.cfg.Budget)
	h.cfg.Window = w
}

// eta estimates the time the runs not yet finished will take: at first
// from the per-run costs fitBudget plans with, then from what the finished
// runs of each kind took on average (a cell of a thousand connections, or
// a loaded machine, takes longer than planned). Counting runs, which come
// last, are planned longer by the timed runs' overrun (not shorter for
// their underrun: attaching perf gets slower on a busy machine, not
// faster on a small load) until one has finished.
func (h *harness) eta() time.Duration {
	planTimed := runOverhead + h.cfg.Window
	planCount := h.cfg.SyscallWindow + countOverhead
	perTimed, perCount := planTimed, planCount
	if h.timedDone > 0 {
		perTimed = h.timedSpent / time.Duration(h.timedDone)
		perCount = time.Duration(float64(planCount) * max(1, float64(perTimed)/float64(planTimed)))
	}
	if h.countDone > 0 {
		perCount = h.countSpent / time.Duration(h.countDone)
	}
	left := time.Duration(max(h.timedTotal-h.timedDone, 0))*perTimed + time.Duration(max(h.countTotal-h.countDone, 0))*perCount
	return left
}

// progress is the head of a progress line: runs finished of planned, and
// the time left.
func (h *harness) progress() string {
	return fmt.Sprintf("[%3d/%d ETA %s]", h.done, h.total, fmtETA(h.eta()))
}

func fmtETA(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// dropRuns takes a failed cell's remaining runs out of the plan: measure
// skips them. ran says the failure was a run, finished and counted.
func (h *harness) dropRuns(c *cell, ran bool) {
	left := h.cfg.Repeats - len(c.Samples)
	if ran {
		left--
	}
	h.timedTotal -= max(left, 0)
	if h.counter != nil {
		h.countTotal--
	}
	h.total = h.timedTotal + h.countTotal
}
