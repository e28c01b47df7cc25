#!/bin/sh
# Flood ping on loopback, netprog beside iputils: packets per second and
# average round trip, the median of interleaved runs (iputils itself shows
# outliers here, so one run proves nothing).
#
#   bench/ping.sh [NETPROG] [RUNS] [COUNT]     (as root: flood needs it)
#
# Rate is COUNT / the "time" of ping's statistics (first to last request,
# the same measure for both); avg is the avg of its rtt line. Output is
# redirected to a file, so the dots cost a write each as on a terminal.
set -eu
NETPROG=${1:-./netprog}
RUNS=${2:-5}
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

# one NAME CMD...: run a flood ping, append "pps avg_us" to $tmp/NAME.
one() {
	name=$1
	shift
	"$@" -f -c "$COUNT" 127.0.0.1 >"$tmp/out" 2>&1 || { echo "$name failed:" >&2; cat "$tmp/out" >&2; exit 1; }
	awk -v n="$COUNT" '
		/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i == "time") { t = $(i+1); sub("ms,?", "", t) } }
		/^rtt / { split($4, a, "/"); avg = a[2] }
		END { if (t == 0) t = 1; printf "%d %.1f\n", n / (t / 1000), avg * 1000 }
	' "$tmp/out" >>"$tmp/$name"
}

i=0
while [ "$i" -lt "$RUNS" ]; do
	one netprog "$NETPROG" ping
	one iputils "$PING"
	i=$((i + 1))
done

# median FILE COLUMN
median() {
	sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

np_pps=$(median "$tmp/netprog" 1)
ip_pps=$(median "$tmp/iputils" 1)
np_avg=$(median "$tmp/netprog" 2)
ip_avg=$(median "$tmp/iputils" 2)
echo "flood ping 127.0.0.1, $COUNT packets, median of $RUNS interleaved runs"
printf "  %-8s %10s pps   avg rtt %6s us\n" netprog "$np_pps" "$np_avg" iputils "$ip_pps" "$ip_avg"
awk -v a="$np_pps" -v b="$ip_pps" -v x="$np_avg" -v y="$ip_avg" 'BEGIN {
	printf "  rate %.2fx iputils (aim: >= 1); avg rtt %+.1f us (aim: within 5)\n", a / b, x - y
}'
echo "  runs (pps avg_us): netprog: $(tr '\n' ';' <"$tmp/netprog") iputils: $(tr '\n' ';' <"$tmp/iputils")"
