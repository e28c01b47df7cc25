#!/bin/sh
# Flood ping on loopback, netprog beside iputils, measured two ways, in
# interleaved runs (iputils itself shows outliers here, so one run proves
# nothing):
#
#   bench/ping.sh [NETPROG] [RUNS] [COUNT]     (as root: flood needs it)
#
# 1. As a user times it: the whole process, start-up included, of
#    `ping -q -f -c COUNT 127.0.0.1` and of the same with its dots (-f
#    without -q, written to a file, so each costs a write as on a
#    terminal). Ratio: iputils' time / netprog's (above 1: netprog is
#    faster), run by run (the two run back to back, in alternating order),
#    and the median of those RUNS ratios; also the ratio of the medians and
#    of the best times.
# 2. As ping reports itself: COUNT / the "time" of its statistics (first to
#    last request, the same measure for both), from the runs with dots; and
#    the avg of its rtt line.
# 3. With a C compiler (cc, or $CC): the floor both are measured against,
#    bench/cref/ping.c, iputils' loop and nothing else, timed the same way
#    with -q; alone, with 6 idle threads, as many more as the Go runtime runs
#    netprog's ping on (a process of several threads pays for its shared file
#    table on every system call), and with the threads and a table of its own
#    for the pinging thread (unshare(CLONE_FILES), as netprog's flood does).
set -eu
NETPROG=${1:-./netprog}
RUNS=${2:-7}
COUNT=${3:-100000}
PING=$(command -v ping || true)
if [ -z "$PING" ] || ! "$PING" -V 2>/dev/null | grep -q iputils; then
	echo "bench/ping.sh: iputils ping is not installed (apt-get install iputils-ping)" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "bench/ping.sh: flood ping needs root" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
CREF=
if command -v "$CC" >/dev/null 2>&1; then
	if "$CC" -O2 -o "$tmp/cref-ping" "$(dirname "$0")/cref/ping.c" -lpthread -lm 2>"$tmp/cc.err"; then
		CREF=$tmp/cref-ping
	else
		echo "bench/ping.sh: $CC could not build bench/cref/ping.c: the C rows are left out" >&2
		cat "$tmp/cc.err" >&2
	fi
else
	echo "bench/ping.sh: no C compiler ($CC): the C rows are left out" >&2
fi

# one NAME MODE CMD...: run a flood ping (MODE q: with -q; dots: without),
# append "wall_ms pps avg_us" to $tmp/NAME.MODE.
one() {
	name=$1 mode=$2
	shift 2
	q=
	[ "$mode" = q ] && q=-q
	t0=$(date +%s%N)
	"$@" $q -f -c "$COUNT" 127.0.0.1 >"$tmp/out" 2>&1 || { echo "$name failed:" >&2; cat "$tmp/out" >&2; exit 1; }
	t1=$(date +%s%N)
	awk -v n="$COUNT" -v wall=$(((t1 - t0) / 1000)) '
		/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i == "time") { t = $(i+1); sub("ms,?", "", t) } }
		/^rtt / { split($4, a, "/"); avg = a[2] }
		END { if (t == 0) t = 1; printf "%.1f %d %.1f\n", wall / 1000, n / (t / 1000), avg * 1000 }
	' "$tmp/out" >>"$tmp/$name.$mode"
}

# pair MODE: netprog and iputils back to back, netprog first in even runs
# and iputils first in odd ones, so that neither always runs on the heels of
# the other.
pair() {
	if [ $((i % 2)) = 0 ]; then
		one netprog "$1" "$NETPROG" ping
		one iputils "$1" "$PING"
	else
		one iputils "$1" "$PING"
		one netprog "$1" "$NETPROG" ping
	fi
}

i=0
while [ "$i" -lt "$RUNS" ]; do
	pair q
	if [ -n "$CREF" ]; then
		one cref q "$CREF"
		one cref6 q "$CREF" -t 6
		one cref6u q "$CREF" -t 6 -u
	fi
	pair dots
	i=$((i + 1))
done

# ratio MODE: iputils' wall time / netprog's, run by run (the two ran back
# to back, so a slow spell of the machine hits both), and the median of
# those ratios.
ratio() {
	paste -d' ' "$tmp/iputils.$1" "$tmp/netprog.$1" | awk '{ print $1 / $4 }' | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# median FILE COLUMN; best FILE COLUMN (the smallest)
median() {
	sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}
best() {
	sort -n -k"$2" "$1" | awk -v c="$2" 'NR == 1 { print $c }'
}

echo "flood ping 127.0.0.1, $COUNT packets, $RUNS interleaved runs of each, load average $(cut -d' ' -f1 /proc/loadavg)"
echo "  whole process (wall time, start-up included; median and best):"
for mode in q dots; do
	label="ping -q -f"
	[ "$mode" = dots ] && label="ping -f (dots)"
	np=$(median "$tmp/netprog.$mode" 1) ip=$(median "$tmp/iputils.$mode" 1)
	npb=$(best "$tmp/netprog.$mode" 1) ipb=$(best "$tmp/iputils.$mode" 1)
	awk -v l="$label" -v a="$np" -v b="$ip" -v c="$npb" -v d="$ipb" -v r="$(ratio $mode)" 'BEGIN {
		printf "    %-15s netprog %7.1f ms (best %7.1f)  iputils %7.1f ms (best %7.1f)  %.3fx iputils (run by run; medians %.3fx, best %.3fx; aim: >= 1)\n", l, a, c, b, d, r, b / a, d / c
	}'
done
if [ -n "$CREF" ]; then
	c=$(median "$tmp/cref.q" 1) c6=$(median "$tmp/cref6.q" 1) c6u=$(median "$tmp/cref6u.q" 1)
	np=$(median "$tmp/netprog.q" 1) ip=$(median "$tmp/iputils.q" 1)
	awk -v c="$c" -v c6="$c6" -v c6u="$c6u" -v np="$np" -v ip="$ip" 'BEGIN {
		printf "    C floor, -q     alone     %7.1f ms  with 6 idle threads %7.1f ms (%+.1f ms: a shared file table)\n", c, c6, c6 - c
		printf "                    with 6 idle threads and a table of its own %7.1f ms (%+.1f ms)\n", c6u, c6u - c
		printf "                    netprog takes %.3fx the floor'"'"'s time, iputils %.3fx\n", np / c, ip / c
	}'
fi
np_pps=$(median "$tmp/netprog.dots" 2)
ip_pps=$(median "$tmp/iputils.dots" 2)
np_avg=$(median "$tmp/netprog.dots" 3)
ip_avg=$(median "$tmp/iputils.dots" 3)
echo "  as ping reports it (COUNT / its \"time\", runs with dots; median):"
printf "    %-8s %10s pps   avg rtt %6s us\n" netprog "$np_pps" "$np_avg" iputils "$ip_pps" "$ip_avg"
awk -v a="$np_pps" -v b="$ip_pps" -v x="$np_avg" -v y="$ip_avg" 'BEGIN {
	printf "    rate %.2fx iputils (aim: >= 1); avg rtt %+.1f us (aim: within 5)\n", a / b, x - y
}'
for f in netprog.q iputils.q netprog.dots iputils.dots cref.q cref6.q cref6u.q; do
	[ -f "$tmp/$f" ] || continue
	echo "  runs $f (wall_ms pps avg_us): $(tr '\n' ';' <"$tmp/$f")"
done
