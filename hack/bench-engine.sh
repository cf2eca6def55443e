#!/usr/bin/env bash
# Engine cost per pod against the decode baseline, on the three reference payloads.
# Prints the benchmark lines and a table of medians and ratios (docs/performance.md).
# Usage: hack/bench-engine.sh [count]   (default 5 runs of each benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
out=$(go test ./internal/inject -run '^$' -bench 'BenchmarkInject|BenchmarkDecodeBaseline' -benchmem -count "$count")
echo "$out" | grep -E '^Benchmark'
echo
echo "$out" | awk '
/^Benchmark(Inject|DecodeBaseline)\// {
	split($1, parts, "/"); kind = parts[1]; sub(/-[0-9]+$/, "", parts[2]); payload = parts[2]
	key = kind SUBSEP payload; n[key]++; v[key, n[key]] = $3; allocs[key] = $(NF-1)
	payloads[payload] = 1
}
function median(key,   i, j, t, m) {
	m = n[key]
	for (i = 1; i <= m; i++) a[i] = v[key, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	printf "| payload | engine (µs/pod) | allocs | decode baseline (µs) | allocs | ratio |\n|---|---|---|---|---|---|\n"
	split("typical large huge-env", order, " ")
	for (k = 1; k <= 3; k++) {
		p = order[k]; if (!(p in payloads)) continue
		e = median("BenchmarkInject" SUBSEP p); b = median("BenchmarkDecodeBaseline" SUBSEP p)
		printf "| %s | %.1f | %s | %.1f | %s | %.2f× |\n", p, e / 1000, allocs["BenchmarkInject" SUBSEP p], b / 1000, allocs["BenchmarkDecodeBaseline" SUBSEP p], e / b
	}
}'
