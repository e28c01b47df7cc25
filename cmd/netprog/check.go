package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netprog/clients/probe"
	"netprog/servers"
	"netprog/sys"
)

// netprog check PROGRAM ADDRESS [-- COMMAND...]: grade any server (a
// student's Python program, a C server from Stevens, a netprog model)
// against the protocol of one of netprog's programs and the classic
// pitfalls. The probes are package clients/probe; this is the command:
// its arguments, the server it may start, and the report card.

func init() {
	register(&command{
		name:    "check",
		teaches: "grade any server against a program's protocol and the classic pitfalls: framing, quit, end of file, many clients, slow readers, resets, leaks, restart",
		more: wrap("PROGRAM is the netprog program whose protocol to expect: "+strings.Join(checkProgramNames(), ", ")+
			" (-prefix and -quit change an echo server's). ADDRESS is host:port.", helpWidth, 0) + "\n\n" +
			wrap("With -- COMMAND, check starts the server itself, in a process group of its own with its input a pipe kept open, "+
				"puts a free port where the command and ADDRESS say {port}, watches it in /proc, and stops it at the end:", helpWidth, 0) + "\n" +
			"  netprog check echo-server 127.0.0.1:{port} -- python3 -u server.py {port}\n" +
			wrap("With -pid PID it watches a server already running. Without either, the probes that need /proc "+
				"(CPU, descriptors, threads, children, memory) measure less, and restart reports SKIP.", helpWidth, 0) + "\n\n" +
			"Probes, in the order they run (the protocols they apply to):\n" + checkProbeHelp() + "\n" +
			wrap("Exit status: 0 no finding, 1 findings, 2 a usage error or no server at ADDRESS.", helpWidth, 0),
		args:  "PROGRAM ADDRESS [-- COMMAND...]",
		watch: "strace -f -e trace=network,poll ./netprog check echo-server 127.0.0.1:5090",
		setup: setupCheck,
	})
}

// checkProtocols are the protocols check knows, by program: the echo
// servers' as their presets define them (prefix, quit rule), then the
// others'.
func checkProtocols() map[string]probe.Protocol {
	m := map[string]probe.Protocol{}
	for _, p := range presets {
		m[p.name] = probe.Protocol{Kind: probe.Echo, Prefix: p.proto.Prefix, Quit: p.proto.Quit}
	}
	m["greet-server"] = probe.Protocol{Kind: probe.Greet, Greeting: servers.Greeting}
	m["udp-server"] = probe.Protocol{Kind: probe.UDP}
	m["chat-server"] = probe.Protocol{Kind: probe.Chat, Quit: true}
	return m
}

// checkProgramNames lists them in the course's order.
func checkProgramNames() []string {
	m := checkProtocols()
	var names []string
	for _, n := range courseOrder {
		if _, ok := m[n]; ok {
			names = append(names, n)
		}
	}
	for n := range m {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// checkProbeHelp is the probe list for netprog help check: name, what
// it does, when it passes.
func checkProbeHelp() string {
	var b strings.Builder
	for _, p := range probe.Probes() {
		fmt.Fprintf(&b, "  %s (%s)\n      %s\n      %s\n", p.Name, p.KindsString(),
			wrap(p.Does, helpWidth-6, 6), wrap("PASS: "+p.Rule, helpWidth-6, 6))
	}
	return b.String()
}

// checkArgs are check's arguments once read.
type checkArgs struct {
	program string
	proto   probe.Protocol
	addr    sys.Addr
	command []string // after --
	only    []string
}

func setupCheck(fs *flag.FlagSet) func([]string) error {
	pid := fs.Int("pid", 0, "the server's process id: watch it in /proc (CPU, descriptors, threads, children, zombies, memory)")
	asJSON := fs.Bool("json", false, "print the results as JSON, for scripts")
	prefix := fs.String("prefix", "", "the echo servers' reply prefix, instead of PROGRAM's")
	quit := fs.Bool("quit", false, "whether q ends an echo conversation, instead of PROGRAM's rule (-quit=false: q is a message)")
	only := fs.String("probes", "", "run only these probes, comma-separated (and reply, which finds the server)")
	return func(args []string) error {
		a, err := parseCheckArgs(fs, args)
		if err != nil {
			return err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["prefix"] || set["quit"] {
			if a.proto.Kind != probe.Echo {
				return usagef("-prefix and -quit are for the echo servers, not %s", a.program)
			}
			if set["prefix"] {
				a.proto.Prefix = *prefix
			}
			if set["quit"] {
				a.proto.Quit = *quit
			}
		}
		if *only != "" {
			for _, n := range strings.Split(*only, ",") {
				if _, ok := probe.Lookup(n); !ok {
					return usagef("-probes: no probe %q (probes: %s)", n, strings.Join(probe.Names(), ", "))
				}
				a.only = append(a.only, n)
			}
		}
		if *pid < 0 {
			return usagef("-pid %d: want a process id", *pid)
		}
		if *pid > 0 && a.command != nil {
			return usagef("-pid and -- COMMAND exclude each other: check watches the server it starts")
		}
		t := probe.Target{Addr: a.addr, Proto: a.proto, Pid: *pid}
		if *pid > 0 {
			server, err := checkPid(*pid, a)
			if err != nil {
				return err
			}
			t.Pid = server
		}
		return runCheck(t, a, *asJSON)
	}
}

// parseCheckArgs reads PROGRAM ADDRESS, with flags before, between and
// after them, and the command after "--".
func parseCheckArgs(fs *flag.FlagSet, args []string) (checkArgs, error) {
	var a checkArgs
	if i := slices.Index(args, "--"); i >= 0 {
		a.command = args[i+1:]
		args = args[:i]
		if len(a.command) == 0 {
			return a, usagef("nothing after --: want the command that runs the server")
		}
	}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return a, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	protos := checkProtocols()
	known := func(name string) bool { _, ok := protos[name]; return ok }
	switch {
	case len(pos) == 0:
		return a, usagef("missing PROGRAM and ADDRESS (programs: %s)", strings.Join(checkProgramNames(), ", "))
	case !known(pos[0]):
		return a, usagef("unexpected argument %q: PROGRAM is one of %s", pos[0], strings.Join(checkProgramNames(), ", "))
	case len(pos) == 1:
		return a, usagef("missing ADDRESS after %s (host:port)", pos[0])
	case len(pos) > 2:
		return a, usagef("unexpected argument %q", pos[2])
	}
	a.program, a.proto = pos[0], protos[pos[0]]
	s := pos[1]
	templated := strings.Contains(s, "{port}")
	if templated {
		if a.command == nil {
			return a, usagef("address %q: {port} is for -- COMMAND, where check picks the port", s)
		}
		s = strings.ReplaceAll(s, "{port}", "0")
	}
	addr, err := sys.ResolveAddr(s, sys.AnyFamily)
	if err != nil {
		return a, usageIfAddrError(err)
	}
	if addr.Family == unix.AF_UNIX && a.proto.Kind == probe.UDP {
		return a, usagef("address %q: udp-server is checked over UDP, not a unix socket", pos[1])
	}
	if addr.Family != unix.AF_UNIX && addr.Port == 0 {
		if a.command == nil {
			return a, usagef("address %q: want a port (host:port)", pos[1])
		}
		if !slices.ContainsFunc(a.command, func(s string) bool { return strings.Contains(s, "{port}") }) {
			return a, usagef("address %q has no port and the command no {port}: check cannot know where the server listens", pos[1])
		}
	}
	a.addr = addr
	return a, nil
}

// checkPid checks that -pid names a process, and one that listens on
// ADDRESS's port, and returns the server: the process of its tree that
// holds the listening socket (-pid may name a wrapper: a shell, pyenv's
// python3, which runs the real one as its child).
func checkPid(pid int, a checkArgs) (int, error) {
	if probe.State(pid) == 0 {
		return 0, usagef("-pid %d: no such process", pid)
	}
	if a.addr.Family == unix.AF_UNIX {
		return pid, nil
	}
	server := probe.ServerPid(pid, a.proto.Kind == probe.UDP, a.addr.Port)
	if server == 0 {
		return 0, usagef("-pid %d: no process of it listens on port %d", pid, a.addr.Port)
	}
	return server, nil
}

// runCheck starts the server if asked, runs the probes, prints the card,
// stops the server.
func runCheck(t probe.Target, a checkArgs, asJSON bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var l *probe.Launcher
	if a.command != nil {
		l = &probe.Launcher{Args: a.command, Addr: a.addr, UDP: a.proto.Kind == probe.UDP}
		if err := l.Start(); err != nil {
			return fmt.Errorf("starting the server: %w", err)
		}
		defer l.Stop()
		t.Addr, t.Pid, t.Launcher = l.Addr, l.ServerPid(), l
	}
	card := newCheckCard(a, t, l)
	if l != nil {
		card.server = fmt.Sprintf("pid %d: %s", l.Pid(), strings.Join(l.Command(), " "))
	}
	s := &probe.Session{T: t, Progress: card.progress}
	type outcome struct {
		results []probe.Result
		err     error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		r, err := s.Run(a.only)
		done <- outcome{r, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		card.progressDone()
		if l != nil {
			l.Stop()
		}
		fmt.Fprintln(os.Stderr, "netprog check: interrupted")
		return &exitError{130}
	}
	card.progressDone()
	if errors.Is(o.err, probe.ErrNoServer) {
		return fmt.Errorf("%v", o.err)
	}
	card.results, card.elapsed = o.results, time.Since(start)
	if asJSON {
		if err := card.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		card.writeText(stdout)
	}
	if card.count(probe.Finding) > 0 {
		return &exitError{1}
	}
	return nil
}
