package main

import (
	"flag"
	"time"

	"netprog/internal/demo"
)

// thread-demo: the command; the demo is internal/demo's Thread.

func init() {
	register(&command{
		name:    "thread-demo",
		teaches: "threads share one address space: two named kernel threads, their ids (gettid), a join",
		watch: "strace -f -e trace=clone,clone3,gettid,prctl,clock_nanosleep,exit ./netprog thread-demo\n" +
			"./netprog thread-demo -sleep 30 &   then: ps -L -o pid,lwp,comm -p $!",
		setup: setupThreadDemo,
	})
}

func setupThreadDemo(fs *flag.FlagSet) func([]string) error {
	sleep := secondsVar(fs, "sleep", time.Second, "how long both threads sleep before saying hello together")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		return demo.Thread(stdout, demo.ThreadOptions{Sleep: *sleep})
	}
}
