package main

import (
	"errors"
	"flag"
	"math"
	"strconv"
	"time"
)

// seconds is the one duration flag type: a bare number is seconds, as the
// notes write time.sleep(5) and ping takes -i 0.2 (fractions allowed: 0.5,
// 1e-3); a Go duration works too (500ms, 1s, 2m30s). A negative value, or
// anything else, is refused when the flag is parsed, so it is a usage error
// (exit 2) with the flag's name.
type seconds time.Duration

// secondsVar defines the duration flag name with its default and returns
// where its value is kept. The usage text gets the unit appended, and -h
// names the value "seconds".
func secondsVar(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	d := value
	fs.Var((*seconds)(&d), name, usage+"; `seconds` (1.5) or a duration (1500ms)")
	return &d
}

// errBadSeconds is what a value that is neither seconds nor a duration gets.
var errBadSeconds = errors.New("want seconds (5, 0.2) or a duration (500ms, 1m30s)")

func (s *seconds) Set(v string) error {
	d, err := parseSeconds(v)
	if err != nil {
		return err
	}
	*s = seconds(d)
	return nil
}

// parseSeconds reads a bare number of seconds or a Go duration.
func parseSeconds(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if f, ferr := strconv.ParseFloat(v, 64); ferr == nil {
		ns := math.Round(f * float64(time.Second))
		switch {
		case math.IsNaN(f):
			return 0, errBadSeconds
		case f < 0:
			return 0, errNegative
		case ns >= math.MaxInt64: // 2^63 as a float64: past time.Duration's range
			return 0, errors.New("too long: at most 9223372036 seconds")
		}
		d, err = time.Duration(ns), nil
	}
	switch {
	case err != nil:
		return 0, errBadSeconds
	case d < 0:
		return 0, errNegative
	}
	return d, nil
}

var errNegative = errors.New("a duration cannot be negative")

// String shows the value as a Go duration: "5s", "500ms", "0s".
func (s *seconds) String() string {
	if s == nil {
		return "0s"
	}
	return time.Duration(*s).String()
}
