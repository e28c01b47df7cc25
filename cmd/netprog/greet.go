package main

import (
	"flag"

	"netprog/clients"
	"netprog/servers"
)

func init() {
	register(&command{
		name:    "greet-server",
		teaches: "the first server: socket, bind, listen, accept; send a greeting and close",
		watch:   "strace -f -yy -e trace=%network,write,close ./netprog greet-server\n(then: telnet localhost 8090, nc localhost 8090, or ./netprog greet-client)",
		setup:   setupGreetServer,
	})
	register(&command{
		name:    "greet-client",
		teaches: "the first client: socket, connect, one recv of the greeting",
		watch:   "strace -yy -e trace=%network,read,write ./netprog greet-client",
		setup:   setupGreetClient,
	})
}

func setupGreetServer(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, 8090)
	backlog := fs.Int("backlog", 0, "listen(2) backlog (0: SOMAXCONN)")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *backlog < 0 {
			return usagef("-backlog takes a value >= 0")
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		return serve(servers.Greet, servers.Config{Addr: addr, Backlog: *backlog, Log: stdout, Stdin: -1})
	}
}

func setupGreetClient(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, 8090)
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		return clientExit("greet-client", clients.Greet(addr, stdout))
	}
}
