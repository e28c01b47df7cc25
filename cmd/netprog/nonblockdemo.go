package main

import (
	"flag"
	"time"

	"netprog/internal/demo"
)

// nonblock-demo: the command; the demo is internal/demo's Nonblock.

func init() {
	register(&command{
		name:    "nonblock-demo",
		teaches: "recv on a blocking socket waits; on a nonblocking one it fails with EAGAIN at once; poll(2) waits instead",
		watch:   "strace -T -yy -e trace=%network,fcntl,poll,ppoll ./netprog nonblock-demo",
		setup:   setupNonblockDemo,
	})
}

func setupNonblockDemo(fs *flag.FlagSet) func([]string) error {
	delay := secondsVar(fs, "delay", time.Second, "how long the peer waits before it sends")
	rcvtimeo := secondsVar(fs, "rcvtimeo", 500*time.Millisecond, "the SO_RCVTIMEO of step 2")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *rcvtimeo < time.Millisecond {
			return usagef("-rcvtimeo must be at least 1ms")
		}
		return demo.Nonblock(stdout, demo.NonblockOptions{Delay: *delay, RcvTimeout: *rcvtimeo})
	}
}
