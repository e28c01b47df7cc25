package probe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netprog/sys"
)

// Launcher runs the server under test for `netprog check ... -- COMMAND`:
// it puts a free port where the command says {port}, starts the command
// in a process group of its own with a standard input that stays open (the
// notes' select server stops at its end; a chat server's user types on
// it), waits until the server listens on the port (seen in /proc/net, not
// by connecting: a connection the notes' iterative server does not expect
// makes it spin), and stops the whole group (SIGTERM, then SIGKILL) at the
// end. It can stop and start the server again on the same port (the
// restart probe) or on a new one (after the server died).
type Launcher struct {
	Args []string // the command, {port} not yet replaced
	Addr sys.Addr // where it is checked; Port is the one substituted
	UDP  bool     // the server is a UDP one: wait for a bound UDP socket

	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *capped
	done   chan struct{}
	status string // how it ended, once it has
	starts int
}

// StartWait bounds how long a server may take to listen once started.
const StartWait = 10 * time.Second

// FreePort asks the kernel for a port nobody uses on a's address (bind to
// port 0, read it back with getsockname, close): free a moment ago.
func FreePort(a sys.Addr, udp bool) (int, error) {
	typ := unix.SOCK_STREAM
	if udp {
		typ = unix.SOCK_DGRAM
	}
	fd, err := sys.SocketFor(a, typ)
	if err != nil {
		return 0, err
	}
	defer sys.Close(fd)
	b := a
	b.Port = 0
	if err := sys.Bind(fd, b); err != nil {
		return 0, err
	}
	got, err := sys.Getsockname(fd)
	return got.Port, err
}

// Start starts the server and waits until it listens. With port 0 a free
// port is found (and another one tried, up to three times, when the
// server fails because someone took it meanwhile).
func (l *Launcher) Start() error {
	fixed := l.Addr.Port != 0 || l.Addr.Family == unix.AF_UNIX
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if !fixed {
			p, perr := FreePort(l.Addr, l.UDP)
			if perr != nil {
				return perr
			}
			l.Addr.Port = p
		}
		if err = l.start(); err == nil {
			return nil
		}
		if fixed || !strings.Contains(strings.ToLower(l.Output()), "in use") {
			return err
		}
		l.Addr.Port = 0
	}
	return err
}

// Command is the command line as run, {port} replaced.
func (l *Launcher) Command() []string {
	args := make([]string, len(l.Args))
	for i, a := range l.Args {
		args[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(l.Addr.Port))
	}
	return args
}

// start runs the command once on l.Addr.Port and waits until it listens
// there, exits, or StartWait passes.
func (l *Launcher) start() error {
	args := l.Command()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &capped{}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", args[0], err)
	}
	done := make(chan struct{})
	l.mu.Lock()
	l.cmd, l.stdin, l.out, l.done, l.status = cmd, stdin, out, done, ""
	l.starts++
	l.mu.Unlock()
	go func() {
		err := cmd.Wait()
		l.mu.Lock()
		l.status = exitDescription(cmd.ProcessState, err)
		l.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(StartWait)
	for {
		if l.listening() {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("the server exited before it listened on port %d (%s)%s", l.Addr.Port, l.Status(), l.lastWords())
		default:
		}
		if time.Now().After(deadline) {
			l.Stop()
			return fmt.Errorf("the server did not listen on port %d within %v%s", l.Addr.Port, StartWait, l.lastWords())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening reports whether a process of the server's tree holds a socket
// listening (or, for UDP, bound) on the port; for a unix: address,
// whether the socket file is there.
func (l *Launcher) listening() bool {
	if l.Addr.Family == unix.AF_UNIX {
		fi, err := os.Stat(l.Addr.Path)
		return err == nil && fi.Mode()&os.ModeSocket != 0
	}
	return Listens(l.Pid(), l.UDP, l.Addr.Port)
}

// Pid is the started process's id; 0 before Start.
func (l *Launcher) Pid() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd == nil || l.cmd.Process == nil {
		return 0
	}
	return l.cmd.Process.Pid
}

// ServerPid is the process of the started command's tree that listens
// on the port: the command itself, or the server it runs as a child (a
// shell, pyenv's python3 shim); the command's pid when none is found (a
// unix socket).
func (l *Launcher) ServerPid() int {
	pid := l.Pid()
	if l.Addr.Family == unix.AF_UNIX {
		return pid
	}
	if s := ServerPid(pid, l.UDP, l.Addr.Port); s != 0 {
		return s
	}
	return pid
}

// Starts counts how many times the server was started.
func (l *Launcher) Starts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.starts
}

// Exited reports whether the server has ended.
func (l *Launcher) Exited() bool {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// WaitExit waits until the server has ended, or the deadline.
func (l *Launcher) WaitExit(deadline time.Time) bool {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}

// Status says how the server ended ("exit status 1", "killed by signal
// 15"); "" while it runs.
func (l *Launcher) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Output is what the server printed (the first 256 KiB, then its last
// 64 KiB), stdout and stderr together.
func (l *Launcher) Output() string {
	l.mu.Lock()
	out := l.out
	l.mu.Unlock()
	if out == nil {
		return ""
	}
	return out.String()
}

// LastLine is the last non-empty line the server printed: a Python
// traceback's last line says what killed it.
func (l *Launcher) LastLine() string {
	lines := strings.Split(strings.TrimRight(l.Output(), "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			if len(s) > 120 {
				s = s[:117] + "..."
			}
			return s
		}
	}
	return ""
}

func (l *Launcher) lastWords() string {
	if s := l.LastLine(); s != "" {
		return ": " + strconv.Quote(s)
	}
	return ""
}

// Type writes a line on the server's standard input, as its user would
// type it (a chat server's turn).
func (l *Launcher) Type(line string) error {
	l.mu.Lock()
	w := l.stdin
	l.mu.Unlock()
	if w == nil {
		return errors.New("the server has no input")
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// Stop ends the server's whole process group: SIGTERM, and SIGKILL if it
// is still there 5 seconds later. It returns how the server ended.
func (l *Launcher) Stop() string {
	l.mu.Lock()
	cmd, done, stdin := l.cmd, l.done, l.stdin
	l.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return ""
	}
	pgid := cmd.Process.Pid
	unix.Kill(-pgid, unix.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		unix.Kill(-pgid, unix.SIGKILL)
		<-done
	}
	// Children that left the group, or outlived the leader, go too.
	unix.Kill(-pgid, unix.SIGKILL)
	stdin.Close()
	return l.Status()
}

// exitDescription says how a process ended, as a shell would.
func exitDescription(ps *os.ProcessState, err error) string {
	if ps == nil {
		if err != nil {
			return err.Error()
		}
		return "ended"
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ps.ExitCode())
}

// capped keeps the first 256 KiB a process prints and its last 64 KiB: the
// notes' servers print a line per spin on end of file, for ever.
type capped struct {
	mu   sync.Mutex
	head []byte
	tail []byte
	cut  int64
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := 256<<10 - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p2 := p[k:]
		c.tail = append(c.tail, p2...)
	} else {
		c.tail = append(c.tail, p...)
	}
	// Trimmed to its last 64 KiB only past 128 KiB: a spinning server
	// writes in small pieces, and copying the tail each time would cost
	// more than the server's printing.
	if len(c.tail) > 128<<10 {
		over := len(c.tail) - 64<<10
		c.cut += int64(over)
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut > 0 {
		return string(c.head) + fmt.Sprintf("\n[... %d bytes ...]\n", c.cut) + string(c.tail)
	}
	return string(c.head) + string(c.tail)
}
