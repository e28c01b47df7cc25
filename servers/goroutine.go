package servers

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("goroutine", Goroutine) }

// Goroutine serves each client in its own goroutine, on sockets from
// github.com/mdlayher/socket: Go's own answer, and the epoll model in
// disguise.
//
// The code reads like the thread model: read, reply, read again, each
// client in a straight line with its own buffer. But the sockets are
// nonblocking and registered with the Go runtime's netpoller, which is an
// edge-triggered epoll the runtime owns (strace shows its epoll_ctl(ADD)
// for every socket and the epoll_wait of the thread that runs it). When a
// read would block (EAGAIN), the goroutine is parked and its thread goes
// on running other goroutines; when epoll says the socket is ready, the
// goroutine is made runnable and retries. So: a few threads (GOMAXPROCS
// plus those in system calls), not one per client; a goroutine costs a few
// kilobytes of stack where a thread costs a kernel task and megabytes of
// address space; and the runtime does the epoll bookkeeping (readiness,
// EPOLLOUT interest, the edge) that the epoll model does by hand.
//
// Compared with the epoll model:
//   - per client, a goroutine stack and a read buffer instead of one small
//     state struct: more memory with many idle clients;
//   - a wake-up goes through the scheduler (epoll_wait, ready the
//     goroutine, switch to it) instead of a direct call: a little more work
//     per event, spread over every CPU instead of one loop on one;
//   - backpressure is free: while a write waits for the peer to read, the
//     goroutine is not reading, exactly as in the blocking models;
//   - deadlines (-idle-timeout) are the runtime's timers, where the event
//     loops compute epoll_wait's timeout themselves.
//
// Each system call on a client socket is still made by package sys (so
// --trace shows it), inside the socket package's ReadFunc and WriteFunc,
// which retry it when the netpoller says the socket is ready. What sys does
// not see is the runtime's own work: socket.New's fcntl(O_NONBLOCK) and
// getsockopt(SO_TYPE), and the netpoller's epoll calls.
func Goroutine(ctx context.Context, cfg Config) (*Stats, error) {
	lfd, err := cfg.listen()
	if err != nil {
		return nil, err
	}
	if err := sys.SetNonblock(lfd, true); err != nil {
		sys.Close(lfd)
		return nil, err
	}
	ln, err := socket.New(lfd, "tcp")
	if err != nil {
		sys.Close(lfd)
		return nil, err
	}
	defer ln.Close()

	st := &Stats{}
	var conns goroutineConns
	release := conns.watch(ctx)
	var wg sync.WaitGroup
	defer func() {
		// However the loop ended, every client ends before we return.
		conns.shutdownAll()
		wg.Wait()
		release()
	}()
	for {
		var fd int
		var peer sys.Addr
		var shedWhy shedResult
		err := ln.ReadFunc(ctx, "accept4", func(lfd int) error {
			var err error
			fd, peer, err = sys.Accept4(lfd, unix.SOCK_NONBLOCK)
			if sys.ClassifyAccept(err) == sys.AcceptNoDescriptors {
				// The shed happens here, inside ReadFunc, and not after it
				// returns: ReadFunc starts by clearing the netpoller's
				// "readable" note (internal/poll's prepareRead), so a
				// connection arriving between a shed outside it and the next
				// ReadFunc would be forgotten, and the server would sleep
				// with a client waiting. Returning EAGAIN from here parks
				// without that reset.
				if shedWhy = shed(&cfg, st, lfd, unix.SOCK_NONBLOCK, err); shedWhy == shedEmpty {
					return unix.EAGAIN
				}
			}
			return rawErrno(err)
		})
		if err != nil {
			if ctx.Err() != nil {
				return st, nil
			}
			switch sys.ClassifyAccept(err) {
			case sys.AcceptRetry:
			case sys.AcceptNoDescriptors:
				if shedWhy == shedNoSpare {
					pause(ctx, acceptBackoff)
				}
			case sys.AcceptNoMemory:
				cfg.logf("accept: %v: not accepting for %v", err, acceptBackoff)
				pause(ctx, acceptBackoff)
			default:
				return st, err
			}
			continue
		}
		c, err := socket.New(fd, "tcp")
		if err != nil {
			cfg.logf("Client %s: %v", peer, err)
			sys.Close(fd)
			continue
		}
		st.Conns.Add(1)
		cfg.logf("Got the connection from: %s", peer)
		conns.add(ctx, c)
		wg.Go(func() {
			defer conns.remove(c)
			serveGoroutine(&cfg, st, c, peer)
		})
	}
}

// serveGoroutine is one client's conversation: converse, on the netpoller.
// It closes the connection.
func serveGoroutine(cfg *Config, st *Stats, c *socket.Conn, peer sys.Addr) {
	defer c.Close()
	converse(cfg, st, &netpollStream{c: c, idle: cfg.IdleTimeout}, peer)
}

// netpollStream is a client on a nonblocking socket parked on Go's
// netpoller: a read or write that would block (EAGAIN) parks the goroutine
// until epoll says the socket is ready, and the idle timeout is a deadline
// of the runtime's.
type netpollStream struct {
	c    *socket.Conn
	idle time.Duration
}

func (s *netpollStream) read(p []byte) (int, error) {
	if s.idle > 0 {
		s.c.SetReadDeadline(time.Now().Add(s.idle))
	}
	var n int
	err := s.c.ReadFunc(context.Background(), "read", func(fd int) error {
		var err error
		n, err = sys.Read(fd, p)
		return rawErrno(err)
	})
	if s.idle > 0 && s.timedOut(err) {
		// The deadline passed, but did the client fall silent? When the
		// process was not running for a while (a loaded machine), the
		// runtime may fire the expired deadline before it polls the
		// network for the data that came in time, and ReadFunc gives up
		// without reading. One read settles it: data or end of file means
		// the client spoke; EAGAIN means it really was idle. (The event
		// loops handle ready sockets before they sweep idle ones, and the
		// blocking models' SO_RCVTIMEO is the kernel's, so only this model
		// needs it.)
		var rn int
		var rerr error
		if control(s.c, func(fd int) { rn, rerr = sys.Read(fd, p) }) && !sys.IsTemporary(rerr) {
			return rn, rerr
		}
	}
	return n, err
}

func (s *netpollStream) write(p []byte) (int, error) {
	sent := 0
	for {
		before := sent
		if s.idle > 0 {
			s.c.SetWriteDeadline(time.Now().Add(s.idle))
		}
		err := s.c.WriteFunc(context.Background(), "sendto", func(fd int) error {
			n, err := sys.Send(fd, p[sent:], 0)
			sent += n
			return rawErrno(err)
		})
		if err == nil || s.idle <= 0 || !s.timedOut(err) {
			return sent, err
		}
		// The deadline passed: did the peer stop reading for all of it?
		// Not if the echo moved meanwhile (the clock restarts, as
		// SO_SNDTIMEO's does in the blocking models), nor if it made room
		// in time that went unseen while the process did not run (as in
		// read): one send settles that.
		var werr error
		control(s.c, func(fd int) {
			var n int
			n, werr = sys.Send(fd, p[sent:], 0)
			sent += n
		})
		switch {
		case werr != nil && !sys.IsTemporary(werr):
			return sent, werr
		case sent == len(p):
			return sent, nil
		case sent == before:
			return sent, err // idle: nothing moved for a whole timeout
		}
	}
}

// control runs f on c's descriptor at once (not through the netpoller:
// after a deadline, or to shut it down from another goroutine), and
// reports whether it ran: the socket package keeps the descriptor from
// being closed, and its number reused, while f runs.
func control(c *socket.Conn, f func(fd int)) bool {
	rc, err := c.SyscallConn()
	return err == nil && rc.Control(func(fd uintptr) { f(int(fd)) }) == nil
}

func (s *netpollStream) timedOut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// rawErrno turns an error from package sys back into the bare errno the
// socket package's ReadFunc and WriteFunc expect: they compare it with
// EAGAIN to decide whether to wait for the netpoller and try again.
func rawErrno(err error) error {
	if err == nil {
		return nil
	}
	if e := sys.Errno(err); e != 0 {
		return e
	}
	return err
}

// goroutineConns is the goroutine model's connSet: on a stop it shuts
// every client down, which ends a read with end of file and a write with
// EPIPE, so every goroutine returns. shutdown(2) runs through the socket's
// RawConn.Control, which keeps the descriptor from being closed (and its
// number reused) under it.
type goroutineConns struct {
	mu    sync.Mutex
	conns map[*socket.Conn]struct{}
	done  bool
}

// add registers c; after a stop it shuts c down at once, so a connection
// accepted just as the stop came cannot keep its goroutine waiting.
func (s *goroutineConns) add(ctx context.Context, c *socket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[*socket.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	if s.done || ctx.Err() != nil {
		shutdownConn(c)
	}
}

func (s *goroutineConns) remove(c *socket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// watch shuts every client down when ctx ends; the returned func releases
// the watcher.
func (s *goroutineConns) watch(ctx context.Context) (release func()) {
	return sys.OnCancel(ctx, s.shutdownAll)
}

// shutdownAll shuts down every client, and any added later.
func (s *goroutineConns) shutdownAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	for c := range s.conns {
		shutdownConn(c)
	}
}

func shutdownConn(c *socket.Conn) {
	control(c, func(fd int) { sys.Shutdown(fd, unix.SHUT_RDWR) })
}
