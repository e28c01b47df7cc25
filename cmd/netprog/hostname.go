package main

import (
	"flag"
	"fmt"

	"netprog/sys"
)

func init() {
	register(&command{
		name:    "hostname",
		teaches: "the host name, from uname(2) (the course's socket.gethostname())",
		watch:   "strace -e trace=uname ./netprog hostname",
		setup:   setupHostname,
	})
}

func setupHostname(fs *flag.FlagSet) func([]string) error {
	all := fs.Bool("a", false, "print all uname(2) fields, as uname -a does")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		u, err := sys.Uname()
		if err != nil {
			return err
		}
		if *all {
			fmt.Fprintln(stdout, u.Sysname, u.Nodename, u.Release, u.Version, u.Machine)
			return nil
		}
		fmt.Fprintln(stdout, u.Nodename)
		return nil
	}
}
