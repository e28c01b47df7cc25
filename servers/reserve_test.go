package servers_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netprog/internal/e2e"
	"netprog/internal/protocol"
	"netprog/servers"
	"netprog/sys"
)

// The descriptor-limit test needs a process of its own: RLIMIT_NOFILE is
// per process, and lowering it in the test process would starve everything
// else. The test binary re-runs itself as that process
// (TestHelperModelProcess), and the test lowers its limit with prlimit(2).

const helperModelEnv = "NETPROG_HELPER_MODEL"

// TestHelperModelProcess is not a test: run by the tests below as a child
// process, it serves one model until SIGINT, printing its log and summary.
func TestHelperModelProcess(t *testing.T) {
	model := os.Getenv(helperModelEnv)
	if model == "" {
		t.Skip("helper process for TestOutOfDescriptors")
	}
	m, ok := servers.Lookup(model)
	if !ok {
		fmt.Fprintf(os.Stderr, "no model %q\n", model)
		os.Exit(2)
	}
	addr, err := sys.ResolveAddr("127.0.0.1:0", sys.AnyFamily)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := servers.Config{
		Addr: addr, Proto: protocol.Echo{Raw: true}, Log: os.Stdout, Stdin: -1,
		Edge: os.Getenv("NETPROG_HELPER_EDGE") != "",
	}
	st, err := m(ctx, cfg)
	if st != nil {
		st.Summary(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(0)
}

// helperServer is a model served by a child process.
type helperServer struct {
	cmd  *exec.Cmd
	addr string
	out  *logBuffer
	done chan error
}

func startHelperServer(t *testing.T, mc modelCase) *helperServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperModelProcess$")
	cmd.Env = append(os.Environ(), helperModelEnv+"="+mc.model)
	if mc.edge {
		cmd.Env = append(cmd.Env, "NETPROG_HELPER_EDGE=1")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &helperServer{cmd: cmd, out: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = h.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if a, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on "); ok {
				addrc <- a
			}
			h.out.Write([]byte(line))
			if err != nil {
				break
			}
		}
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-h.done
	})
	select {
	case h.addr = <-addrc:
	case <-time.After(20 * time.Second):
		t.Fatalf("helper did not listen in 20s:\n%s", h.out)
	}
	return h
}

// lowestFreeFD is the lowest descriptor number not open in process pid:
// the one the kernel would hand out next.
func lowestFreeFD(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	open := map[int]bool{}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		open[n] = true
	}
	n := 0
	for open[n] {
		n++
	}
	return n
}

// TestOutOfDescriptors: with no descriptor left, a server sheds the
// connections it cannot take (the reserve-descriptor technique: the client
// sees its connection closed at once), does not spin, keeps serving the
// clients it has, and serves new ones once descriptors are available again.
func TestOutOfDescriptors(t *testing.T) {
	cases := append([]modelCase{{name: "iterative", model: "iterative"}}, faultModelCases...)
	for _, mc := range cases {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			h := startHelperServer(t, mc)
			pid := h.cmd.Process.Pid
			var held net.Conn
			if mc.concurrent() {
				held = dialHelper(t, h)
				if err := echoExact(held, []byte("before the limit\n"), 64); err != nil {
					t.Fatal(err)
				}
			}
			// RLIMIT_NOFILE bounds descriptor numbers: at the lowest free
			// one, the process can open nothing more (those open above it,
			// inherited ones say, stay open).
			var orig unix.Rlimit
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &orig); err != nil {
				t.Skipf("prlimit: %v", err)
			}
			limit := uint64(lowestFreeFD(t, pid))
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: orig.Max}, nil); err != nil {
				t.Skipf("prlimit: %v", err)
			}
			shed := 0
			for i := range 6 {
				c := dialHelper(t, h)
				err := echoExact(c, []byte(fmt.Sprintf("client %d\n", i)), 64)
				switch {
				case err == nil && i == 0 && !isEventLoop(mc):
					// A blocking accept already waiting took its descriptor
					// before the limit came down: Linux reserves it first.
				case err == nil:
					t.Fatalf("client %d served at a descriptor limit of %d", i, limit)
				case strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset"):
					shed++
				default:
					t.Fatalf("client %d: %v\nserver output:\n%s", i, err, h.out)
				}
				c.Close()
			}
			if shed == 0 {
				t.Fatalf("no connection was shed at a descriptor limit of %d\n%s", limit, h.out)
			}
			// The shed client sees its end of file before the server's log
			// line reaches us through the pipe: wait for the line.
			const saidShed = "Out of descriptors (EMFILE): refused the connection from"
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.out.String(), saidShed) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(h.out.String(), saidShed) {
				t.Errorf("the server did not say it shed connections:\n%s", h.out)
			}

			// No spinning while more clients wait: not busy, not polling
			// (e2e.SpinsAnyThread: the model runs in a goroutine of the
			// helper, on any thread).
			for range 3 {
				dialHelper(t, h)
			}
			if spin, _ := e2e.SpinsAnyThread(pid, 2*time.Second); spin != "" {
				t.Errorf("at its descriptor limit the server spins: %s", spin)
			}
			if held != nil {
				if err := echoExact(held, []byte("still served\n"), 64); err != nil {
					t.Errorf("a client served before the limit: %v", err)
				}
				held.Close()
			}

			// Descriptors available again: new clients are served.
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &orig, nil); err != nil {
				t.Fatal(err)
			}
			c := dialHelper(t, h)
			if err := echoExact(c, []byte("after\n"), 64); err != nil {
				t.Fatalf("no client served with descriptors available again: %v\n%s", err, h.out)
			}
			c.Close()
			h.cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-h.done:
				h.done <- err
				if err != nil {
					t.Fatalf("helper exited with %v\n%s", err, h.out)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("helper did not stop within 10s of SIGINT\n%s", h.out)
			}
			m := regexp.MustCompile(`, refused (\d+)`).FindStringSubmatch(h.out.String())
			if m == nil {
				t.Fatalf("summary counts no refused connection:\n%s", tail(h.out.String(), 3))
			}
			if n, _ := strconv.Atoi(m[1]); n < shed {
				t.Errorf("summary counts %d refused, the clients saw %d", n, shed)
			}
		})
	}
}

func dialHelper(t *testing.T, h *helperServer) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// isEventLoop reports whether the model waits in select, poll or epoll
// (not in a blocking accept).
func isEventLoop(mc modelCase) bool {
	switch mc.model {
	case "select", "poll", "epoll":
		return true
	}
	return false
}
