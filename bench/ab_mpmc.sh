#!/bin/sh
# bench/ab_mpmc.sh - bench/ab.sh for the MPMC shapes: compare two builds of
# ipc_bench, A and B, on a noisy machine. The builds alternate, in turn first
# and second (A B, B A, ...); each run measures shm-mpmc-NxM against
# ref-vyukov-yield-NxM in the same run (x_ref). Two verdicts, each the
# median over repetitions of a same-repetition ratio: B x_ref / A x_ref, and
# the plain B / A msgs/s of the pair. On a loaded machine the second is the
# steadier one: the reference at 1x4 and 4x1 swings as much as shmring
# does, independently, so x_ref carries two noisy draws (docs/benchmarks.md,
# "December 8").
#   bench/ab_mpmc.sh A/ipc_bench B/ipc_bench [REPS] [SHAPES] [SIZES] [DURATION]
# A and B may be any command taking ipc_bench's options (a wrapper that sets
# the environment, say). Defaults: 9 repetitions, shapes 1x4,4x1, sizes 64,8,
# 0.3 s. Prints one line per repetition, then per shape and size the
# medians, with futex / membarrier calls and context switches per 1000
# messages of each build, and the load average before and after.
set -eu
A=${1:?usage: ab_mpmc.sh A/ipc_bench B/ipc_bench [REPS] [SHAPES] [SIZES] [DURATION]}
B=${2:?usage: ab_mpmc.sh A/ipc_bench B/ipc_bench [REPS] [SHAPES] [SIZES] [DURATION]}
REPS=${3:-9}
SHAPES=${4:-1x4,4x1}
SIZES=${5:-64,8}
DUR=${6:-0.3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TR=
for s in $(echo "$SHAPES" | tr ',' ' '); do
	TR="$TR${TR:+,}shm-mpmc-$s,ref-vyukov-yield-$s"
done
run() {  # run BIN OUT
	$1 --transports "$TR" --mpmc-sizes "$SIZES" --no-stream --no-latency --reps 1 \
	     --duration "$DUR" --quiet --json "$2" > /dev/null
}
# one line per result: transport size msgs_per_s x_ref futex membar csw
extract() {
	jq -r '.results[]? | select(.kind == "mpmc" and .reps > 0) |
	       "\(.transport) \(.size) \(.msgs_per_s) \(.x_ref) \(.futex_per_1k) \(.membarrier_per_1k) \(.csw_per_1k)"' "$1"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
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
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
	$3 ~ /^ref-/ { next }
	{ key = $3 " " $4; r[$1, $2, key] = $6; m[$1, $2, key] = $5
	  f[$1, $2, key] = $7; mb[$1, $2, key] = $8; cs[$1, $2, key] = $9
	  keys[key] = 1; n = ($1 > n ? $1 : n) }
	function median(arr, k,    i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
		return k % 2 ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
	}
	END {
		for (key in keys) {
			printf "%s B:\n", key
			wa = wb = ra = rb = 0; k = 0
			for (i = 1; i <= n; i++) {
				win = r[i, "B", key] > r[i, "A", key] ? "B" : "A"
				if (win == "A") wa++; else wb++
				if (m[i, "B", key] > m[i, "A", key]) rb++; else ra++
				printf "  rep %d: A %.3g msg/s x_ref %.3f | B %.3g msg/s x_ref %.3f | B/A %.3f, better: %s\n",
				       i, m[i, "A", key], r[i, "A", key], m[i, "B", key], r[i, "B", key],
				       r[i, "B", key] / r[i, "A", key], win
				k++
				ratio[k] = r[i, "B", key] / r[i, "A", key]; raw[k] = m[i, "B", key] / m[i, "A", key]
				xa[k] = r[i, "A", key]; xb[k] = r[i, "B", key]
				fa[k] = f[i, "A", key]; fb[k] = f[i, "B", key]
				ma[k] = mb[i, "A", key]; mbb[k] = mb[i, "B", key]
				ca[k] = cs[i, "A", key]; cb[k] = cs[i, "B", key]
			}
			printf "  median B x_ref / A x_ref %.3f (better x_ref: A %d, B %d of %d); x_ref A %.3f B %.3f\n",
			       median(ratio, k), wa, wb, n, median(xa, k), median(xb, k)
			printf "  median msgs/s B / A %.3f (more msgs/s: A %d, B %d of %d)\n", median(raw, k), ra, rb, n
			printf "  per 1000 msgs, A / B: futex %.3f / %.3f, membarrier %.3f / %.3f, csw %.3f / %.3f\n",
			       median(fa, k), median(fb, k), median(ma, k), median(mbb, k), median(ca, k), median(cb, k)
		}
	}' "$TMP/all"
