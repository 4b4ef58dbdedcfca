#!/bin/sh
# bench/placement.sh - how placement moves the kernel transports' round trips:
# ROUNDS rounds of (cross, same, none), one repetition of each placement per
# round, interleaved; prints medians [min-max] over rounds of p50, mean and
# p99 (µs), and of cross's mean over each placement's mean in the same round.
#   bench/placement.sh build/bench/ipc_bench [ROUNDS] [TRANSPORTS] [SIZE]
# Defaults: 9 rounds, pipe,unix-stream,tcp, 8 B. Run it under an exclusive
# lock on a shared machine (about 35 s with the defaults).
set -eu
BIN=${1:?usage: placement.sh path/to/ipc_bench [ROUNDS] [TRANSPORTS] [SIZE]}
ROUNDS=${2:-9}
TR=${3:-pipe,unix-stream,tcp}
SIZE=${4:-8}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
i=1
while [ "$i" -le "$ROUNDS" ]; do
	for p in cross same none; do
		"$BIN" --no-stream --transports "$TR" --lat-sizes "$SIZE" --reps 1 --duration 0.2 \
			--placement $p --quiet --json "$TMP/$p-$i.json" > /dev/null
	done
	i=$((i + 1))
done
python3 - "$TMP" "$ROUNDS" <<'PY'
import json, statistics as st, sys
d, n = sys.argv[1], int(sys.argv[2])
res = {}
for p in ("cross", "same", "none"):
    for i in range(1, n + 1):
        for r in json.load(open("%s/%s-%d.json" % (d, p, i)))["results"]:
            if r["kind"] == "latency" and r["reps"]:
                res.setdefault((r["transport"], p), {})[i] = r
def f(v):
    return "%.3g [%.3g-%.3g]" % (st.median(v), min(v), max(v))
print("| transport | placement | p50 µs | mean µs | p99 µs | cross mean / this mean | noise marks |")
print("|---|---|---|---|---|---|---|")
for t in sorted({t for t, _ in res}):
    cross = res.get((t, "cross"), {})
    for p in ("cross", "same", "none"):
        v = res.get((t, p), {})
        if not v:
            continue
        rat = [cross[i]["mean_ns"] / v[i]["mean_ns"] for i in v if i in cross]
        print("| `%s` | %s | %s | %s | %s | %s | %d |" % (
            t, p, f([r["p50_ns"] / 1e3 for r in v.values()]),
            f([r["mean_ns"] / 1e3 for r in v.values()]),
            f([r["p99_ns"] / 1e3 for r in v.values()]), f(rat) if rat else "-",
            sum(r["noise_marks"] for r in v.values())))
PY
