package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"netprog/internal/e2e"
)

// The strace proofs of the thread, select, poll, epoll and goroutine
// lessons, on the server's own TCP sockets (strace -f -yy names them). The
// Go runtime's own calls (its threads' clones, its epoll for timers and
// the netpoller) are in the log too; only the goroutine model's netpoller
// touches a TCP socket with epoll.

// isThreadClone matches a clone or clone3 that made a thread
// (CLONE_THREAD) and returned its id.
func isThreadClone(c straceCall) bool {
	return (c.Name == "clone" || c.Name == "clone3") && strings.Contains(c.Args, "CLONE_THREAD") &&
		c.Ret != "" && c.Ret[0] >= '1' && c.Ret[0] <= '9'
}

// listeningSocket returns the -yy annotation of the server's listening
// socket from its listen(2) call: "3<TCP:[127.0.0.1:41235]>".
func listeningSocket(t *testing.T, calls []straceCall) string {
	t.Helper()
	for _, c := range calls {
		if c.Name == "listen" && touchesTCP(firstArg(c)) {
			return firstArg(c)
		}
	}
	t.Fatal("no listen(2) on a TCP socket in the strace log")
	return ""
}

// clientSocket matches an annotation naming a connected TCP socket
// (127.0.0.1:PORT->127.0.0.1:PORT).
func hasClientSocket(s string) bool { return touchesTCP(s) && strings.Contains(s, "->") }

// stopTracedClean stops the traced server with SIGINT and checks that it
// stopped cleanly: exit status 0 and its summary printed.
func stopTracedClean(t *testing.T, s *straced) {
	t.Helper()
	stopTraced(t, s)
	if s.Status() != nil {
		t.Errorf("traced server exited with %v\n%s", s.Status(), s.Err)
	}
	if !strings.Contains(s.Out.String(), "server stopped after") {
		t.Errorf("no summary from the traced server:\n%s", s.Out)
	}
}

// tracedPid is the traced netprog's pid: the first line of strace's log.
func tracedPid(t *testing.T, s *straced) int {
	t.Helper()
	calls := s.Calls(t)
	if len(calls) == 0 {
		t.Fatal("empty strace log")
	}
	return calls[0].Pid
}

// TestStraceThread: per client, a thread of its own: made by a clone with
// CLONE_THREAD, named client-N with prctl(PR_SET_NAME) (and so shown in
// /proc/PID/task/*/comm while the client is connected), reading the client
// socket with blocking calls; and no epoll anywhere near a TCP socket.
func TestStraceThread(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "thread-server", "-host", "127.0.0.1", "-port", "0", "-q")
	const clients = 3
	var conns []net.Conn
	for i := range clients {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if err := converseOn(c, "", i, false); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// While the clients are connected, their threads are in /proc by name.
	pid := tracedPid(t, s)
	names := map[string]int{}
	for tid, name := range e2e.ThreadNames(pid) {
		names[name] = tid
	}
	for _, c := range conns {
		c.Write([]byte("q\n"))
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		c.Read(b[:])
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)

	threads := map[string]bool{} // tids made by clone(CLONE_THREAD)
	for _, c := range calls {
		if isThreadClone(c) {
			threads[c.Ret] = true
		}
	}
	namers := map[string]int{} // client-N -> the tid that named itself so
	for _, c := range calls {
		if c.Name == "prctl" && strings.HasPrefix(c.Args, `PR_SET_NAME, "client-`) {
			name := strings.TrimSuffix(strings.TrimPrefix(c.Args, `PR_SET_NAME, "`), `"`)
			namers[name] = c.Pid
		}
	}
	seen := map[int]string{}
	for i := 1; i <= clients; i++ {
		name := fmt.Sprintf("client-%d", i)
		tid, ok := namers[name]
		if !ok {
			if strings.Contains(s.Out.String(), "New child "+name+" (thread "+strconv.Itoa(pid)) {
				continue // served on the main thread, which is never named (rare)
			}
			t.Errorf("no prctl(PR_SET_NAME, %q) in the log", name)
			continue
		}
		if other, dup := seen[tid]; dup {
			t.Errorf("thread %d served both %s and %s: not a thread per client", tid, other, name)
		}
		seen[tid] = name
		if !threads[strconv.Itoa(tid)] {
			t.Errorf("thread %d (%s) was not made by a clone with CLONE_THREAD", tid, name)
		}
		if procTid, ok := names[name]; !ok || procTid != tid {
			t.Errorf("/proc/%d/task/*/comm shows %s as thread %d (present %v), strace as %d", pid, name, procTid, ok, tid)
		}
		reads := false
		for _, c := range calls {
			if c.Pid == tid && c.Name == "read" && hasClientSocket(firstArg(c)) {
				reads = true
			}
		}
		if !reads {
			t.Errorf("thread %d (%s) never read a client socket", tid, name)
		}
	}
	if n := len(threads); n < clients {
		t.Errorf("%d clones with CLONE_THREAD for %d clients", n, clients)
	}
	noEpollOnTCP(t, calls)
}

// TestStraceIterativeNoEpoll: the iterative server waits in accept and
// read, never in epoll, on its sockets.
func TestStraceIterativeNoEpoll(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "echo-server", "-host", "127.0.0.1", "-port", "0", "-q")
	for i := range 2 {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)
	if i := inOrder(calls, onTCP("accept4"), onTCP("read"), onTCP("sendto")); i != -1 {
		t.Errorf("missing call %d of accept4, read, sendto on TCP sockets", i)
	}
	noEpollOnTCP(t, calls)
}

// TestStraceSelect: the select server's select(2) watches the listening
// socket (and stdin) and then the clients, from one thread.
func TestStraceSelect(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "select-server", "-host", "127.0.0.1", "-port", "0", "-q")
	for i := range 2 {
		if err := echoLine(s.Addr, i); err != nil {
			t.Fatal(err)
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)
	lsock := listeningSocket(t, calls)
	overListener, overClient, overStdin := false, false, false
	for _, c := range calls {
		if c.Name != "select" && c.Name != "pselect6" {
			continue
		}
		overListener = overListener || strings.Contains(c.Args, lsock)
		overClient = overClient || hasClientSocket(c.Args)
		overStdin = overStdin || strings.Contains(c.Args, "[0<") || strings.Contains(c.Args, " 0<")
	}
	if !overListener || !overClient || !overStdin {
		t.Errorf("select calls: over the listening socket %v, a client %v, stdin %v; want all", overListener, overClient, overStdin)
	}
	if i := inOrder(calls, onTCP("accept4"), onTCP("read"), onTCP("sendto")); i != -1 {
		t.Errorf("missing call %d of accept4, read, sendto on TCP sockets", i)
	}
	noEpollOnTCP(t, calls)
}

// TestStracePoll: poll(2) (ppoll on some architectures) over the listening
// socket and the clients.
func TestStracePoll(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "echo-server", "-model", "poll", "-host", "127.0.0.1", "-port", "0", "-q")
	for i := range 2 {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)
	lsock := listeningSocket(t, calls)
	overListener, overClient := false, false
	for _, c := range calls {
		if c.Name != "poll" && c.Name != "ppoll" {
			continue
		}
		overListener = overListener || strings.Contains(c.Args, "{fd="+lsock+", events=POLLIN}")
		overClient = overClient || hasClientSocket(c.Args)
	}
	if !overListener || !overClient {
		t.Errorf("poll calls: over the listening socket %v, a client %v; want both", overListener, overClient)
	}
	noEpollOnTCP(t, calls)
}

// TestStraceEpoll: epoll_ctl adds the listening socket and each client to
// the server's own epoll instance (with EPOLLET under -edge), and the
// server waits in epoll_wait on it.
func TestStraceEpoll(t *testing.T) {
	t.Parallel()
	for _, edge := range []bool{false, true} {
		t.Run(fmt.Sprintf("edge=%v", edge), func(t *testing.T) {
			args := []string{"echo-server", "-model", "epoll", "-host", "127.0.0.1", "-port", "0", "-q"}
			if edge {
				args = append(args, "-edge")
			}
			s := startStraced(t, args...)
			for i := range 2 {
				if err := converse(s.Addr, "You Send:", i); err != nil {
					t.Fatal(err)
				}
			}
			stopTracedClean(t, s)
			calls := s.Calls(t)
			lsock := listeningSocket(t, calls)
			epfd := ""
			addedListener, addedClients := false, 0
			for _, c := range calls {
				if c.Name != "epoll_ctl" || !strings.Contains(c.Args, "EPOLL_CTL_ADD, "+lsock) {
					continue
				}
				addedListener, epfd = true, firstArg(c)
				if edge != strings.Contains(c.Args, "EPOLLET") {
					t.Errorf("listening socket added with edge=%v: %s", edge, c.Line)
				}
			}
			if !addedListener {
				t.Fatal("no epoll_ctl(EPOLL_CTL_ADD) of the listening socket")
			}
			waits := 0
			for _, c := range calls {
				if c.Name == "epoll_ctl" && firstArg(c) == epfd && strings.Contains(c.Args, "EPOLL_CTL_ADD") && hasClientSocket(c.Args) {
					addedClients++
				}
				if (c.Name == "epoll_wait" || c.Name == "epoll_pwait") && firstArg(c) == epfd {
					waits++
				}
			}
			if addedClients < 2 || waits == 0 {
				t.Errorf("on %s: %d clients added (want 2), %d epoll_wait calls", epfd, addedClients, waits)
			}
		})
	}
}

// TestStraceGoroutine: the goroutine model's sockets are nonblocking and
// handed to the Go runtime's netpoller (its epoll_ctl ADD, edge-triggered);
// no thread is made per client.
func TestStraceGoroutine(t *testing.T) {
	t.Parallel()
	s := startStraced(t, "echo-server", "-model", "goroutine", "-host", "127.0.0.1", "-port", "0", "-q")
	const clients = 30
	for i := range clients {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)
	lsock := listeningSocket(t, calls)
	addedListener, addedClients, accepts := false, 0, 0
	for _, c := range calls {
		if c.Name == "epoll_ctl" && strings.Contains(c.Args, "EPOLL_CTL_ADD") && strings.Contains(c.Args, "EPOLLET") {
			addedListener = addedListener || strings.Contains(c.Args, lsock)
			if hasClientSocket(c.Args) {
				addedClients++
			}
		}
		if c.Name == "accept4" && touchesTCP(c.Ret) && strings.Contains(c.Args, "SOCK_NONBLOCK") {
			accepts++
		}
	}
	if !addedListener || addedClients < clients || accepts < clients {
		t.Errorf("netpoller: listening socket added %v, %d clients added, %d nonblocking accepts; want %d clients",
			addedListener, addedClients, accepts, clients)
	}
	threads := 0
	for _, c := range calls {
		if isThreadClone(c) {
			threads++
		}
	}
	if threads >= clients {
		t.Errorf("%d threads made for %d clients one after another: the runtime should need a few, not one each", threads, clients)
	}
	for _, c := range calls {
		if c.Name == "prctl" && strings.Contains(c.Args, "PR_SET_NAME") {
			t.Errorf("a thread was named: %s", c.Line)
		}
	}
}

// echoLine sends one line to a pure echo server and reads it back.
func echoLine(addr string, i int) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return converseOn(c, "", i, false)
}
