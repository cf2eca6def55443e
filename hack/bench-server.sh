#!/usr/bin/env bash
# Measures Tandem's webhook server against a do-nothing Go TLS server (test/load/nop), as
# docs/performance.md reports it.
#
# Both servers run pinned to one CPU, the load generator (test/load) to another, over
# HTTPS keep-alive on loopback, with the reference payloads of testdata/bench. For each
# payload it runs ROUNDS flat-out runs of each server, interleaved, and reports the median
# server CPU time per request (utime+stime from /proc/PID/stat over the run, divided by
# the requests: a figure that survives a noisy machine far better than throughput), the
# ratio tandem / do-nothing, throughput and latency; then tandem at a fixed RATE for its
# latency under a realistic load; then tandem at 100/s while 64 connections send only the
# headers of 4 MiB requests and 64 more send their bodies a KiB every 100 ms (the overload
# protection: the reviews must still be answered, quickly); and at the end tandem's peak
# RSS (VmHWM).
#
#   hack/bench-server.sh                          # about 5 minutes
#   DURATION=5s ROUNDS=1 hack/bench-server.sh     # a quick look
#   LOG_LEVEL=warn hack/bench-server.sh           # without the per-admission log line
#
# Needs Linux (taskset, /proc) and two CPUs.
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
# Eight connections keep the do-nothing server's CPU busy (the load generator must
# saturate it); with two, it idles between requests and its CPU per request is higher,
# which would flatter the ratio.
CONCURRENCY=${CONCURRENCY:-8}
RATE=${RATE:-1000}
RATE_N=${RATE_N:-20000}
LOG_LEVEL=${LOG_LEVEL:-info}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PAYLOADS=${PAYLOADS:-typical large huge-env}

cd "$(dirname "$0")/.."
work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tandem" ./cmd/tandem
go build -o "$work/load" ./test/load
go build -o "$work/nop" ./test/load/nop
"$work/nop" -make-certs "$work"

# wait_addr LOG PATTERN prints the host:port a server logged once it is listening.
wait_addr() {
	local addr
	for _ in $(seq 100); do
		addr=$(grep -o "$2" "$1" | head -1 | sed 's#.*https://##') || true
		if [ -n "$addr" ]; then
			echo "$addr"
			return
		fi
		sleep 0.1
	done
	echo "no address in $1:" >&2
	cat "$1" >&2
	exit 1
}

taskset -c "$SERVER_CPU" "$work/nop" -addr 127.0.0.1:0 \
	-tls-cert-file "$work/tls.crt" -tls-key-file "$work/tls.key" 2>"$work/nop.log" &
nop_pid=$!
pids+=("$nop_pid")
nop_addr=$(wait_addr "$work/nop.log" 'https://[0-9.:]*')

# free_port prints a port nothing listens on (tandem logs its addresses at info only, and
# LOG_LEVEL may be warn).
free_port() {
	local port
	for port in $(shuf -i 20000-60000 -n 100); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	exit 1
}
tandem_addr=127.0.0.1:$(free_port)
taskset -c "$SERVER_CPU" "$work/tandem" serve --config examples/config.yaml \
	--tls-cert-file "$work/tls.crt" --tls-key-file "$work/tls.key" --listen-address "$tandem_addr" \
	--health-address "127.0.0.1:$(free_port)" --metrics-address "127.0.0.1:$(free_port)" \
	--log-level "$LOG_LEVEL" 2>"$work/tandem.log" &
tandem_pid=$!
pids+=("$tandem_pid")
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/${tandem_addr/://}") 2>/dev/null && break
	sleep 0.1
done

load() { taskset -c "$LOAD_CPU" "$work/load" -format tsv -ca "$work/ca.crt" "$@"; }

echo "do-nothing server pid $nop_pid at $nop_addr; tandem pid $tandem_pid at $tandem_addr (log level $LOG_LEVEL)" >&2
echo "rounds $ROUNDS x $DURATION flat out over $CONCURRENCY connections; then $RATE_N requests at $RATE/s" >&2
: >"$work/flat.tsv"
: >"$work/rate.tsv"
for payload in $PAYLOADS; do
	file=testdata/bench/$payload.admissionreview.json
	# Warm both servers up (pools, heap size, TLS sessions); not recorded.
	load -file "$file" -addr "$nop_addr" -duration 2s >/dev/null
	load -file "$file" -addr "$tandem_addr" -duration 2s >/dev/null
	for round in $(seq "$ROUNDS"); do
		for server in nop tandem; do
			if [ "$server" = nop ]; then addr=$nop_addr pid=$nop_pid; else addr=$tandem_addr pid=$tandem_pid; fi
			line=$(load -file "$file" -addr "$addr" -pid "$pid" -concurrency "$CONCURRENCY" -duration "$DURATION")
			printf '%s\t%s\n' "$server" "$line" | tee -a "$work/flat.tsv" | sed "s/^/round $round: /" >&2
		done
	done
	line=$(load -file "$file" -addr "$tandem_addr" -pid "$tandem_pid" -rate "$RATE" -n "$RATE_N" -concurrency 4 -duration 120s)
	printf 'tandem\t%s\n' "$line" | tee -a "$work/rate.tsv" | sed "s/^/at $RATE\/s: /" >&2
done

# Peak RSS of the measured requests, before the flood adds its own.
rss=$(grep VmHWM "/proc/$tandem_pid/status" | awk '{ printf "%.1f", $2 / 1024 }')
# Under a flood: ordinary reviews at 100/s while 128 connections try to hold memory.
flood=$(load -file testdata/bench/typical.admissionreview.json -addr "$tandem_addr" -pid "$tandem_pid" -rate 100 -n 2000 \
	-concurrency 2 -duration 60s -flood-headers 64 -flood-slow 64 2>"$work/flood.log")

# Columns: 1 server, 2 file, 3 ok, 4 errors, 5 late, 6 req/s, 7 p50, 8 p90, 9 p99, 10 max,
# 11 server CPU µs/request, 12 server peak RSS MiB.
median() { # median SERVER FILE COLUMN
	awk -F'\t' -v s="$1" -v f="$2" -v c="$3" '$1 == s && $2 == f { print $c }' "$work/flat.tsv" |
		sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
sum() { awk -F'\t' -v c="$2" '{ n += $c } END { print n + 0 }' "$1"; }

echo
echo "| payload | do-nothing CPU/req | tandem CPU/req | ratio (target) | do-nothing req/s | tandem req/s | tandem p50 / p99 flat out | tandem p50 / p99 / max at $RATE/s | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for payload in $PAYLOADS; do
	f=$payload.admissionreview.json
	nop_cpu=$(median nop "$f" 11)
	tandem_cpu=$(median tandem "$f" 11)
	target=4
	[ "$payload" = typical ] && target=2
	ratio=$(awk -v a="$tandem_cpu" -v b="$nop_cpu" 'BEGIN { printf "%.2f", a / b }')
	rate_line=$(awk -F'\t' -v f="$f" '$2 == f' "$work/rate.tsv")
	errors=$(awk -F'\t' -v f="$f" '$2 == f { n += $4 } END { print n + 0 }' "$work/flat.tsv" "$work/rate.tsv")
	printf '| %s | %s µs | %s µs | %s× (≤ %s×) | %s | %s | %s / %s µs | %s / %s / %s µs | %s |\n' \
		"$payload" "$nop_cpu" "$tandem_cpu" "$ratio" "$target" "$(median nop "$f" 6)" "$(median tandem "$f" 6)" \
		"$(median tandem "$f" 7)" "$(median tandem "$f" 9)" \
		"$(echo "$rate_line" | cut -f7)" "$(echo "$rate_line" | cut -f9)" "$(echo "$rate_line" | cut -f10)" "$errors"
done
served=$(($(awk -F'\t' '$1 == "tandem" { n += $3 + $4 } END { print n + 0 }' "$work/flat.tsv") + $(sum "$work/rate.tsv" 3)))
echo
echo "typical at 100/s under a flood of 64 header-only and 64 slow-body requests: p50 / p99 / max" \
	"$(echo "$flood" | cut -f6) / $(echo "$flood" | cut -f8) / $(echo "$flood" | cut -f9) µs, $(echo "$flood" | cut -f2) answered," \
	"$(echo "$flood" | cut -f3) errors, tandem's peak RSS $(echo "$flood" | cut -f11) MiB; $(sed 's/^flood: //' "$work/flood.log")"
echo "tandem peak RSS (VmHWM) after $served measured requests (plus warm-up): $rss MiB"
