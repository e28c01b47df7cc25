package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"netprog/clients"
	"netprog/servers"
)

func init() {
	register(&command{
		name:    "udp-server",
		teaches: "UDP echo: no listen, no accept, no connection; recvfrom tells who sent each datagram, sendto answers",
		watch:   "strace -f -yy -e trace=%network ./netprog udp-server",
		setup:   setupUDPServer,
	})
	register(&command{
		name:    "udp-client",
		teaches: "UDP client: sendto and recvfrom, with SO_RCVTIMEO so a lost datagram does not hang it",
		watch:   "strace -yy -e trace=%network ./netprog udp-client",
		setup:   setupUDPClient,
	})
}

func setupUDPServer(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, 5000)
	size := fs.Int("size", servers.UDPBufSize, "recvfrom buffer: the most of one datagram kept (the rest is dropped, and reported)")
	rate := fs.Int("rate", servers.UDPRate, "answer at most this many datagrams a second from one source address (0: no limit): what a spoofed flood, or a loop between two echo servers, can make this server send")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *size < 1 || *size > 1<<16 {
			return usagef("-size takes 1..65536")
		}
		if *rate < 0 {
			return usagef("-rate %d: want a value >= 0", *rate)
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		ctx, stop := interruptible()
		defer stop()
		start := time.Now()
		st, err := servers.UDP(ctx, servers.Config{Addr: addr, Log: stdout, Stdin: -1}, servers.UDPOptions{BufSize: *size, Rate: *rate})
		if st != nil {
			fmt.Fprintf(stdout, "server stopped after %v: ", time.Since(start).Round(time.Millisecond))
			st.Summary(stdout)
		}
		return err
	}
}

func setupUDPClient(fs *flag.FlagSet) func([]string) error {
	af := newAddrFlags(fs, 5000)
	timeout := secondsVar(fs, "timeout", 2*time.Second, "how long to wait for each reply (SO_RCVTIMEO)")
	prompt := fs.String("prompt", clients.UDPPrompt, "printed before each line is read")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *timeout < time.Millisecond {
			return usagef("-timeout must be at least 1ms")
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		u := clients.UDP{Prompt: *prompt, Timeout: *timeout, In: 0, Out: stdout}
		res, err := u.Run(addr)
		if err != nil {
			return err
		}
		// As ping(8): no reply at all is a failure of the peer, exit 1.
		if res.Sent > 0 && res.Received == 0 {
			what := fmt.Sprintf("any of %d datagrams", res.Sent)
			if res.Sent == 1 {
				what = "the datagram sent"
			}
			fmt.Fprintf(os.Stderr, "netprog udp-client: no reply from %s to %s\n", addr, what)
			return &exitError{1}
		}
		return nil
	}
}
