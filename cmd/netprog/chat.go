package main

import (
	"flag"

	"netprog/clients"
	"netprog/internal/protocol"
	"netprog/servers"
)

func init() {
	register(&command{
		name:    "chat-server",
		teaches: "peer-to-peer chat, server side: take turns typing over one TCP connection (-duplex: type freely, poll(2) on stdin and the socket)",
		watch:   "strace -f -yy -e trace=%network,ppoll,read,write ./netprog chat-server",
		setup:   func(fs *flag.FlagSet) func([]string) error { return setupChat(fs, true) },
	})
	register(&command{
		name:    "chat-client",
		teaches: "peer-to-peer chat, client side: the server speaks first; q or Q from either side ends it",
		watch:   "strace -f -yy -e trace=%network,ppoll,read,write ./netprog chat-client",
		setup:   func(fs *flag.FlagSet) func([]string) error { return setupChat(fs, false) },
	})
}

func setupChat(fs *flag.FlagSet, server bool) func([]string) error {
	af := newAddrFlags(fs, 5000)
	duplex := fs.Bool("duplex", false, "both sides type whenever they like (poll(2) on stdin and the socket) instead of taking turns")
	course := fs.Bool("course", false, "frame as the course's programs do: send each line exactly as typed, no newline, and take one read as one message")
	var backlog *int
	if server {
		backlog = fs.Int("backlog", 0, "listen(2) backlog (0: SOMAXCONN); clients past the one chatting wait in this queue")
	}
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		addr, err := af.resolve()
		if err != nil {
			return err
		}
		chat := &protocol.Chat{In: 0, Out: stdout, Duplex: *duplex, Course: *course}
		if !server {
			_, err := clients.Chat(addr, chat, notesTo("chat-client"))
			return err
		}
		if *backlog < 0 {
			return usagef("-backlog takes a value >= 0")
		}
		ctx, stop := interruptible()
		defer stop()
		return servers.ChatServer(ctx, servers.Config{Addr: addr, Backlog: *backlog, Log: stdout, Stdin: 0}, chat)
	}
}
