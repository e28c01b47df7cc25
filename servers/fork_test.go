package servers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
)

// The fork and prefork models run here in the test process: each child is a
// real fork of the test binary (under -race too), running the nosplit loop
// of forkchild.go. The clients use package net, an independent peer.

// forkServer is a fork, prefork or passfd model running in a goroutine
// of the test, whose stop also checks that the children are gone.
type forkServer struct {
	*modelServer
}

func startForkServer(t *testing.T, model string, cfg servers.Config) *forkServer {
	t.Helper()
	m, ok := servers.Lookup(model)
	if !ok {
		t.Fatalf("model %q is not registered", model)
	}
	s := &forkServer{startServing(t, model, m, cfg)}
	s.stopWithin = 20 * time.Second // SIGTERM to every child, and their reaping
	// Runs before the modelServer's own cleanup, which then finds it stopped.
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the server, waits for it, and checks that every child it
// forked is gone: reaped, not a zombie of this process.
func (s *forkServer) stop(t *testing.T) *servers.Stats {
	t.Helper()
	st := s.modelServer.stop(t)
	for _, pid := range forkedPids(s.Log.String()) {
		if ppid, state, err := procStat(pid); err == nil && ppid == os.Getpid() {
			t.Errorf("child %d still a child of the test process after stop (state %c)", pid, state)
		}
	}
	return st
}

// dial connects with package net, with a deadline of 30s on the
// conversation.
func (s *forkServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c := s.mustDial(t)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

var forkedRE = regexp.MustCompile(`Forked (?:child|worker) process: (\d+)`)

// forkedPids lists the children a server's log says it forked.
func forkedPids(log string) []int {
	var pids []int
	for _, m := range forkedRE.FindAllStringSubmatch(log, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// procStat reads a process's parent and state (e2e.Status).
func procStat(pid int) (ppid int, state byte, err error) { return e2e.Status(pid) }

// openFds lists a process's open descriptors.
func openFds(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	return fds
}

// readN reads exactly n bytes.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// wantEOF checks that the server closed the connection.
func wantEOF(t *testing.T, c net.Conn) {
	t.Helper()
	var b [16]byte
	n, err := c.Read(b[:])
	if err != io.EOF {
		t.Fatalf("want end of file, got %q, %v", b[:n], err)
	}
}

// framedConversation has the message rule checked on c, a client of a
// server with the prefix "you send:" and q: pipelined lines, a message
// without newline, a quit after a line in the same write (the line is
// answered, what follows the quit is not), CRLF. The server then closes the
// connection, having echoed framedConversationBytes.
func framedConversation(t *testing.T, c net.Conn) {
	t.Helper()
	io.WriteString(c, "one\ntwo\r\n")
	if got, want := readN(t, c, 27), "you send:one\nyou send:two\r\n"; got != want {
		t.Errorf("pipelined lines: got %q, want %q", got, want)
	}
	io.WriteString(c, "three")
	if got := readN(t, c, 14); got != "you send:three" {
		t.Errorf("message without newline: got %q", got)
	}
	io.WriteString(c, "four\nQ\r\nfive\n")
	if got := readN(t, c, 14); got != "you send:four\n" {
		t.Errorf("line before quit: got %q", got)
	}
	wantEOF(t, c)
}

// framedConversationBytes is what a framedConversation has echoed.
const framedConversationBytes = 27 + 14 + 14

// TestForkModelsProtocol: both models, every family: the message rule with
// a prefix and q (pipelined lines, a message without newline, a quit after
// a line in the same write, CRLF), byte-exact raw echo of 1 MiB and of a
// one-byte dribble, the summary's counts, and no child left behind.
func TestForkModelsProtocol(t *testing.T) {
	for _, model := range []string{"fork", "prefork"} {
		for _, fam := range testFamilies {
			t.Run(model+"/"+fam.name, func(t *testing.T) {
				framed := startForkServer(t, model, servers.Config{Addr: fam.addr(t), Workers: 2,
					Proto: protocol.Echo{Prefix: "you send:", Quit: true}})
				framedConversation(t, framed.dial(t))
				st := framed.stop(t)
				if st.Conns.Load() != 1 || st.Bytes.Load() != framedConversationBytes {
					t.Errorf("framed: Conns %d Bytes %d, want 1 and %d", st.Conns.Load(), st.Bytes.Load(), framedConversationBytes)
				}

				raw := startForkServer(t, model, servers.Config{Addr: fam.addr(t), Workers: 2, Proto: protocol.Echo{Raw: true}})
				big := make([]byte, 1<<20)
				rand.Read(big)
				if err := echoBytes(raw.dial(t), big, 64<<10); err != nil {
					t.Errorf("1 MiB: %v", err)
				}
				if err := echoBytes(raw.dial(t), big[:200], 1); err != nil {
					t.Errorf("dribble: %v", err)
				}
				st = raw.stop(t)
				if st.Conns.Load() != 2 || st.Bytes.Load() != 1<<20+200 {
					t.Errorf("raw: Conns %d Bytes %d, want 2 and %d", st.Conns.Load(), st.Bytes.Load(), 1<<20+200)
				}
				if st.Children.Load() < 1 {
					t.Errorf("raw: no child reaped")
				}
			})
		}
	}
}

// echoBytes checks the echo of p, sent in writes of chunk bytes, within
// the deadline c has (forkServer.dial sets 30s), and closes c once it is
// right: a worker is free for the next client once this one has gone.
func echoBytes(c net.Conn, p []byte, chunk int) error {
	if err := echoExactByDeadline(c, p, chunk); err != nil {
		return err
	}
	c.Close()
	return nil
}

// TestForkChildMessageRule: the child's nosplit re-implementation of the
// message rule, checked on a long conversation: random lines of random
// lengths (some longer than a read), sent with random write sizes, with a
// 200-byte prefix so that one read's replies overflow the child's output
// buffer and are flushed in parts. The reply must be a sequence of prefix +
// message, where a message holds no newline but possibly a final one (a read
// may also end a message early: TCP decides where), and the messages
// together must be exactly the bytes sent.
func TestForkChildMessageRule(t *testing.T) {
	prefix := strings.Repeat("#", 200)
	s := startForkServer(t, "fork", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"),
		Proto: protocol.Echo{Prefix: prefix}})
	var in bytes.Buffer
	seed := make([]byte, 400)
	rand.Read(seed)
	for i, b := range seed {
		n := int(b)*int(b)/3 + i%7 // 0 to ~21,000 bytes
		in.WriteString(strings.Repeat(string(rune('a'+i%26)), n))
		in.WriteByte('\n')
	}
	c := s.dial(t)
	go func() {
		p := in.Bytes()
		for i := 0; len(p) > 0; i++ {
			n := min(len(p), 1+int(seed[i%len(seed)])*97)
			c.Write(p[:n])
			p = p[n:]
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var msgs bytes.Buffer
	replies := 0
	for rest := got; len(rest) > 0; replies++ {
		if !bytes.HasPrefix(rest, []byte(prefix)) {
			t.Fatalf("reply %d does not start with the prefix: %.40q", replies, rest)
		}
		rest = rest[len(prefix):]
		end := bytes.IndexByte(rest, '#')
		if end < 0 {
			end = len(rest)
		}
		msg := rest[:end]
		if i := bytes.IndexByte(msg, '\n'); i >= 0 && i != len(msg)-1 {
			t.Fatalf("reply %d holds more than one line: %.60q", replies, msg)
		}
		msgs.Write(msg)
		rest = rest[end:]
	}
	if !bytes.Equal(msgs.Bytes(), in.Bytes()) {
		t.Fatalf("the messages echoed (%d bytes) are not the %d bytes sent", msgs.Len(), in.Len())
	}
	if replies < len(seed) {
		t.Errorf("%d replies for %d lines", replies, len(seed))
	}
	if st := s.stop(t); st.Bytes.Load() != int64(len(got)) {
		t.Errorf("Bytes %d, want %d", st.Bytes.Load(), len(got))
	}
}

// TestForkChildDescriptors: a fork child keeps only 0, 1, 2 and its client
// (close(listenfd), then close_range); a prefork worker only 0, 1, 2, the
// listening socket and the client it is serving. Whatever else the test
// process has open (the runtime's, other tests') is gone.
func TestForkChildDescriptors(t *testing.T) {
	for _, model := range []string{"fork", "prefork"} {
		t.Run(model, func(t *testing.T) {
			s := startForkServer(t, model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 1,
				Proto: protocol.Echo{Prefix: ">", Quit: true}})
			c := s.dial(t)
			io.WriteString(c, "hi\n")
			readN(t, c, 4)
			var pids []int
			for deadline := time.Now().Add(10 * time.Second); len(pids) == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond) // the parent logs the pid after the fork returns
				pids = forkedPids(s.Log.String())
			}
			if len(pids) != 1 {
				t.Fatalf("want one child, log says %v:\n%s", pids, s.Log)
			}
			sockets := map[string]int{"fork": 1, "prefork": 2}[model]
			fds := openFds(t, pids[0])
			if len(fds) != 3+sockets || fds[0] != 0 || fds[1] != 1 || fds[2] != 2 {
				t.Errorf("child %d has descriptors %v, want 0 1 2 and %d sockets", pids[0], fds, sockets)
			}
			for _, fd := range fds[3:] {
				link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pids[0], fd))
				if err != nil || !strings.HasPrefix(link, "socket:") {
					t.Errorf("child's descriptor %d is %q (%v), want a socket", fd, link, err)
				}
			}
		})
	}
}

// TestForkIdleTimeout: a client that says nothing is closed after
// IdleTimeout (SO_RCVTIMEO: set by the parent before the fork, by the
// prefork worker after its accept), and the reap says why.
func TestForkIdleTimeout(t *testing.T) {
	for _, model := range []string{"fork", "prefork"} {
		t.Run(model, func(t *testing.T) {
			s := startForkServer(t, model, servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Workers: 1,
				IdleTimeout: 200 * time.Millisecond, Proto: protocol.Echo{Quit: true}})
			start := time.Now() // before the dial: the server's clock cannot start earlier
			c := s.dial(t)
			wantEOF(t, c)
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("closed after %v, before the idle timeout", d)
			}
			if model == "fork" {
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(s.Log.String(), "client idle for 200ms: closed") && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if !strings.Contains(s.Log.String(), "client idle for 200ms: closed") {
					t.Errorf("the reap does not say the client was idle:\n%s", s.Log)
				}
			}
		})
	}
}

// TestForkPrefixTooLong: a prefix the child's buffer cannot hold is an
// error at start, not a truncated reply.
func TestForkPrefixTooLong(t *testing.T) {
	for _, model := range []string{"fork", "prefork"} {
		m, _ := servers.Lookup(model)
		_, err := m(context.Background(), servers.Config{Addr: mustResolve(t, "127.0.0.1:0"),
			Proto: protocol.Echo{Prefix: strings.Repeat("x", 257)}})
		if err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("%s with a 257-byte prefix: %v, want an error about the prefix", model, err)
		}
	}
}
