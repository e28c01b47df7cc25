package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"
	"time"

	"netprog/internal/demo"
)

// The process demos, fork-demo and zombie-demo: the commands; the demos,
// with their forked children, are internal/demo's Fork and Zombie. Both
// run in netprog's main goroutine, which init locks to the process's first
// thread: zombie-demo's sleep relies on it.

func init() {
	register(&command{
		name:    "fork-demo",
		teaches: "fork(2) returns twice: parent and child run on, each with its own pid and its own copy of memory",
		watch:   "strace -f -e trace=clone3,getpid,write,clock_nanosleep,wait4,exit_group ./netprog fork-demo -sleep 1",
		setup:   setupForkDemo,
	})
	register(&command{
		name:    "zombie-demo",
		teaches: "a child that has ended is a zombie (state Z) until its parent reaps it with wait4(2)",
		watch: "./netprog zombie-demo &   then: ps -o pid,ppid,stat,cmd --ppid $(pgrep -o -x netprog)\n" +
			"strace -f -e trace=clone3,exit_group,waitid,wait4,clock_nanosleep ./netprog zombie-demo -sleep 2 -reap",
		setup: setupZombieDemo,
	})
}

func setupForkDemo(fs *flag.FlagSet) func([]string) error {
	sleep := secondsVar(fs, "sleep", 5*time.Second, "how long both processes sleep before saying hello together")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		return demo.Fork(stdout, demo.ForkOptions{Sleep: *sleep})
	}
}

func setupZombieDemo(fs *flag.FlagSet) func([]string) error {
	sleep := secondsVar(fs, "sleep", 50*time.Second, "how long the parent sleeps without reaping (Ctrl-C ends the sleep)")
	reap := fs.Bool("reap", false, "after the sleep, reap the child with wait4(2) and show that /proc/PID is gone.\n"+
		"Without it the parent exits with the zombie unreaped: the kernel re-parents it to the nearest\n"+
		"subreaper (prctl PR_SET_CHILD_SUBREAPER) or to init (pid 1), which reaps it")
	return func(args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return demo.Zombie(ctx, stdout, demo.ZombieOptions{Sleep: *sleep, Reap: *reap})
	}
}
