#!/bin/sh
# bench/ab.sh - compare two builds of ipc_bench, A and B, fairly on a noisy
# machine: the builds alternate, in turn first and second (A B, B A, A B,
# ...: running second in a pair costs a few percent here), each run measures shmring
# against the two reference rings in the same run (x_ref: the better of
# ref-ring and ref-ff), and the verdict uses the median over repetitions of
# each run's ratio to that reference.
#   bench/ab.sh A/ipc_bench B/ipc_bench [REPS] [TRANSPORTS] [SIZES]
# Defaults: 9 repetitions, shm-spsc, sizes 64,8. Prints one line per
# repetition (each build's msgs/s, ratio to the better reference, futex calls per 1000
# messages, and which of A and B had the better ratio), then medians.
set -eu
A=${1:?usage: ab.sh A/ipc_bench B/ipc_bench [REPS] [TRANSPORTS] [SIZES]}
B=${2:?usage: ab.sh A/ipc_bench B/ipc_bench [REPS] [TRANSPORTS] [SIZES]}
REPS=${3:-9}
TR=${4:-shm-spsc}
SIZES=${5:-64,8}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run() {  # run BIN OUT
	"$1" --transports "$TR,ref-ring,ref-ff" --sizes "$SIZES" --no-latency --reps 1 \
	     --duration 0.25 --quiet --json "$2" > /dev/null
}
# one line per result: transport size msgs_per_s x_ref futex_per_1k
extract() {
	jq -r '.results[]? | select(.kind == "stream" and .reps > 0) |
	       "\(.transport) \(.size) \(.msgs_per_s) \(.x_ref) \(.futex_per_1k)"' "$1"
}
i=1
while [ $i -le "$REPS" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		run "$A" "$TMP/a$i.json"
		run "$B" "$TMP/b$i.json"
	else
		run "$B" "$TMP/b$i.json"
		run "$A" "$TMP/a$i.json"
	fi
	extract "$TMP/a$i.json" | sed "s/^/$i A /" >> "$TMP/all"
	extract "$TMP/b$i.json" | sed "s/^/$i B /" >> "$TMP/all"
	i=$((i + 1))
done
awk -v tr="$TR" '
	$3 == "ref-ring" || $3 == "ref-ff" { next }
	{ key = $3 " " $4; r[$1, $2, key] = $6; m[$1, $2, key] = $5; f[$1, $2, key] = $7; keys[key] = 1; n = ($1 > n ? $1 : n) }
	function median(arr, k,    i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
		return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
	}
	END {
		for (key in keys) {
			printf "%s B:\n", key
			wa = wb = 0; ka = kb = kf = kg = 0
			for (i = 1; i <= n; i++) {
				win = r[i, "B", key] > r[i, "A", key] ? "B" : "A"
				if (win == "A") wa++; else wb++
				printf "  rep %d: A %.3g msg/s x_ref %.3f futex/1k %s | B %.3g msg/s x_ref %.3f futex/1k %s | B/A %.3f, better: %s\n",
				       i, m[i, "A", key], r[i, "A", key], f[i, "A", key],
				       m[i, "B", key], r[i, "B", key], f[i, "B", key], r[i, "B", key] / r[i, "A", key], win
				ratio[++kf] = r[i, "B", key] / r[i, "A", key]
				if (f[i, "A", key] != "null") { fa[++kg] = f[i, "A", key]; fb[kg] = f[i, "B", key] }
			}
			printf "  median of per-rep (B x_ref / A x_ref): %.3f; better ratio: A %d, B %d of %d", median(ratio, kf), wa, wb, n
			if (kg) printf "; median futex/1k A %.4f B %.4f", median(fa, kg), median(fb, kg)
			printf "\n"
		}
	}' "$TMP/all"
