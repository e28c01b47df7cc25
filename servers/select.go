package servers

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("select", Select) }

// Select is the course's select server: one thread, one select(2) over the
// listening socket, standard input and every client. select is the oldest
// of the multiplexers and shows its age:
//
//   - its sets are bitmaps of FD_SETSIZE (1024) bits, so a descriptor of
//     1024 or more cannot be watched at all (in C, FD_SET on one writes past
//     the end of the set; x/sys's FdSet.Set panics). Such a client is
//     refused with a message and the server goes on;
//   - the sets are rebuilt before every call (select overwrites them with
//     the ready ones) and the kernel scans all of them: each call costs time
//     in proportion to the highest descriptor, busy or not;
//   - it says readable or writable, never why: a reset peer shows up as
//     "readable", and the read returns the error.
//
// A line on standard input (cfg.Stdin), or its end of file, stops the
// server, as in the notes: keep stdin open when scripting it.
func Select(ctx context.Context, cfg Config) (*Stats, error) {
	l, err := openLoop(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer l.close()
	for _, fd := range []int{l.lfd, l.wake, cfg.Stdin} {
		if fd >= sys.FD_SETSIZE {
			return l.st, fmt.Errorf("select: descriptor %d is beyond FD_SETSIZE (%d): select cannot watch it", fd, sys.FD_SETSIZE)
		}
	}
	stdin := cfg.Stdin
	admit := func(c *eventConn) bool {
		if c.fd >= sys.FD_SETSIZE {
			cfg.logf("Refused the connection from %s: its descriptor %d is beyond select's FD_SETSIZE (%d)", c.peer, c.fd, sys.FD_SETSIZE)
			return false
		}
		return true
	}
	var rset, wset unix.FdSet
	for {
		now := time.Now()
		rset.Zero()
		wset.Zero()
		nfd := 0
		set := func(s *unix.FdSet, fd int) {
			s.Set(fd)
			nfd = max(nfd, fd+1)
		}
		set(&rset, l.wake)
		if stdin >= 0 {
			set(&rset, stdin)
		}
		if l.accepting(now) {
			set(&rset, l.lfd)
		}
		for fd, c := range l.clients {
			if c == nil {
				continue
			}
			if c.wantRead() {
				set(&rset, fd)
			}
			if c.wantWrite() {
				set(&wset, fd)
			}
		}
		if _, err := sys.Select(nfd, &rset, &wset, l.timeout(now)); err != nil {
			return l.st, err
		}
		now = time.Now()
		if rset.IsSet(l.wake) {
			return l.st, nil
		}
		// Clients first, the listening socket last: a descriptor closed in
		// this round and reused by accept must not inherit its readiness.
		for fd := 0; fd < len(l.clients) && fd < nfd; fd++ {
			if c := l.clients[fd]; c != nil {
				r := readiness{in: rset.IsSet(fd), out: wset.IsSet(fd)}
				if r.in || r.out {
					l.handle(c, r, false, now)
				}
			}
		}
		if stdin >= 0 && rset.IsSet(stdin) {
			stop, watch := readStdin(&cfg, stdin, l.in)
			if stop {
				return l.st, nil
			}
			if !watch {
				stdin = -1
			}
		}
		if l.lfd < nfd && rset.IsSet(l.lfd) {
			if err := l.acceptReady(now, false, admit); err != nil {
				return l.st, err
			}
		}
		l.sweep(now)
	}
}

// readStdin reads what select found on standard input: a line, or end of
// file, stops the server (the course's sys.stdin.readline()). It reports
// whether to stop, and whether to go on watching stdin (not after an error
// reading it).
func readStdin(cfg *Config, fd int, buf []byte) (stop, watch bool) {
	n, err := sys.Read(fd, buf)
	switch {
	case err != nil && sys.IsTemporary(err):
		return false, true
	case err != nil:
		cfg.logf("Standard input: %v: no longer watched", err)
		return false, false
	case n == 0:
		cfg.logf("End of file on standard input: stopping")
		return true, false
	case bytes.IndexByte(buf[:n], '\n') >= 0:
		cfg.logf("A line on standard input: stopping")
		return true, false
	}
	return false, true // part of a line: wait for its end
}
