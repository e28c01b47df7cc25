package servers

import "time"

// forkBrake is the crash-loop brake of the models that keep a pool of
// forked children (prefork, passfd). A parent that replaces every child
// that dies turns into a fork loop when children die at once (a kill -9
// loop, a child that cannot start): so when more children die within a
// second than the pool holds, it stops forking replacements for a second.
// It stops for a second too after fork itself failed (EAGAIN at
// RLIMIT_NPROC, ENOMEM), instead of retrying at once.
type forkBrake struct {
	size        int       // children the pool holds: more deaths than this in a second brake
	windowStart time.Time // the second deaths are counted in
	deaths      int
	until       time.Time // no forking before then
}

// on reports whether forking must wait at now.
func (b *forkBrake) on(now time.Time) bool { return now.Before(b.until) }

// died counts a child's death at now, and puts the brake on (saying so in
// cfg's log) when children die too fast.
func (b *forkBrake) died(cfg *Config, now time.Time) {
	if now.Sub(b.windowStart) > time.Second {
		b.windowStart, b.deaths = now, 0
	}
	if b.deaths++; b.deaths > b.size && !b.on(now) {
		cfg.logf("Workers are dying fast (%d in %v): waiting 1s before forking again",
			b.deaths, now.Sub(b.windowStart).Round(time.Millisecond))
		b.until = now.Add(time.Second)
		b.windowStart, b.deaths = b.until, 0
	}
}

// forkFailed puts the brake on after fork failed with err.
func (b *forkBrake) forkFailed(cfg *Config, now time.Time, err error) {
	cfg.logf("Cannot fork a worker: %v: trying again in 1s", err)
	b.until = now.Add(time.Second)
}
