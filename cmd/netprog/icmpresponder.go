package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"netprog/raw"
)

func init() {
	register(&command{
		name:    "icmp-responder",
		teaches: "answers pings itself over a raw socket with scripted faults (delay, loss, duplicates, bad checksums) for ping to meet",
		args:    "",
		watch: "run it in a network namespace whose kernel echo is off:\n" +
			"ip netns exec B sysctl -w net.ipv4.icmp_echo_ignore_all=1\n" +
			"ip netns exec B ./netprog icmp-responder -script '2:drop 3:dup 4:delay=300ms 5:badsum'",
		setup: func(fs *flag.FlagSet) func([]string) error {
			v6 := fs.Bool("6", false, "answer ICMPv6 echo requests instead of ICMP")
			script := fs.String("script", "", "faults by sequence number: SEQ:drop, SEQ:delay=300ms, SEQ:dup[=N], SEQ:badsum, SEQ:wrongid, SEQ:trunc=N, SEQ:oldstamp (a 1970 timestamp) (items separated by spaces, faults by commas)")
			return func(args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				sc, err := raw.ParseScript(*script)
				if err != nil {
					return usagef("%v", err)
				}
				r, err := raw.NewResponder(*v6, sc)
				if err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				fmt.Fprintf(stdout, "listening on raw ICMP (%d sequence numbers scripted)\n", len(sc))
				err = r.Serve(ctx)
				switch n := r.BadChecksums; {
				case n == 1:
					fmt.Fprintln(stdout, "dropped 1 request with a bad checksum (the kernel drops them too)")
				case n > 1:
					fmt.Fprintf(stdout, "dropped %d requests with a bad checksum (the kernel drops them too)\n", n)
				}
				return err
			}
		},
	})
}
