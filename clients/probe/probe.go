package probe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

const unixFamily = unix.AF_UNIX

// Status is a probe's verdict.
type Status string

const (
	Pass    Status = "PASS"
	Finding Status = "FINDING"
	Skip    Status = "SKIP"
)

// Result is what one probe found: its verdict and the measured fact
// behind it ("2 lines in one segment, 1 reply"), the lesson a finding
// names, and the numbers it measured (for scripts and tests).
type Result struct {
	Probe   string           `json:"probe"`
	Status  Status           `json:"status"`
	Fact    string           `json:"fact"`
	Lesson  string           `json:"lesson,omitempty"`
	Seconds float64          `json:"seconds"`
	Figures map[string]int64 `json:"figures,omitempty"`
}

// Target is the server under test.
type Target struct {
	Addr  sys.Addr
	Proto Protocol
	// Pid is the server's process, watched in /proc (0: not watched; the
	// probes that need it report SKIP).
	Pid int
	// Launcher, when check started the server (`-- COMMAND`), restarts it
	// (the restart probe), starts it again after it died, and types on its
	// input (a chat server's lines).
	Launcher *Launcher
}

// Probe is one check: short, bounded by a deadline, named.
type Probe struct {
	Name   string
	Kinds  []Kind
	Does   string // what it does
	Rule   string // when it passes
	Lesson string // the lesson a finding names
	run    func(s *Session) Result
}

// Probes lists every probe in the order they run: the conversation's
// basics first, those that may leave a server of the notes spinning or
// dead last (a reset kills the notes' iterative echo server, end of file
// makes it spin).
func Probes() []Probe { return probes }

// ErrNoServer is the first probe's failure to reach any server at the
// address: no card is worth printing.
var ErrNoServer = errors.New("no server answers")

// Session runs the probes against one target and keeps what they learn
// of it for the next ones.
type Session struct {
	T Target
	// Progress, if set, is told the name of each probe as it starts.
	Progress func(probe string)

	protoOK     bool // the reply probe saw the protocol spoken
	quitCloses  bool // after q the server closes (the notes' fork server does not)
	quitIgnored bool // q is answered as a message: conversations end with our end of file
	atOnce      int  // clients the concurrency probe saw served at once (0: not known)
	revived     string
	last        string // the probe that ran last
	noServer    error
}

// Run runs the probes (all that apply to the protocol, or those named in
// only, and reply, which finds the server and the protocol) and returns
// their results. It fails only when no server answers
// at all (ErrNoServer, wrapped with the cause).
func (s *Session) Run(only []string) ([]Result, error) {
	s.quitCloses = true
	var out []Result
	for _, p := range probes {
		if !slices.Contains(p.Kinds, s.T.Proto.Kind) {
			continue
		}
		if len(only) > 0 && !slices.Contains(only, p.Name) && p.Name != "reply" {
			continue
		}
		if s.Progress != nil {
			s.Progress(p.Name)
		}
		start := time.Now()
		r := s.runOne(p)
		r.Probe, r.Seconds = p.Name, time.Since(start).Seconds()
		if r.Status == Finding && r.Lesson == "" {
			r.Lesson = p.Lesson
		}
		if s.noServer != nil {
			return out, s.noServer
		}
		out = append(out, r)
	}
	return out, nil
}

// runOne runs a probe on a server that is there: one started by check
// that died in an earlier probe is started again first (on its port, or
// on a new one when its port cannot be had); a watched one that is gone
// leaves nothing to probe.
func (s *Session) runOne(p Probe) Result {
	if l := s.T.Launcher; l != nil && l.Exited() {
		if r, ok := s.revive(); !ok {
			return r
		}
	} else if l == nil && s.T.Pid != 0 && !(Proc{s.T.Pid}).Alive() {
		return skip("the server (pid %d) is gone", s.T.Pid)
	}
	before := s.T.Launcher.startsOr0()
	r := p.run(s)
	if s.revived != "" && r.Status != Skip {
		r.Fact = "(" + s.revived + ") " + r.Fact
		s.revived = ""
	}
	s.last = p.Name
	// A server that died during the probe: that is the finding, whatever
	// the probe itself concluded.
	if l := s.T.Launcher; l != nil && l.Starts() == before && l.Exited() && r.Status != Finding {
		r = finding("the server died during this probe: %s%s", l.Status(), l.lastWords())
	} else if l == nil && s.T.Pid != 0 && !(Proc{s.T.Pid}).Alive() && r.Status != Finding {
		r = finding("the server (pid %d) died during this probe", s.T.Pid)
	}
	return r
}

func (l *Launcher) startsOr0() int {
	if l == nil {
		return 0
	}
	return l.Starts()
}

// revive starts a server that died again, on its port if it can have it
// (a server without SO_REUSEADDR cannot while its old connections are in
// TIME_WAIT), else on a new one.
func (s *Session) revive() (Result, bool) {
	l := s.T.Launcher
	why := l.Status() + l.lastWords()
	l.Stop() // its children too
	old := l.Addr.Port
	if err := l.start(); err != nil {
		l.Addr.Port = 0
		if err := l.Start(); err != nil {
			return skip("the server died (%s) and could not be started again: %v", why, err), false
		}
	}
	s.T.Addr, s.T.Pid = l.Addr, l.ServerPid()
	s.revived = fmt.Sprintf("it died in %s; check started it again", s.last)
	if l.Addr.Port != old {
		s.revived += fmt.Sprintf(" on port %d, %d being still taken", l.Addr.Port, old)
	}
	return Result{}, true
}

// proc is the watched server, or nil.
func (s *Session) proc() *Proc {
	if s.T.Pid == 0 {
		return nil
	}
	return &Proc{s.T.Pid}
}

// ending is how conversations are left, with what the session knows.
func (s *Session) ending() Ending {
	p := s.T.Proto
	if s.quitIgnored {
		p.Quit = false
	}
	return Ending{Proto: p, QuitCloses: s.quitCloses}
}

// dial connects a client for a probe, or says why it could not: a server
// that refuses connections is gone (or was never there).
func (s *Session) dial(deadline time.Time, opt DialOptions) (*Conn, error) {
	return Dial(s.T.Addr, deadline, opt)
}

func pass(format string, args ...any) Result {
	return Result{Status: Pass, Fact: fmt.Sprintf(format, args...)}
}

func finding(format string, args ...any) Result {
	return Result{Status: Finding, Fact: fmt.Sprintf(format, args...)}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Fact: fmt.Sprintf(format, args...)}
}

// needProtocol is the SKIP of a probe that builds on the protocol being
// spoken.
func (s *Session) needProtocol() (Result, bool) {
	if !s.protoOK {
		return skip("the server did not speak the protocol (see reply)"), false
	}
	return Result{}, true
}

// lostServer turns a failure to connect in a later probe into a SKIP: the
// server was there for the first probe and is not now.
func lostServer(err error) Result {
	if refused(err) {
		return skip("no server answers any more (%v)", err)
	}
	return finding("could not connect: %v", err)
}

func refused(err error) bool {
	return sys.Errno(err) == unix.ECONNREFUSED || sys.Errno(err) == unix.ENOENT
}

// figures builds a Result's figures from pairs.
func figures(kv ...any) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			m[kv[i].(string)] = int64(v)
		case int64:
			m[kv[i].(string)] = v
		case time.Duration:
			m[kv[i].(string)] = v.Milliseconds()
		case bool:
			if v {
				m[kv[i].(string)] = 1
			} else {
				m[kv[i].(string)] = 0
			}
		}
	}
	return m
}

// ms shows a duration rounded for a fact.
func ms(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// plural is "1 reply", "2 replies".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// The lessons findings name: the README's and RELIABILITY.md's sections.
const (
	lessonMessageRule = "the message rule: TCP keeps the order of bytes, not the boundaries of the writes; a message is a line, and one recv may hold half of one or several (README: The message rule)"
	lessonQuit        = "the message rule: q ends the conversation, with or without its line ending (telnet and nc send CR LF) (README: The message rule)"
	lessonEOF         = "end of file: an empty read means the client has closed its side; the server closes too, instead of taking it for a message (README: echo-server)"
	lessonKeptOpen    = "a forking server's parent closes its copy of each client's socket, or the connection outlives the child (README: fork-server)"
	lessonConcurrency = "one client at a time: while one is served the others wait in the listen queue; a process, thread or event loop per client serves them at once (README: echo-server, and the designs after it)"
	lessonSlowReader  = "backpressure: a client that does not read its echo must not stall the others, nor make the server buffer without bound (RELIABILITY.md: slow reader)"
	lessonReset       = "a reset mid-reply (ECONNRESET, EPIPE; MSG_NOSIGNAL instead of SIGPIPE) ends that client, never the server (RELIABILITY.md: resets while writing)"
	lessonSequential  = "every client's socket is closed and every child reaped, so nothing grows with the connections served (README: fork-server, zombie-demo)"
	lessonRestart     = "SO_REUSEADDR: a server started again binds its port while the old connections wait out TIME_WAIT (README: greet-server)"
	lessonUDPSize     = "UDP keeps datagram boundaries: recvfrom into a buffer shorter than the datagram cuts it, and the rest is lost (README: udp-server)"
	lessonUDPSender   = "recvfrom says who sent each datagram, and sendto answers that sender (README: udp-server)"
	lessonChat        = "the chat: q from either side, or a hang-up, ends the conversation (README: chat-server)"
)

var (
	echoKinds = []Kind{Echo}
	tcpKinds  = []Kind{Echo, Greet, Chat}
)

var probes = []Probe{
	{Name: "reply", Kinds: []Kind{Echo, Greet, UDP, Chat},
		Does: "one message, one reply: the protocol as PROGRAM speaks it (the first connection: no server, exit 2)",
		Rule: "the reply is exactly the protocol's (\"You Send:hello\\n\" for \"hello\\n\"; the greeting and the close; the datagram back from the server's address; the chat's lines both ways)",
		run:  probeReply},
	{Name: "quit/q", Kinds: []Kind{Echo, Chat}, Lesson: lessonKeptOpen,
		Does: "q alone, in a send of its own",
		Rule: "the server closes the connection (end of file within 3 s) and sends nothing",
		run:  probeQuitQ},
	{Name: "quit/crlf", Kinds: echoKinds, Lesson: lessonQuit,
		Does: "q followed by CR LF, as telnet and nc send it",
		Rule: "the server closes the connection and sends nothing",
		run:  probeQuitCRLF},
	{Name: "framing/two-in-one", Kinds: echoKinds, Lesson: lessonMessageRule,
		Does: "two lines in one segment (one send)",
		Rule: "two replies (without a prefix: a line and q in one segment, the line echoed and the connection closed)",
		run:  probeTwoInOne},
	{Name: "framing/pieces", Kinds: echoKinds, Lesson: lessonMessageRule,
		Does: "one line written in two sends back to back (the first with MSG_MORE, as a program writing a header and a body)",
		Rule: "one reply with the whole line",
		run:  probePieces},
	{Name: "framing/long", Kinds: echoKinds, Lesson: lessonMessageRule,
		Does: "a 4096-byte line in one send (longer than the notes' recv(512) and recv(1024))",
		Rule: "one reply with the whole line (without a prefix: the line back whole)",
		run:  probeLong},
	{Name: "concurrency", Kinds: echoKinds, Lesson: lessonConcurrency,
		Does: "one slow client (silent, then a line every 100 ms) and 7 others that each send a line and stay",
		Rule: "the 7 are answered while the slow one stays; a FINDING once the slow one has been answered 20 times and some of the 7 still wait",
		run:  probeConcurrency},
	{Name: "sequential", Kinds: []Kind{Echo, Greet, UDP}, Lesson: lessonSequential,
		Does: "100 conversations one after another (UDP: 100 datagrams from 100 sockets), the server watched in /proc",
		Rule: "each is answered, and descriptors, threads, children and zombies grow by less than 25 (a quarter of the conversations) once the server settles",
		run:  probeSequential},
	{Name: "slow-reader", Kinds: echoKinds, Lesson: lessonSlowReader,
		Does: "a client that sends more than the socket buffers on the way can hold (tcp_rmem and tcp_wmem at their maxima, plus 4 MiB; at least 10 MiB) and never reads its echo",
		Rule: "the server stops reading it (its writes stall), its memory grows by less than 24 MiB, and another client is answered meanwhile (unless the server serves one client at a time)",
		run:  probeSlowReader},
	{Name: "reset", Kinds: echoKinds, Lesson: lessonReset,
		Does: "3 clients stall the server's replies (they never read), then reset (RST) while it writes to them",
		Rule: "the server lives on and answers the next client",
		run:  probeReset},
	{Name: "restart", Kinds: tcpKinds, Lesson: lessonRestart,
		Does: "with `--` only: stop the server mid-conversation (its side closes first, into TIME_WAIT) and start it again at once on the same port",
		Rule: "it listens again on the port and answers",
		run:  probeRestart},
	{Name: "quit/eof", Kinds: []Kind{Echo, Chat}, Lesson: lessonEOF,
		Does: "end of file without q (shutdown SHUT_WR), the server's CPU watched in /proc",
		Rule: "the server closes its side within 3 s, sends nothing more, and does not spin",
		run:  probeQuitEOF},
	{Name: "udp/large", Kinds: []Kind{UDP}, Lesson: lessonUDPSize,
		Does: "an 8000-byte datagram (longer than the notes' recvfrom(512))",
		Rule: "it comes back whole, in one datagram",
		run:  probeUDPLarge},
	{Name: "udp/sender", Kinds: []Kind{UDP}, Lesson: lessonUDPSender,
		Does: "two clients send a datagram each, back to back",
		Rule: "each gets its own echo and nothing else, from the address it sent to",
		run:  probeUDPSender},
}

// Names lists the probes' names, for -probes.
func Names() []string {
	var n []string
	for _, p := range probes {
		n = append(n, p.Name)
	}
	return n
}

// Lookup finds a probe by name.
func Lookup(name string) (Probe, bool) {
	for _, p := range probes {
		if p.Name == name {
			return p, true
		}
	}
	return Probe{}, false
}

// KindsString says which protocols a probe applies to.
func (p Probe) KindsString() string {
	var k []string
	for _, kind := range p.Kinds {
		k = append(k, kind.String())
	}
	return strings.Join(k, ", ")
}
