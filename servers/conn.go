package servers

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/protocol"
	"netprog/sys"
)

// bufSize is how much one read takes: the course's recv(512)/recv(1024) grew
// up, large enough that a 1 MiB payload takes a few hundred reads, small
// enough that a thousand clients cost little.
const bufSize = 16 << 10

// converse serves one client until it quits, closes, goes silent for
// cfg.IdleTimeout, or the connection breaks: read, answer by the protocol,
// write the answer, read again. It is the body of the iterative, thread and
// goroutine models, which differ only in how they read and write (c). It
// does not close the connection.
func converse(cfg *Config, st *Stats, c clientStream, peer sys.Addr) {
	in := make([]byte, bufSize)
	var out []byte
	for {
		n, err := c.read(in)
		switch {
		case err != nil && c.timedOut(err):
			cfg.logf("Client %s idle for %v: closing", peer, cfg.IdleTimeout)
			return
		case err != nil:
			cfg.logf("Client %s: %v", peer, err)
			return
		case n == 0: // end of file: the peer closed its side
			cfg.logf("Client %s closed the connection", peer)
			return
		}
		if cfg.Verbose {
			cfg.logf("Data received: %s", protocol.Printable(in[:n]))
		}
		var quit bool
		out, quit = cfg.Proto.Respond(out[:0], in[:n])
		if len(out) > 0 {
			m, err := c.write(out)
			st.Bytes.Add(int64(m))
			if err != nil && c.timedOut(err) {
				// A peer that does not read its echo (a slow reader) is idle too.
				cfg.logf("Client %s idle for %v (not reading): closing", peer, cfg.IdleTimeout)
				return
			}
			if err != nil {
				cfg.logf("Client %s: %v", peer, err)
				return
			}
		}
		if quit {
			cfg.logf("Client quits: %s", peer)
			return
		}
	}
}

// clientStream is one client's connection as converse uses it.
type clientStream interface {
	read(p []byte) (int, error)  // one read(2): 0 at end of file
	write(p []byte) (int, error) // all of p, or an error and how much went
	timedOut(err error) bool     // err is the idle timeout, not a failure
}

// blockingStream is a client on a blocking socket (iterative, thread): the
// thread sleeps in read and send, and the idle timeout is the kernel's
// (SO_RCVTIMEO and SO_SNDTIMEO make them fail with EAGAIN).
type blockingStream int

// newBlockingStream sets fd's timeouts for idle (0: none).
func newBlockingStream(fd int, idle time.Duration) blockingStream {
	if idle > 0 {
		sys.SetRecvTimeout(fd, idle)
		sys.SetSendTimeout(fd, idle)
	}
	return blockingStream(fd)
}

func (fd blockingStream) read(p []byte) (int, error)  { return sys.Read(int(fd), p) }
func (fd blockingStream) write(p []byte) (int, error) { return sys.Send(int(fd), p, 0) }
func (fd blockingStream) timedOut(err error) bool     { return sys.IsTemporary(err) }

// connSet remembers the open client sockets of a blocking model so that a
// stop can wake every thread blocked in read: shutdown(2) does, close(2) does
// not.
type connSet struct {
	mu   sync.Mutex
	fds  map[int]struct{}
	done bool // stopped: a socket added now is shut down at once
}

// add puts fd in the set. After a stop it shuts fd down at once: a client
// accepted just as the stop came must not be left blocked in read.
func (s *connSet) add(fd int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fds == nil {
		s.fds = map[int]struct{}{}
	}
	s.fds[fd] = struct{}{}
	if s.done {
		sys.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// remove must be called before the descriptor is closed, so a stop never
// shuts down a number the kernel has given to someone else.
func (s *connSet) remove(fd int) {
	s.mu.Lock()
	delete(s.fds, fd)
	s.mu.Unlock()
}

// shutdownAll shuts down every connection in the set, and any added later.
func (s *connSet) shutdownAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	for fd := range s.fds {
		sys.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// watch shuts down every connection in the set when ctx ends; the returned
// func releases the watcher.
func (s *connSet) watch(ctx context.Context) (release func()) {
	return sys.OnCancel(ctx, s.shutdownAll)
}
