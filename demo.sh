#!/usr/bin/env bash
# The netprog tour, run by `make demo`: each program on loopback, its server
# started with -port 0, its client driven with scripted input; the tour shows
# what each printed and the --trace lines (one per system call, as strace
# prints them) of one exchange. It takes well under a minute.
#
#   ./demo.sh [BINARY [TOUR...]]     e.g. ./demo.sh ./netprog udp chat
#
# Adding a program: write a tour_NAME function below with the helpers
# (start, client, show, stop) and put NAME in TOURS. A tour of a program
# from another part of the course first checks that `netprog help` lists it
# (see tour_ping), so the tour runs on whatever this binary has.
set -euo pipefail

BIN=${1:-./netprog}
[[ $# -gt 0 ]] && shift
if [[ ! -x $BIN ]]; then
	go build -o "$BIN" ./cmd/netprog
fi
BIN=$(realpath "$BIN")

TOURS=(greet echo models udp chat hostname ports errors fork zombie thread nonblock ping)
[[ $# -gt 0 ]] && TOURS=("$@")

WORK=$(mktemp -d)
PIDS=() # servers this script started, stopped on the way out

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# A standard input that never ends, for servers that watch theirs (the
# select server stops at end of input): a FIFO this script holds open.
mkfifo "$WORK/stdin"
exec 9<>"$WORK/stdin"

if [[ -t 1 ]]; then B=$'\e[1m' N=$'\e[0m'; else B= N=; fi

title() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
indent() { sed 's/^/      /'; }

# show LABEL FILE: a labelled, indented file (nothing if it is empty).
show() {
	if [[ -s $2 ]]; then
		echo "    $1"
		indent <"$2"
	fi
}

# launch NAME INPUT ARGS...: run `netprog ARGS -host 127.0.0.1 -port 0` in
# the background with INPUT as its standard input, its output in
# $WORK/NAME.log and its standard error in $WORK/NAME.trace; wait for its
# "listening on ADDR" line. Sets SERVER (its pid) and ADDR; fails if the
# server never listens.
launch() {
	local name=$1 input=$2
	shift 2
	"$BIN" "$@" -host 127.0.0.1 -port 0 >"$WORK/$name.log" 2>"$WORK/$name.trace" <"$input" &
	SERVER=$!
	PIDS+=("$SERVER")
	ADDR=
	for _ in $(seq 250); do
		ADDR=$(sed -n 's/^listening on //p' "$WORK/$name.log")
		[[ -n $ADDR ]] && return 0
		kill -0 "$SERVER" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# start NAME INPUT ARGS...: launch a server with --trace and say so.
start() {
	local name=$1 input=$2
	shift 2
	if launch "$name" "$input" --trace "$@"; then
		echo "    \$ netprog --trace $* -port 0      # listening on $ADDR"
		return 0
	fi
	echo "    \$ netprog --trace $* -port 0      # did not start:"
	tail -3 "$WORK/$name.trace" | indent
	return 1
}

# stop: SIGINT to the last server started, which closes up and prints its
# summary; wait for it.
stop() {
	kill -INT "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
}

# client NAME INPUT ARGS...: run `netprog --trace ARGS` with INPUT (printf
# escapes allowed) as its standard input; show its exit status, its output,
# and its standard error: the trace, and the error line if it failed.
client() {
	local name=$1 input=$2 status=0
	shift 2
	if [[ -n $input ]]; then
		echo "    \$ printf '$input' | netprog --trace $*"
	else
		echo "    \$ netprog --trace $*"
	fi
	printf '%b' "$input" | "$BIN" --trace "$@" >"$WORK/$name.out" 2>"$WORK/$name.ctrace" || status=$?
	echo "    exit status $status"
	show "output:" "$WORK/$name.out"
	show "standard error (--trace):" "$WORK/$name.ctrace"
}

tour_greet() {
	title "greet: socket, bind, listen, accept; send a greeting, close"
	start greet /dev/null greet-server
	client greet "" greet-client -addr "$ADDR"
	stop
	show "server's log:" "$WORK/greet.log"
	sed -n '1,/^close(/p' "$WORK/greet.trace" >"$WORK/greet.exchange"
	show "server's --trace, to the close of the client's socket:" "$WORK/greet.exchange"
}

tour_echo() {
	title "echo: the iterative echo server and its client; q quits"
	start echo "$WORK/stdin" echo-server
	client echo 'hello\nworld\nq\n' echo-client -addr "$ADDR"
	stop
	show "server's log:" "$WORK/echo.log"
}

# Every server design of echo-server -model, each answering one client.
tour_models() {
	title "models: the same echo service, one design per model (echo-server -model M)"
	local models model reply
	models=$("$BIN" echo-server -h | sed -n 's/.*server design: \(.*\) (default.*/\1/p' | tr -d ,)
	for model in $models; do
		if ! launch model "$WORK/stdin" echo-server -model "$model" -q; then
			printf '    %-10s not available here: %s\n' "$model" "$(tail -1 "$WORK/model.trace")"
			continue
		fi
		reply=$(printf 'hi\nq\n' | "$BIN" echo-client -prompt '' -addr "$ADDR" | sed -n 2p)
		printf '    %-10s %-16s replied: %s\n' "$model" "$ADDR" "$reply"
		stop
	done
}

tour_udp() {
	title "udp: recvfrom/sendto, no connection; a lost datagram times out"
	start udp "$WORK/stdin" udp-server
	client udp 'hello\nq\n' udp-client -addr "$ADDR"
	stop
	show "server's log:" "$WORK/udp.log"
	echo "    now the server is gone; the datagram is lost and the client says so:"
	client udploss 'anyone?\nq\n' udp-client -addr "$ADDR" -timeout 300ms
}

tour_chat() {
	title "chat: take turns over one connection; q from either side ends it"
	printf 'hi, this is the server\nq\n' >"$WORK/chat.in"
	start chat "$WORK/chat.in" chat-server
	client chat 'hello from the client\n' chat-client -addr "$ADDR"
	stop
	show "server's side:" "$WORK/chat.log"
}

tour_hostname() {
	title "hostname: uname(2)"
	client hostname "" hostname
}

tour_ports() {
	title "ports: the ranges, this kernel's, and the port a connect gets"
	client ports "" ports
}

tour_errors() {
	title "errors: one line each, and the exit status"
	start busy "$WORK/stdin" echo-server
	client inuse "" echo-server -addr "$ADDR"
	stop
	client refused "" echo-client -addr "$ADDR"
	client usage "" echo-client -port 70000
}

# has CMD: this netprog has the command CMD.
has() { "$BIN" help | grep -q "^  $1 "; }

tour_fork() {
	has fork-demo || return 0
	title "fork: one call, two returns; each process its own copy of memory"
	client fork "" fork-demo -sleep 200ms
}

tour_zombie() {
	has zombie-demo || return 0
	title "zombie: an ended child stays (state Z) until wait4 reaps it"
	client zombie "" zombie-demo -sleep 300ms -reap
}

tour_thread() {
	has thread-demo || return 0
	title "threads: one address space; the counter the thread changes, main sees"
	client thread "" thread-demo -sleep 200ms
}

tour_nonblock() {
	has nonblock-demo || return 0
	title "nonblocking: a blocking recv waits, a nonblocking one says EAGAIN, poll waits"
	client nonblock "" nonblock-demo -delay 300ms -rcvtimeo 150ms
}

tour_ping() {
	has ping || return 0
	title "ping: ICMP echo to 127.0.0.1"
	client ping "" ping -c 2 -i 0.2 127.0.0.1
}

for t in "${TOURS[@]}"; do
	"tour_$t"
done
echo
echo "More: netprog help lists every program; netprog help CMD shows how to watch it with strace."
