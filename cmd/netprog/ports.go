package main

import (
	"flag"

	"netprog/internal/demo"
)

// ports: the command; the demo is internal/demo's Ports.

func init() {
	register(&command{
		name:    "ports",
		teaches: "port numbers, live: the IANA ranges, this kernel's ephemeral range and privileged ports, and the port a connect gets",
		watch:   "strace -yy -e trace=%network,openat ./netprog ports",
		setup:   setupPorts,
	})
}

func setupPorts(fs *flag.FlagSet) func([]string) error {
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		return demo.Ports(stdout)
	}
}
