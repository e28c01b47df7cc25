// Package probe grades a server against the course's protocols and the
// classic pitfalls: `netprog check`. Each probe is short, bounded by a
// deadline, and named; it plays a client a lab produces (two messages in
// one segment, a line longer than one recv, q with CR LF, a client that
// never reads, one that resets mid-reply, one that leaves without q) and
// reports PASS, FINDING or SKIP with the fact it measured.
//
// The peers the probes are made of (Conn, Flood, SlowReader,
// ResetMidReply, MeasureConcurrency, EndOfFile, Converse) are also the
// clients of the reliability suite's fault tests (cmd/netprog
// TestFaults): one code for the tool and the tests.
//
// Every wait is a poll(2) bounded by a deadline, so no server, however it
// behaves, can hang a probe. A deadline is a hang bound, never the
// verdict on a server that works: a finding rests on what the server did
// (two lines answered as one reply; the slow client answered 20 times
// while the others waited; CPU time used while it had nothing to do;
// bytes sent after our end of file), not on how fast it was.
//
// Like the clients, the probes make every socket call through package
// sys, so `netprog --trace check ...` shows them. With the server's pid
// (-pid, or `-- COMMAND`, which check starts and stops itself) they watch
// it in /proc: CPU, descriptors, threads, children, zombies, memory.
package probe
