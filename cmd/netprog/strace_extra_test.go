package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The strace proofs of the reuseport and passfd lessons, on the server's
// own sockets (strace -f -yy names them: 5<TCP:[127.0.0.1:41235]>,
// 9<UNIX-STREAM:[123->124]>, and inside an SCM_RIGHTS message the
// descriptor passed, 12<TCP:[127.0.0.1:41235->127.0.0.1:50000]>).

// fdNumber is the descriptor number of an annotated argument: "5" of
// "5<TCP:[...]>".
func fdNumber(arg string) string {
	n, _, _ := strings.Cut(arg, "<")
	return n
}

var perWorkerRE = regexp.MustCompile(`connections per worker: ([\d ]+)\n`)

// TestStraceReuseport: three workers, three sockets: each gets
// setsockopt(SO_REUSEPORT) before its bind, the first binds port 0 and the
// others the port the kernel gave it, and all three listen on it. Each
// worker thread names itself, makes its own epoll (epoll_create1), adds
// its own listening socket and its clients to it, waits in it, and accepts
// on its own socket only. The connections each socket's accept4 returned
// are the spread the summary shows, worker by worker.
func TestStraceReuseport(t *testing.T) {
	t.Parallel()
	const workers = 3
	s := startStraced(t, "echo-server", "-model", "reuseport", "-workers", strconv.Itoa(workers),
		"-host", "127.0.0.1", "-port", "0", "-q")
	_, port, _ := strings.Cut(s.Addr, ":")
	const clients = 45 // a worker left with none: odds of 1 in 10^7
	for i := range clients {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)

	// The sockets, in the order they were made.
	var socks []string // descriptor numbers
	reuse := map[string]bool{}
	for _, c := range calls {
		fd := fdNumber(firstArg(c))
		switch {
		case c.Name == "setsockopt" && strings.Contains(c.Args, "SO_REUSEPORT, [1]") && touchesTCP(firstArg(c)):
			reuse[fd] = true
		case c.Name == "bind" && touchesTCP(firstArg(c)):
			if !reuse[fd] {
				t.Errorf("bind before setsockopt(SO_REUSEPORT): %s", c.Line)
			}
			want := "htons(" + port + ")"
			if len(socks) == 0 {
				want = "htons(0)"
			}
			if !strings.Contains(c.Args, want) || c.Ret != "0" {
				t.Errorf("bind of socket %d: want %s and success: %s", len(socks), want, c.Line)
			}
			socks = append(socks, fd)
		case c.Name == "listen" && touchesTCP(firstArg(c)):
			if !strings.Contains(firstArg(c), "127.0.0.1:"+port+"]") {
				t.Errorf("listen on another port than %s: %s", port, c.Line)
			}
		}
	}
	if len(socks) != workers {
		t.Fatalf("%d TCP sockets bound, want %d", len(socks), workers)
	}

	// Per socket: the epoll it was added to, and the thread that waits in
	// that epoll and accepts on the socket.
	epolls := map[string]bool{} // epoll descriptors epoll_create1 returned
	for _, c := range calls {
		if c.Name == "epoll_create1" {
			epolls[fdNumber(c.Ret)] = true
		}
	}
	named := map[int]bool{}
	for _, c := range calls {
		if c.Name == "prctl" && strings.HasPrefix(c.Args, `PR_SET_NAME, "reuseport-`) {
			named[c.Pid] = true
		}
	}
	threads := map[int]bool{}
	var spread []string
	for i, sock := range socks {
		epfd := ""
		for _, c := range calls {
			if c.Name == "epoll_ctl" && strings.Contains(c.Args, "EPOLL_CTL_ADD, "+sock+"<TCP:") {
				epfd = fdNumber(firstArg(c))
			}
		}
		if !epolls[epfd] {
			t.Errorf("socket %s (worker %d) was not added to an epoll of its own (epfd %q)", sock, i, epfd)
			continue
		}
		waiter, accepts, clientsAdded := 0, 0, 0
		for _, c := range calls {
			switch {
			case (c.Name == "epoll_wait" || c.Name == "epoll_pwait") && fdNumber(firstArg(c)) == epfd:
				if waiter != 0 && waiter != c.Pid {
					t.Errorf("epoll %s waited in by threads %d and %d", epfd, waiter, c.Pid)
				}
				waiter = c.Pid
			case c.Name == "epoll_ctl" && fdNumber(firstArg(c)) == epfd && strings.Contains(c.Args, "EPOLL_CTL_ADD") &&
				hasClientSocket(c.Args):
				clientsAdded++
			case c.Name == "accept4" && fdNumber(firstArg(c)) == sock && hasClientSocket(c.Ret):
				accepts++
			}
		}
		for _, c := range calls {
			if c.Name == "accept4" && fdNumber(firstArg(c)) == sock && c.Pid != waiter {
				t.Errorf("worker %d's socket accepted on by thread %d, not its own %d: %s", i, c.Pid, waiter, c.Line)
			}
		}
		if waiter == 0 || threads[waiter] {
			t.Errorf("worker %d: epoll %s waited in by thread %d, shared or none", i, epfd, waiter)
		}
		threads[waiter] = true
		if !named[waiter] && len(named) < workers-1 {
			t.Errorf("worker %d's thread %d did not name itself reuseport-N", i, waiter)
		}
		if clientsAdded != accepts {
			t.Errorf("worker %d: %d connections accepted, %d added to its epoll", i, accepts, clientsAdded)
		}
		spread = append(spread, strconv.Itoa(accepts))
	}
	m := perWorkerRE.FindStringSubmatch(s.Out.String())
	if m == nil {
		t.Fatalf("no spread in the summary:\n%s", s.Out)
	}
	if got, want := m[1], strings.Join(spread, " "); got != want {
		t.Errorf("summary says %q per worker, strace's accept4 calls %q", got, want)
	}
	for i, n := range spread {
		if n == "0" {
			t.Errorf("worker %d accepted none of %d connections: %s", i, clients, m[1])
		}
	}
}

// TestStracePassfd: two workers forked at start (clone with SIGCHLD, no
// CLONE_THREAD), each after a socketpair. Per client, the parent accepts,
// passes the connection with sendmsg and SCM_RIGHTS over a channel, and
// closes its copy; it never reads, writes or watches a client socket
// (its epoll holds the listening socket and the channels only). A worker
// receives the descriptor with recvmsg, converses on it, closes it and
// writes its free byte on the channel; it never accepts. The workers are
// reaped at the stop, each with wait4 of its pid, by the parent's main
// thread.
func TestStracePassfd(t *testing.T) {
	t.Parallel()
	const workers, clients = 2, 4
	s := startStraced(t, "echo-server", "-model", "passfd", "-workers", strconv.Itoa(workers),
		"-host", "127.0.0.1", "-port", "0", "-q")
	for i := range clients {
		if err := converse(s.Addr, "You Send:", i); err != nil {
			t.Fatal(err)
		}
	}
	// A client sees end of file when its worker closes the connection; the
	// worker's free byte comes just after: let the last one be written
	// before the stop ends the workers.
	isFreeByte := func(c straceCall) bool {
		return c.Name == "sendto" && strings.Contains(firstArg(c), "<UNIX-STREAM:") && strings.Contains(c.Args, `".", 1`)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := 0
		for _, c := range s.Calls(t) {
			if isFreeByte(c) {
				n++
			}
		}
		if n >= clients || time.Now().After(deadline) {
			break
		}
	}
	stopTracedClean(t, s)
	calls := s.Calls(t)

	children := forkClones(calls)
	if len(children) != workers {
		t.Fatalf("%d forks (clone with SIGCHLD, no CLONE_THREAD), want %d", len(children), workers)
	}
	pairThenFork := []func(straceCall) bool{}
	for range workers {
		pairThenFork = append(pairThenFork,
			func(c straceCall) bool { return c.Name == "socketpair" && strings.Contains(c.Args, "AF_UNIX") },
			isForkClone)
	}
	if i := inOrder(calls, pairThenFork...); i >= 0 {
		t.Errorf("socketpair -> clone(SIGCHLD), twice, breaks at step %d", i)
	}

	passed := regexp.MustCompile(`cmsg_type=SCM_RIGHTS, cmsg_data=\[(\d+<TCP:\[[^\]]*->[^\]]*\]>)\]`)
	sends, receives := 0, 0
	for _, c := range calls {
		child := children[pidOf(c)]
		switch {
		case c.Name == "sendmsg" && strings.Contains(firstArg(c), "<UNIX-STREAM:"):
			m := passed.FindStringSubmatch(c.Args)
			if child || m == nil || c.Ret != "1" {
				t.Errorf("sendmsg not by the parent or without a TCP connection in SCM_RIGHTS: %s", c.Line)
				continue
			}
			sends++
			closed := false
			for _, d := range calls {
				if d.Name == "close" && !children[pidOf(d)] && firstArg(d) == m[1] { // any thread of the parent
					closed = true
				}
			}
			if !closed {
				t.Errorf("the parent did not close its copy of %s", m[1])
			}
		case c.Name == "recvmsg" && strings.Contains(firstArg(c), "<UNIX-STREAM:") && passed.MatchString(c.Args):
			if !child {
				t.Errorf("recvmsg of a connection not by a worker: %s", c.Line)
			}
			receives++
		case c.Name == "accept4" && hasClientSocket(c.Ret):
			if child {
				t.Errorf("a worker accepted: %s", c.Line)
			}
			if !isListening(firstArg(c)) {
				t.Errorf("accept4 not on the listening socket: %s", c.Line)
			}
		case (c.Name == "read" || c.Name == "sendto" || c.Name == "recvfrom") && hasClientSocket(firstArg(c)):
			if !child {
				t.Errorf("the parent talked to a client: %s", c.Line)
			}
		case c.Name == "epoll_ctl" && strings.Contains(c.Args, "EPOLL_CTL_ADD") && hasClientSocket(c.Args):
			t.Errorf("a client socket went into an epoll: %s", c.Line)
		}
	}
	if sends != clients || receives != clients {
		t.Errorf("%d connections sent with SCM_RIGHTS, %d received; want %d each", sends, receives, clients)
	}

	served := 0
	for child := range children {
		var mine []straceCall
		for _, c := range calls {
			if pidOf(c) == child {
				mine = append(mine, c)
			}
		}
		closeRange := func(c straceCall) bool { return c.Name == "close_range" }
		recv := func(c straceCall) bool { return c.Name == "recvmsg" && passed.MatchString(c.Args) }
		if i := inOrder(mine, closeRange); i >= 0 {
			t.Errorf("worker %s never called close_range", child)
		}
		for {
			i := inOrder(mine, recv, onTCP("read"), onTCP("sendto"), onTCP("close"), isFreeByte)
			if i == 0 {
				break
			}
			if i > 0 {
				t.Errorf("worker %s: recvmsg -> read -> sendto -> close(client) -> free byte breaks at step %d", child, i)
				break
			}
			served++
			// Go on after this conversation's free byte.
			for j, c := range mine {
				if recv(c) {
					mine = mine[j+1:]
					break
				}
			}
		}
	}
	if served != clients {
		t.Errorf("%d conversations seen in the workers, want %d", served, clients)
	}

	reaped := 0
	for _, c := range calls {
		if c.Name == "wait4" && children[c.Ret] && strings.HasPrefix(c.Args, c.Ret+",") {
			reaped++
			if c.Pid != calls[0].Pid {
				t.Errorf("wait4 by thread %d, not the parent's main thread: %s", c.Pid, c.Line)
			}
		}
	}
	if reaped != workers {
		t.Errorf("wait4(PID) reaped %d workers, want %d", reaped, workers)
	}
}
