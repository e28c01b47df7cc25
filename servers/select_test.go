package servers_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/servers"
	"netprog/sys"
)

// TestSelectRefusesBeyondFDSetsize: a client whose socket is descriptor
// 1024 or more cannot go into an fd_set. The select server refuses it with
// a message and goes on serving the others.
func TestSelectRefusesBeyondFDSetsize(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < sys.FD_SETSIZE+64 {
		t.Skipf("RLIMIT_NOFILE is %d: cannot open descriptors beyond FD_SETSIZE", lim.Cur)
	}
	s := startModelServer(t, "select", servers.Config{Addr: mustResolve(t, "127.0.0.1:0")})

	// Fill every free descriptor below FD_SETSIZE (dup returns the lowest
	// free one), so the server's next accepted socket lands above it.
	devnull, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fillers := []int{devnull}
	release := func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
		fillers = nil
	}
	defer release()
	for {
		fd, err := unix.Dup(devnull)
		if err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, fd)
		if fd >= sys.FD_SETSIZE-1 {
			break
		}
	}
	c := s.mustDial(t)
	if err := expectEOF(c); err != nil {
		t.Fatalf("client beyond FD_SETSIZE: %v", err)
	}
	s.Log.waitFor(t, "beyond select's FD_SETSIZE (1024)")
	c.Close()

	release()
	c = s.mustDial(t)
	if err := echoExact(c, []byte("below the limit again\n"), 64); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
	c.Close()
	st := s.stop(t)
	if st.Refused.Load() != 1 || st.Conns.Load() != 1 {
		t.Errorf("Stats: %d refused, %d served; want 1 and 1", st.Refused.Load(), st.Conns.Load())
	}
}

// TestSelectStdinStops: a line on standard input, or its end of file,
// stops the select server cleanly, as in the course; part of a line does
// not.
func TestSelectStdinStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		eof  bool // close stdin instead of sending a line
		log  string
	}{
		{"line", false, "A line on standard input: stopping"},
		{"eof", true, "End of file on standard input: stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			r, w := p[0], p[1]
			defer unix.Close(r)
			wOpen := true
			defer func() {
				if wOpen {
					unix.Close(w)
				}
			}()
			s := startModelServer(t, "select", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Stdin: r})
			c := s.mustDial(t)
			unix.Write(w, []byte("not yet"))
			if err := echoExact(c, []byte("hello\n"), 64); err != nil {
				t.Fatalf("while stdin holds part of a line: %v", err)
			}
			if tc.eof {
				unix.Close(w)
				wOpen = false
			} else {
				unix.Write(w, []byte("stop\n"))
			}
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				t.Fatalf("the server did not stop on stdin\n%s", s.Log)
			}
			if s.err != nil || s.st == nil {
				t.Fatalf("server returned %v, %v", s.st, s.err)
			}
			s.Log.waitFor(t, tc.log)
			if err := expectEOF(c); err != nil {
				t.Errorf("client after the stop: %v", err)
			}
		})
	}
}
