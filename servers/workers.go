package servers

import (
	"fmt"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// MaxPool is the most workers a pool model takes, whatever the machine:
// a pool is a handful of workers per CPU (UNP measures 3 to 15 children for
// prefork); thousands are a typo, and they would be paid for before the
// first client came.
const MaxPool = 1024

// MaxWorkers is the most -workers model takes on this machine, and why:
// MaxPool, and what the process's limits hold. reuseport's workers are
// threads with 3 descriptors each (a listening socket, an epoll, an
// eventfd) and room for clients: at most a quarter of RLIMIT_NOFILE.
// prefork's and passfd's are processes: at most half of RLIMIT_NPROC, so a
// crashed worker's replacement still fits; passfd's parent also holds a
// channel per worker, twice over while replacements start (checkPoolFits).
// Other models have no workers: -1. The limit may be 0 (RLIMIT_NPROC of
// 1): then no pool fits.
func MaxWorkers(model string) (int, string, error) {
	limit := func(resource int) (uint64, error) {
		r, err := sys.Getrlimit(resource)
		return r.Cur, err
	}
	switch model {
	case "reuseport":
		nofile, err := limit(unix.RLIMIT_NOFILE)
		if err != nil {
			return 0, "", err
		}
		if n := nofile / 4; n < MaxPool {
			return int(n), fmt.Sprintf("a quarter of RLIMIT_NOFILE, %d: each worker holds 3 descriptors and its clients", nofile), nil
		}
	case "prefork", "passfd":
		nproc, err := limit(unix.RLIMIT_NPROC)
		if err != nil {
			return 0, "", err
		}
		if n := nproc / 2; n < MaxPool {
			return int(n), fmt.Sprintf("half of RLIMIT_NPROC, %d: room for each worker's replacement", nproc), nil
		}
		if model == "passfd" {
			nofile, err := limit(unix.RLIMIT_NOFILE)
			if err != nil {
				return 0, "", err
			}
			if n := (int(nofile) - passfdFixedFDs) / 2; n < MaxPool {
				return max(n, 0), fmt.Sprintf("RLIMIT_NOFILE, %d: the parent holds a channel per worker, twice over while dead ones are replaced", nofile), nil
			}
		}
	default:
		return -1, "", nil
	}
	return MaxPool, "a pool is a few workers per CPU", nil
}
