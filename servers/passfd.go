package servers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

func init() { register("passfd", Passfd) }

// Passfd is UNP's serv05 (section 30.9): a pool of cfg.Workers children
// (default 4) forked at start, where only the parent accepts. It hands
// each connection to an idle child over an AF_UNIX socketpair, with the
// descriptor in an SCM_RIGHTS control message (sys.SendFD), and closes its
// own copy; the child receives a new descriptor for the same socket,
// serves the client with the fork model's loop, closes it, and writes one
// byte back: "free". The parent watches the listening socket and every
// child's channel in one epoll set; while no child is free it stops
// watching the listening socket (EPOLL_CTL_MOD with no events), and the
// new connections wait in the listen queue, as with prefork.
//
// Why pass descriptors, when prefork's children can accept for
// themselves? Because the parent sees every connection and knows which
// child is free: it can choose (least loaded, or by the client's address),
// log, refuse, or grow the pool; prefork leaves the choice to the kernel's
// wake-up order. The cost is two more system calls and a context switch
// per connection (sendmsg in the parent, recvmsg in the child, plus the
// free byte), which UNP measures as the slowest of its pre-forked designs.
// The same mechanism is how a process hands sockets to another one that
// was started long after they were opened (systemd socket activation,
// nginx's binary upgrade, envoy's hot restart).
//
// The children follow the fork model's rules (raw system calls only, see
// passfd_child.go); each first closes everything but its channel. The
// parent knows a child died when its channel reads end of file (the
// kernel closed the child's end): it closes its end and forks a
// replacement, slowing down when children die faster than one pool per
// second. A connection given to a child that died before taking it is
// released with the channel. The end of file is also when the parent
// reaps the child, with wait4(PID): it has closed its descriptors and is
// ending, so the wait is short, and no pidfd is needed (children.go).
// cfg.IdleTimeout is set on each client socket (SO_RCVTIMEO and
// SO_SNDTIMEO) before it is passed: socket options belong to the socket,
// not to the descriptor. On stop the children get SIGTERM and are reaped,
// and the channels are closed; a child whose parent dies reads end of
// file on its channel and exits.
func Passfd(ctx context.Context, cfg Config) (*Stats, error) {
	if err := checkChildProto(cfg.Proto); err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if workers < 1 {
		workers = 4
	}
	if err := checkPoolFits(workers); err != nil {
		return nil, err
	}
	serializeLog(&cfg)
	// The listening socket (nonblocking), the eventfd that ends the wait
	// on stop, and the spare descriptor for shedding: as an event loop's.
	l, err := openLoop(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer l.close()
	epfd, err := sys.EpollCreate1()
	if err != nil {
		return l.st, err
	}
	defer sys.Close(epfd)
	for _, fd := range []int{l.wake, l.lfd} {
		if err := sys.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN); err != nil {
			return l.st, err
		}
	}
	// Slots for twice the pool: a dead child holds its slot until reaped,
	// while its replacement already runs.
	kids, err := newChildren(&cfg, l.st, 2*workers)
	if err != nil {
		return l.st, err
	}
	kids.workers = true
	kids.ownerReaps = true
	p := &pool{cfg: &cfg, l: l, kids: kids, epfd: epfd, size: workers, brake: forkBrake{size: workers},
		byChannel: map[int]*poolChild{}, listening: true}
	defer func() {
		kids.stop()
		p.closeChannels()
	}()
	for range workers {
		if err := p.spawn(); err != nil {
			return l.st, err
		}
	}
	return l.st, p.run()
}

// passfdFixedFDs is what the parent holds besides its channels: standard
// input, output and error, the listening socket, the eventfd, the epoll
// instance, the spare, the runtime's own poller and eventfd, and a
// connection on its way to a child.
const passfdFixedFDs = 10

// checkPoolFits refuses, before anything is announced or forked, a pool
// the descriptor limit cannot hold: the parent keeps one end of a
// socketpair per child, and twice the pool's worth while dead children
// await their replacements. Finding out half way, with workers already
// forked, is what "nothing half-done" forbids.
func checkPoolFits(workers int) error {
	lim, err := sys.Getrlimit(unix.RLIMIT_NOFILE)
	if err != nil {
		return err
	}
	need := uint64(passfdFixedFDs + 2*workers)
	if lim.Cur < need {
		return fmt.Errorf("passfd: %s need about %d descriptors (a channel each, twice over while dead ones are replaced), RLIMIT_NOFILE is %d: %w",
			count(workers, "worker", "workers"), need, lim.Cur, unix.EMFILE)
	}
	return nil
}

// pool is the parent's view of its children.
type pool struct {
	cfg  *Config
	l    *eventLoop // lfd, wake, pausedUntil and shed; it has no clients
	kids *children
	epfd int
	size int // children the pool should have

	byChannel map[int]*poolChild // by the parent's end of the channel
	idle      []*poolChild       // free children, the most recently freed last
	listening bool               // EPOLLIN registered for the listening socket

	brake forkBrake
}

// poolChild is one child and the parent's end of its channel.
type poolChild struct {
	pid  int
	ch   int
	busy bool
}

// run waits for connections and for children's bytes until the stop.
func (p *pool) run() error {
	events := make([]unix.EpollEvent, 64)
	for {
		now := time.Now()
		p.refill(now)
		if err := p.watchListener(now); err != nil {
			return err
		}
		n, err := sys.EpollWait(p.epfd, events, p.timeout(now))
		if err != nil {
			return err
		}
		now = time.Now()
		acceptNow := false
		for _, ev := range events[:n] {
			switch fd := int(ev.Fd); fd {
			case p.l.wake:
				return nil
			case p.l.lfd:
				acceptNow = true
			default:
				if c := p.byChannel[fd]; c != nil {
					p.heard(c, now)
				}
			}
		}
		if p.kids.lost > 0 {
			p.kids.reapUnwatched()
		}
		// The listening socket last, so that children freed (or found
		// dead) in this batch are known before connections are handed out.
		if acceptNow {
			if err := p.dispatch(now); err != nil {
				return err
			}
		}
	}
}

// watchListener registers interest in the listening socket only while a
// child is free and accepting is not paused (out of descriptors with no
// spare): otherwise it would stay readable and wake the loop for nothing.
func (p *pool) watchListener(now time.Time) error {
	want := len(p.idle) > 0 && p.l.accepting(now)
	if want == p.listening {
		return nil
	}
	var ev uint32
	if want {
		ev = unix.EPOLLIN
	}
	p.listening = want
	return sys.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, p.l.lfd, ev)
}

// timeout is how long the loop may wait: until an accept pause or a
// replacement brake ends, or reapEvery while a child is lost (-1: no
// limit).
func (p *pool) timeout(now time.Time) time.Duration {
	d := p.kids.timeout()
	if now.Before(p.l.pausedUntil) {
		if u := p.l.pausedUntil.Sub(now); d < 0 || u < d {
			d = u
		}
	}
	if len(p.byChannel) < p.size && p.brake.on(now) {
		if b := p.brake.until.Sub(now); d < 0 || b < d {
			d = b
		}
	}
	return d
}

// dispatch accepts the waiting connections, at most acceptBatch, while a
// child is free, and hands each to one.
func (p *pool) dispatch(now time.Time) error {
	for i := 0; i < acceptBatch && len(p.idle) > 0; i++ {
		// Flags 0: the connection must be blocking for the child, whatever
		// the listening socket is (accept4 does not inherit O_NONBLOCK).
		fd, peer, again, err := p.l.acceptNext(now, 0)
		if fd < 0 {
			if again {
				continue
			}
			return err
		}
		p.handOver(fd, peer, now)
	}
	return nil
}

// handOver passes the connection fd to a free child and closes the
// parent's copy. A child whose channel fails (EPIPE: it died since it
// said it was free) leaves the pool and the next free one is tried.
func (p *pool) handOver(fd int, peer sys.Addr, now time.Time) {
	defer sys.Close(fd) // the child has its own descriptor, or no one does
	if d := p.cfg.IdleTimeout; d > 0 {
		sys.SetRecvTimeout(fd, d)
		sys.SetSendTimeout(fd, d)
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		err := sys.SendFD(c.ch, fd)
		if err == nil {
			c.busy = true
			p.l.st.Conns.Add(1)
			p.cfg.logf("Got the connection from: %s: passed to worker %d", peer, c.pid)
			return
		}
		p.retire(c, err, now)
	}
	p.l.st.Refused.Add(1)
	p.cfg.logf("No worker left for %s: connection closed", peer)
}

// heard reads what a child wrote on its channel: one byte per client it
// finished (it is free again), or end of file (it died: its end of the
// channel was closed by the kernel).
func (p *pool) heard(c *poolChild, now time.Time) {
	var buf [16]byte
	n, err := sys.Read(c.ch, buf[:])
	switch {
	case err != nil && sys.IsTemporary(err):
	case n > 0:
		if c.busy {
			c.busy = false
			p.idle = append(p.idle, c)
		}
	default:
		p.retire(c, err, now)
	}
}

// retire takes a dead child out of the pool, closes the parent's end of
// its channel (which also takes it out of the epoll set) and reaps the
// process; refill forks a replacement. A child whose end is closed (end
// of file, EPIPE, ECONNRESET) is ending, and wait4 waits only for that; one
// whose channel failed otherwise reads end of file now, and is reaped by
// the reapEvery timeout (children.orphan).
func (p *pool) retire(c *poolChild, err error, now time.Time) {
	delete(p.byChannel, c.ch)
	for i, ic := range p.idle {
		if ic == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
	sys.Close(c.ch)
	why := "its channel reached end of file"
	if err != nil {
		why = err.Error()
	}
	p.cfg.logf("Worker %d left the pool: %s", c.pid, why)
	if e := sys.Errno(err); err == nil || e == unix.EPIPE || e == unix.ECONNRESET {
		p.kids.reap(c.pid) // its end is closed: it is ending
	} else {
		p.kids.orphan(c.pid) // it reads end of file on its channel, perhaps after a client
	}
	p.brake.died(p.cfg, now)
}

// refill forks children until the pool is full, unless the brake is on.
func (p *pool) refill(now time.Time) {
	for len(p.byChannel) < p.size && !p.brake.on(now) {
		if err := p.spawn(); err != nil {
			p.brake.forkFailed(p.cfg, now, err)
		}
	}
}

// spawn makes a channel, forks a child on its other end, and adds the
// child to the pool as free.
func (p *pool) spawn() error {
	pair, err := sys.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	pid, err := p.kids.spawn(passfdChild, func() {
		passfdArgs.channel = pair[1]
		setChildProto(p.cfg.Proto)
	})
	sys.Close(pair[1]) // the child's end: the child has its own copy
	if err != nil {
		sys.Close(pair[0])
		return err
	}
	// The parent's end is nonblocking: the parent never waits but in
	// epoll_wait. (The child's stays blocking: it sleeps in recvmsg.)
	if err = sys.SetNonblock(pair[0], true); err == nil {
		err = sys.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, pair[0], unix.EPOLLIN)
	}
	if err != nil {
		sys.Close(pair[0]) // the child reads end of file and exits
		return err
	}
	c := &poolChild{pid: pid, ch: pair[0]}
	p.byChannel[c.ch] = c
	p.idle = append(p.idle, c)
	p.cfg.logf("Forked worker process: %d", pid)
	return nil
}

// closeChannels closes the parent's end of every channel, in the order of
// their numbers (so that a stop reads the same in strace every time).
func (p *pool) closeChannels() {
	chans := make([]int, 0, len(p.byChannel))
	for ch := range p.byChannel {
		chans = append(chans, ch)
	}
	slices.Sort(chans)
	for _, ch := range chans {
		sys.Close(ch)
	}
	p.byChannel, p.idle = nil, nil
}
