package servers

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestForkBrake: more deaths in a second than the pool holds put the brake
// on for a second, once, with a line in the log; deaths spread over longer
// do not; a failed fork brakes too.
func TestForkBrake(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name      string
		deaths    []int // ms after t0
		at        int   // ms after t0: is the brake on?
		on        bool
		logLines  int
		forkFails bool
	}{
		{"as many deaths as children", []int{0, 100}, 150, false, 0, false},
		{"one death too many", []int{0, 100, 200}, 250, true, 1, false},
		{"the brake lasts a second", []int{0, 100, 200}, 1150, true, 1, false},
		{"and then lets go", []int{0, 100, 200}, 1250, false, 1, false},
		{"deaths spread over seconds", []int{0, 700, 1400, 2100}, 2150, false, 0, false},
		{"more deaths while braked: one line", []int{0, 100, 200, 300, 400, 500}, 600, true, 1, false},
		{"a failed fork", nil, 500, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			cfg := &Config{Log: &log}
			b := forkBrake{size: 2}
			for _, d := range tt.deaths {
				b.died(cfg, ms(d))
			}
			if tt.forkFails {
				b.forkFailed(cfg, ms(0), unix.EAGAIN)
			}
			if got := b.on(ms(tt.at)); got != tt.on {
				t.Errorf("brake on at %d ms: %v, want %v", tt.at, got, tt.on)
			}
			if n := strings.Count(log.String(), "\n"); n != tt.logLines {
				t.Errorf("%d log lines, want %d:\n%s", n, tt.logLines, log.String())
			}
		})
	}
}
