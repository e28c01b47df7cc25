package servers_test

import (
	"fmt"
	"maps"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
)

// threadNames maps thread id to name for this process's threads whose name
// starts with prefix.
func threadNames(t *testing.T, prefix string) map[int]string {
	t.Helper()
	names := e2e.ThreadNames(os.Getpid())
	maps.DeleteFunc(names, func(_ int, name string) bool { return !strings.HasPrefix(name, prefix) })
	return names
}

// TestThreadPerClient: each client is served by a kernel thread of its own,
// named client-N (as ps -L and /proc show), which ends with its client.
func TestThreadPerClient(t *testing.T) {
	s := startModelServer(t, "thread", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Prefix: "You Send:", Quit: true}})
	const n = 4
	var conns []net.Conn
	for i := range n {
		c := s.mustDial(t)
		if err := askLine(c, fmt.Sprintf("hi %d\n", i), fmt.Sprintf("You Send:hi %d\n", i)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	names := threadNames(t, "client-")
	for i := 1; i <= n; i++ {
		s.Log.waitFor(t, fmt.Sprintf("New child client-%d ", i))
	}
	byName := map[string]int{}
	for tid, name := range names {
		byName[name] = tid
	}
	pid := os.Getpid()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("client-%d", i)
		tid, ok := byName[name]
		if !ok && !strings.Contains(s.Log.String(), "New child "+name+" (thread "+strconv.Itoa(pid)) {
			t.Errorf("no thread named %s in /proc/self/task (found %v)", name, names)
		}
		if ok && tid == pid {
			t.Errorf("%s is the process's main thread", name)
		}
	}
	if len(byName) != len(names) {
		t.Errorf("two threads share a name: %v", names)
	}

	// A client that quits ends its thread.
	for _, c := range conns {
		c.Write([]byte("q\n"))
		if err := expectEOF(c); err != nil {
			t.Error(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(threadNames(t, "client-")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("client threads still alive 10s after their clients quit: %v", threadNames(t, "client-"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.stop(t); st.Conns.Load() != n {
		t.Errorf("Stats.Conns = %d, want %d", st.Conns.Load(), n)
	}
}

// TestThreadMaxThreads: with every client thread busy the server stops
// accepting; the next client waits in the listen queue and is served as
// soon as a thread ends.
func TestThreadMaxThreads(t *testing.T) {
	s := startModelServer(t, "thread", servers.Config{Addr: mustResolve(t, "127.0.0.1:0"), Proto: protocol.Echo{Prefix: "You Send:", Quit: true}, MaxThreads: 2})
	a, b := s.mustDial(t), s.mustDial(t)
	for _, c := range []net.Conn{a, b} {
		if err := askLine(c, "busy\n", "You Send:busy\n"); err != nil {
			t.Fatal(err)
		}
	}
	s.Log.waitFor(t, "All 2 client threads busy")
	waiting := s.mustDial(t) // the kernel completes the connect: it waits in the queue
	answered := make(chan error, 1)
	go func() { answered <- askLine(waiting, "me too\n", "You Send:me too\n") }()
	select {
	case err := <-answered:
		t.Fatalf("a third client was served while both threads were busy (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	a.Write([]byte("q\n"))
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting client was not served after a thread ended")
	}
}
