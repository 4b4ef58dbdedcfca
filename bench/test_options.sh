#!/bin/sh
# bench/test_options.sh - ipc_bench's options and outputs, briefly (make test-bench):
#  - an option that skips cases marks them "skipped" with the option named,
#    never "failed", and failed_cases stays 0; a size limit says so too;
#  - the placement reaches the terminal, the JSON and the CSV;
#  - round trips report the mean beside the percentiles;
#  - every measured case carries both noise figures (before, after) and x ref
#    says which reference ring won each repetition;
#  - the huge-page row is measured or skipped with a reason, and
#    /proc/sys/vm/nr_hugepages is left as it was;
#  - the MPMC shapes (shm-mpmc-*, ref-vyukov-*: 1x1, 1x4, 4x1, 2x2, 4x4)
#    verify every message; x ref against ref-vyukov and the futex,
#    membarrier, yield and context-switch columns are numbers where they
#    apply in the JSON, the terminal and the CSV; 1x1 pinned, others not;
#  - the report opens with the summary (per kind and size the fastest row,
#    shm-spsc's x pipe, x pipe-batch, x ref; also in the JSON and the CSV),
#    then the legend (every transport run, which way x reads, what noise
#    means), then the tables; the noise column is "-" exactly when the reps'
#    spread is within --noise-spread and no rep was marked (terminal and
#    JSON, at three limits); x ref is "-" (null), never 0.00, for rows that
#    go through the kernel; the closing line names the JSON and the CSV;
#    make bench-plot writes into the build directory, not docs/;
#  - a run stopped by SIGTERM writes its results, exits 1, and counts no
#    case it did not finish as failed;
#  - the broadcast cases (shm-bcast-1x1, shm-bcast-1x3, spsc-fanout-3, with
#    shm-spsc beside them) verify every message at every consumer; msgs/s
#    counts deliveries, per sub is msgs/s over the consumers; x ref is 1x1
#    over shm-spsc and 1x3 over spsc-fanout-3 with the reps each won; 1x1
#    pinned, 1x3 and fanout-3 not; shm-spsc alone makes no broadcast table;
#    tools/bench_doc.py turns them into a table of docs/benchmarks.md;
#  - with the second binary (built -DBENCH_FAULTS): a fan-out whose consumer
#    misses its last message (only the per-consumer count can see it) fails
#    and names the consumer, one whose consumer gets two messages swapped
#    (count and sum right: only the in-order check sees it) fails, and
#    without a fault the same binary passes.
#   bench/test_options.sh build/bench/ipc_bench [build/bench/ipc_bench_faults]
set -eu
BIN=${1:?usage: test_options.sh path/to/ipc_bench [path/to/ipc_bench_faults]}
FAULTS_BIN=${2:-}
command -v jq >/dev/null || { echo "test_options.sh: jq missing (make deps)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() {  # check WHAT JQ-FILTER FILE: the filter must print true
	if [ "$(jq -e "$2" "$3" 2>/dev/null)" = true ]; then
		echo "  ok   $1"
	else
		echo "  FAIL $1 ($3: $2)"
		fails=$((fails + 1))
	fi
}
hp_before=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo none)

echo "test-bench: --no-stream, placement cross"
timeout 120 "$BIN" --no-stream --transports pipe,ref-ff,shm-spsc --lat-sizes 8 --reps 1 \
	--duration 0.02 --quiet --json "$TMP/a.json" --csv "$TMP/a.csv" > "$TMP/a.txt"
J=$TMP/a.json
check "failed_cases is 0" '.config.failed_cases == 0' "$J"
check "placement cross in the JSON" '.config.placement == "cross"' "$J"
check "every stream case skipped by the option, none failed" \
	'[.results[] | select(.kind == "stream")] | length == 15 and
	 all(.skipped == "not selected (option --no-stream)" and (has("failed") | not))' "$J"
check "round trips measured, mean beside the percentiles" \
	'[.results[] | select(.kind == "latency")] | length == 3 and
	 all(.reps == 1 and .p50_ns > 0 and .mean_ns > 0 and .p99_ns >= .p50_ns)' "$J"
check "noise figures before and after each case" \
	'[.results[] | select(.reps > 0)] | all((.line_rtt_before_ns | length) == 1 and
	 (.line_rtt_after_ns | length) == 1 and (.noise_marks | type) == "number")' "$J"
if grep -q '^placement: cross' "$TMP/a.txt" && grep -q 'latency,pipe,8,1,.*,cross,ok$' "$TMP/a.csv" &&
   grep -q 'stream,pipe,8,0,.*,cross,"skipped: not selected (option --no-stream)"$' "$TMP/a.csv"; then
	echo "  ok   placement and status in the terminal and the CSV"
else
	echo "  FAIL placement or status missing in $TMP/a.txt / $TMP/a.csv"
	cat "$TMP/a.txt" "$TMP/a.csv"
	fails=$((fails + 1))
fi

echo "test-bench: --no-latency, placement same, a size limit, the huge-page row"
timeout 120 "$BIN" --no-latency --placement same \
	--transports ref-ring,ref-ff,shm-spsc,mq,shm-64m-huge --sizes 64,65536 --reps 2 \
	--duration 0.02 --quiet --json "$TMP/b.json" --csv "$TMP/b.csv" > "$TMP/b.txt"
J=$TMP/b.json
check "failed_cases is 0" '.config.failed_cases == 0' "$J"
check "placement same in the JSON" '.config.placement == "same"' "$J"
check "round trips skipped by the option" \
	'[.results[] | select(.kind == "latency")] | length == 8 and
	 all(.skipped == "not selected (option --no-latency)")' "$J"
check "mq at 64 KiB skipped by its limit, not failed" \
	'.results[] | select(.transport == "mq" and .size == 65536) |
	 (.skipped | test("above")) and (has("failed") | not)' "$J"
check "x ref names the better reference of each repetition" \
	'.results[] | select(.transport == "shm-spsc" and .size == 64) |
	 (.x_ref_best | length) == 2 and all(.x_ref_best[]; . == "ref-ring" or . == "ref-ff") and
	 .x_ref_best_count["ref-ring"] + .x_ref_best_count["ref-ff"] == 2 and .x_ref > 0' "$J"
check "the huge-page row is measured, or skipped with a reason" \
	'[.results[] | select(.transport == "shm-64m-huge")] | length == 2 and
	 all(.reps == 2 or ((.skipped | length) > 0 and (has("failed") | not)))' "$J"
grep -q '^placement: same' "$TMP/b.txt" || { echo "  FAIL placement same not on the terminal"; fails=$((fails + 1)); }
hp_after=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo none)
if [ "$hp_before" != "$hp_after" ]; then
	# another test of this machine may be holding its own reservation: look again
	sleep 2
	hp_after=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo none)
fi
if [ "$hp_before" = "$hp_after" ]; then
	echo "  ok   nr_hugepages left at $hp_after"
else
	echo "  FAIL nr_hugepages was $hp_before, now $hp_after"
	fails=$((fails + 1))
fi

echo "test-bench: the MPMC shapes against ref-vyukov, and their columns"
timeout 120 "$BIN" --no-stream --no-latency --transports 'shm-mpmc-*,ref-vyukov-*' \
	--mpmc-sizes 64 --reps 2 --duration 0.04 --quiet --json "$TMP/d.json" --csv "$TMP/d.csv" \
	> "$TMP/d.txt"
J=$TMP/d.json
check "failed_cases is 0: every message of every shape verified" \
	'.config.failed_cases == 0 and ([.results[] | select(has("failed"))] | length == 0)' "$J"
check "five shapes of shm-mpmc, ref-vyukov-yield and ref-vyukov-spin, all measured" \
	'([.results[] | select(.kind == "mpmc" and .reps == 2 and .msgs_per_s > 0)] | length) == 15 and
	 ([.results[].transport] | map(select(test("-(1x1|1x4|4x1|2x2|4x4)$"))) | length) == 15' "$J"
check "shm-mpmc: x ref, futex, membarrier and context switches are numbers, no yields" \
	'[.results[] | select(.transport | startswith("shm-mpmc-"))] | length == 5 and
	 all(.x_ref > 0 and (.futex_per_1k | type) == "number" and .futex_per_1k >= 0 and
	     (.membarrier_per_1k | type) == "number" and .membarrier_per_1k >= 0 and
	     (.csw_per_1k | type) == "number" and .csw_per_1k >= 0 and .yield_per_1k == null and
	     all(.x_ref_best[]; . == "ref-vyukov-yield" or . == "ref-vyukov-spin") and
	     .x_ref_best_count["ref-vyukov-yield"] + .x_ref_best_count["ref-vyukov-spin"] == 2)' "$J"
check "ref-vyukov-yield counts its yields, neither ref has futex or membarrier calls" \
	'([.results[] | select(.transport | startswith("ref-vyukov-yield-"))] |
	  length == 5 and all((.yield_per_1k | type) == "number" and .yield_per_1k >= 0)) and
	 ([.results[] | select(.transport | startswith("ref-vyukov-spin-"))] |
	  length == 5 and all(.yield_per_1k == null)) and
	 ([.results[] | select(.transport | startswith("ref-vyukov-"))] |
	  all(.futex_per_1k == null and .membarrier_per_1k == null and .csw_per_1k >= 0))' "$J"
check "1x1 pinned as --placement, the other shapes unpinned" \
	'all(.results[]; if (.transport | endswith("-1x1")) then .placement == "cross"
	                 else .placement == "none" end) and (.config.mpmc_placement | test("not pinned"))' "$J"
# the terminal: the placement line, the new columns, numbers where they apply
if grep -q '^placement: 1x1 as --placement cross.*1x4, 4x1, 2x2, 4x4 not pinned' "$TMP/d.txt" &&
   grep -q '^transport .*futex/1k membar/1k  yield/1k   csw/1k best ref' "$TMP/d.txt" &&
   awk '/^MPMC shapes/ { t = 1 } !t { next }
        $1 ~ /^shm-mpmc-/ { n++; if ($10 !~ /^[0-9.]+$/ || $11 !~ /^[0-9.]+$/ || $12 != "-" ||
                                     $13 !~ /^[0-9.]+$/ || $7 !~ /^[0-9.]+$/) bad++ }
        $1 ~ /^ref-vyukov-yield-/ { n++; if ($12 !~ /^[0-9.]+$/ || $10 != "-") bad++ }
        END { exit !(n == 10 && !bad) }' "$TMP/d.txt" &&
   grep -q 'every message verified' "$TMP/d.txt"; then
	echo "  ok   the MPMC table: placement, columns, numbers"
else
	echo "  FAIL the MPMC table in $TMP/d.txt"
	cat "$TMP/d.txt"
	fails=$((fails + 1))
fi
# the CSV: the three new columns, numbers on the shm-mpmc rows, the row's placement
if awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
                      if (!col["membarrier_per_1k"] || !col["yield_per_1k"] || !col["csw_per_1k"]) exit 1
                      next }
            $2 ~ /^shm-mpmc-/ { n++; if ($col["membarrier_per_1k"] !~ /^[0-9.e+-]+$/ ||
                                         $col["csw_per_1k"] !~ /^[0-9.e+-]+$/ ||
                                         $col["futex_per_1k"] !~ /^[0-9.e+-]+$/ ||
                                         $col["yield_per_1k"] != "" ||
                                         $col["placement"] != ($2 ~ /1x1$/ ? "cross" : "none") ||
                                         $col["status"] != "ok") bad++ }
            $2 ~ /^ref-vyukov-yield-/ { if ($col["yield_per_1k"] !~ /^[0-9.e+-]+$/) bad++ }
            END { exit !(n == 5 && !bad) }' "$TMP/d.csv"; then
	echo "  ok   the MPMC rows of the CSV"
else
	echo "  FAIL the MPMC rows of $TMP/d.csv"
	cat "$TMP/d.csv"
	fails=$((fails + 1))
fi

echo "test-bench: the broadcast cases: every message to every consumer, x ref against each row's yardstick"
BC='shm-bcast-*,spsc-fanout-3,shm-spsc'; nbc=4
timeout 120 "$BIN" --no-stream --no-latency --no-mpmc --transports "$BC" --bcast-sizes 64 \
	--reps 2 --duration 0.04 --quiet --json "$TMP/g.json" --csv "$TMP/g.csv" > "$TMP/g.txt"
J=$TMP/g.json
check "failed_cases is 0: every consumer got every message" \
	".config.failed_cases == 0 and ([.results[] | select(.kind == \"bcast\" and .reps == 2 and
	 .msgs_per_s > 0)] | length) == $nbc" "$J"
check "per sub is msgs/s over the consumers (3 for 1x3 and fanout-3, 1 for the 1x1 rows)" \
	'[.results[] | select(.kind == "bcast")] | all(
	   (if (.transport | test("(1x3|fanout-3)$")) then 3 else 1 end) as $n |
	   ((.msgs_per_s_per_sub * $n - .msgs_per_s) | fabs) < 1e-3 * .msgs_per_s)' "$J"
check "futex, context switches and CPU are numbers on every broadcast row" \
	'[.results[] | select(.kind == "bcast")] | all((.futex_per_1k | type) == "number" and
	   .futex_per_1k >= 0 and .csw_per_1k >= 0 and .prod_cpu_s_per_M > 0 and .cons_cpu_s_per_M > 0)' "$J"
check "x ref: shm-bcast-1x1 over shm-spsc, shm-bcast-1x3 over spsc-fanout-3, wins counted" \
	'[.results[] | select(.kind == "bcast")] | all(
	   if .transport == "shm-bcast-1x1" then .x_ref_vs == "shm-spsc"
	   elif .transport == "shm-bcast-1x3" then .x_ref_vs == "spsc-fanout-3"
	   else .x_ref_vs == null and .x_ref == null end) and
	 all(.[] | select(.x_ref_vs != null); .x_ref > 0 and (.x_ref_won | length) == 2 and
	     .x_ref_wins == ([.x_ref_won[] | select(. == true)] | length) and
	     ((.x_ref > 1) == (.x_ref_wins == 2) or .x_ref_wins == 1))' "$J"
check "1x1 rows pinned as --placement, 1x3 and spsc-fanout-3 not" \
	'([.results[] | select(.kind == "bcast")] | all(if (.transport | test("(1x3|fanout-3)$"))
	   then .placement == "none" else .placement == "cross" end)) and
	 (.config.bcast_placement | test("1x1 as --placement cross.*1x3 not pinned"))' "$J"
if grep -q '^broadcast, one producer to each of N consumers (1xN), 64 B' "$TMP/g.txt" &&
   grep -q '^transport .*msgs/s  \[min - max\] *per sub .*x ref .*won vs ref' "$TMP/g.txt" &&
   grep -q '^  per sub  *messages each subscriber' "$TMP/g.txt" &&
   awk '/^broadcast, one producer/ { t = 1 } !t { next }
        $1 == "spsc-fanout-3" || $1 ~ /^shm-/ { n++; if ($2 !~ /^[0-9.]+[kMG]?$/ || $6 !~ /^[0-9.]+[kMG]?$/) bad++ }
        $1 ~ /^shm-bcast-/ { if ($8 !~ /^[0-9.]+$/ ||
                                 $0 !~ / won [0-2]\/2 vs (shm-spsc|spsc-fanout-3) /) bad++ }
        END { exit !(n == '$nbc' && !bad) }' "$TMP/g.txt"; then
	echo "  ok   the broadcast table: title, per sub and won vs ref columns, numbers"
else
	echo "  FAIL the broadcast table in $TMP/g.txt"
	cat "$TMP/g.txt"
	fails=$((fails + 1))
fi
if awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; if (!col["msgs_per_s_per_sub"]) exit 1; next }
            $1 == "bcast" { n++; if ($col["msgs_per_s_per_sub"] !~ /^[0-9.e+-]+$/ ||
                                    $col["status"] != "ok") bad++ }
            END { exit !(n == '$nbc' && !bad) }' "$TMP/g.csv"; then
	echo "  ok   the broadcast rows of the CSV: msgs_per_s_per_sub"
else
	echo "  FAIL the broadcast rows of $TMP/g.csv"; cat "$TMP/g.csv"; fails=$((fails + 1))
fi
# tools/bench_doc.py writes the broadcast table into the page's results part
ROOT=$(cd "$(dirname "$0")/.." && pwd)
printf 'above\n<!-- bench-doc:begin -->\nold\n<!-- bench-doc:end -->\nbelow\n' > "$TMP/page.md"
if python3 "$ROOT/tools/bench_doc.py" "$J" "$TMP/page.md" > /dev/null &&
   grep -q '^Broadcast, one producer to each of N consumers (1xN), 64 B' "$TMP/page.md" &&
   [ "$(grep -c '^| `\(shm-bcast-1x[13]\|spsc-fanout-3\|shm-spsc\)` | [0-9.]*[kMG]\? |' "$TMP/page.md")" -eq $nbc ] &&
   grep -q '^| `shm-bcast-1x3` | .* | [0-9.]* | [0-2]/2 vs `spsc-fanout-3` |' "$TMP/page.md" &&
   ! grep -q '^old$' "$TMP/page.md" && grep -q '^below$' "$TMP/page.md"; then
	echo "  ok   bench_doc.py: the broadcast table, one row a case, x ref and reps won"
else
	echo "  FAIL bench_doc.py's broadcast table in $TMP/page.md"; cat "$TMP/page.md"; fails=$((fails + 1))
fi
if [ -n "$FAULTS_BIN" ]; then
	# the faults (transport_bcast.c): after its loop the producer of
	# spsc-fanout-3 breaks the fan-out of ring 1
	for fault in none drop-last swap; do
		rc=0
		BENCH_FAULT=$fault timeout 120 "$FAULTS_BIN" --no-stream --no-latency --no-mpmc \
			--transports spsc-fanout-3 --reps 1 --duration 0.03 --quiet \
			--json "$TMP/f-$fault.json" > /dev/null 2>&1 || rc=$?
		echo "$rc" > "$TMP/f-$fault.rc"
	done
	J=$TMP/f-none.json
	check "the faults build without a fault: spsc-fanout-3 verified" \
		"$(cat "$TMP/f-none.rc") == 0 and .config.failed_cases == 0 and
		 .results[0].reps == 1" "$J"
	check "a consumer that misses the last message: failed, per-consumer count names it" \
		"$(cat "$TMP/f-drop-last.rc") == 1 and .config.failed_cases == 1 and .results[0].reps == 0 and
		 (.results[0].failed | test(\"^fan-out: producer 0 sent [0-9]+, consumer 1 got \"))" \
		"$TMP/f-drop-last.json"
	check "a consumer that gets two messages swapped: failed by the in-order check" \
		"$(cat "$TMP/f-swap.rc") == 1 and .config.failed_cases == 1 and .results[0].reps == 0 and
		 (.results[0].failed | test(\"consumer side 1: producer 0: sequence [0-9]+, expected \"))" \
		"$TMP/f-swap.json"
fi

echo "test-bench: the report: summary, legend, the noise column, x ref of kernel rows, the closing line"
# three runs of the same cases: the default noise spread (1.5x), 1 (every
# row whose reps differ at all is noisy) and 1e6 (only the line round trip
# marks a row)
for lim in 1.5 1 1e6; do
	timeout 120 "$BIN" --transports pipe,pipe-batch,ref-ring,ref-ff,shm-spsc,mq --sizes 64 \
		--lat-sizes 8 --no-mpmc --reps 3 --duration 0.02 --quiet --noise-spread $lim \
		--json "$TMP/e$lim.json" --csv "$TMP/e$lim.csv" > "$TMP/e$lim.txt"
done
T=$TMP/e1.5.txt
J=$TMP/e1.5.json
# the report block opens with the summary, then the legend, then the tables
line_of() { grep -n "$1" "$T" | head -n 1 | cut -d: -f1; }
l_reps=$(line_of '^reps 3 (interleaved)'); l_sum=$(line_of '^summary: ')
l_lt=$(line_of '^legend: the transports'); l_lc=$(line_of '^legend: the columns')
l_tab=$(line_of '^streaming, 64 B messages')
first=$(awk -v r="${l_reps:-0}" 'NR > r && NF { print NR; exit }' "$T")
if [ -n "$l_sum" ] && [ "$first" = "$l_sum" ] && [ "$l_sum" -lt "${l_lt:-0}" ] &&
   [ "$l_lt" -lt "${l_lc:-0}" ] && [ "$l_lc" -lt "${l_tab:-0}" ]; then
	echo "  ok   the report opens with the summary, then the legend, then the tables"
else
	echo "  FAIL report order in $T (summary $l_sum, legend $l_lt/$l_lc, tables $l_tab)"
	cat "$T"; fails=$((fails + 1))
fi
# the summary: one line per kind and size, shm-spsc's ratios as numbers
# (a round trip has no pipe-batch: "-")
if awk -v a="$l_sum" -v b="$l_lt" 'NR > a + 1 && NR < b && NF {
		n++
		if ($1 == "stream") { s++; if ($7 != "shm-spsc" || $10 !~ /^[0-9.]+$/ ||
		                               $11 !~ /^[0-9.]+$/ || $12 !~ /^[0-9.]+$/) bad++ }
		else if ($1 == "round") { l++; if ($9 != "shm-spsc" || $13 !~ /^[0-9.]+$/ ||
		                                   $14 != "-" || $15 !~ /^[0-9.]+$/) bad++ }
		else bad++ }
	END { exit !(n == 2 && s == 1 && l == 1 && !bad) }' "$T"; then
	echo "  ok   the summary: the fastest row and shm-spsc x pipe, x pipe-batch, x ref"
else
	echo "  FAIL the summary lines of $T"; fails=$((fails + 1))
fi
check "the JSON carries the summary: the fastest of each size and shm-spsc's ratios" \
	'(.summary | length) == 2 and
	 ([.results[] | select(.kind == "stream" and .reps > 0) | .msgs_per_s] | max) as $m |
	 ([.results[] | select(.kind == "latency" and .reps > 0) | .p50_ns] | min) as $p |
	 (.summary[] | select(.table == "stream") | .shmring == "shm-spsc" and
	  .fastest_msgs_per_s == $m and .x_pipe > 0 and .x_pipe_batch > 0 and .x_ref > 0) and
	 (.summary[] | select(.table == "latency") | .shmring == "shm-spsc" and
	  .fastest_p50_ns == $p and .x_pipe_p50 > 0 and .x_ref_p50 > 0)' "$J"
if [ "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                 $c["in_summary"] == 1 { print $1 "," $2 }' "$TMP/e1.5.csv" | sort | tr '\n' ' ')" = \
     "latency,shm-spsc stream,shm-spsc " ] &&
   [ "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                 $1 == "stream" { print $c["fastest"] }' "$TMP/e1.5.csv" | sort -u)" = \
     "$(jq -r '.summary[] | select(.table == "stream") | .fastest' "$J")" ]; then
	echo "  ok   the CSV carries the summary (in_summary, fastest)"
else
	echo "  FAIL in_summary / fastest in $TMP/e1.5.csv"; fails=$((fails + 1))
fi
# the legend: a line per transport run, the ratio direction, the noise column
if awk -v a="$l_lt" -v b="$l_lc" 'NR > a && NR < b && /^  [a-z]/ { seen[$1] = 1 }
	END { exit !(seen["pipe"] && seen["pipe-batch"] && seen["ref-ring"] && seen["ref-ff"] &&
	             seen["shm-spsc"] && seen["mq"]) }' "$T" &&
   grep -q '^legend: the columns.*above 1 = faster than the yardstick' "$T" &&
   grep -q '^  x pipe p50 .*above 1 = a shorter round trip' "$T" &&
   grep -q '^  noise  *"-": the reps agree within 1.5x' "$T"; then
	echo "  ok   the legend: every transport run, which way x reads, what noise means"
else
	echo "  FAIL the legend of $T"; fails=$((fails + 1))
fi
# the noise column: "-" exactly when the reps' spread (max / min of msgs/s, of
# p50 for round trips, as the JSON's min and max say) is within the limit and
# no rep was marked, in the JSON and on the terminal, at each limit
term_noise() {  # "kind size transport -|noisy" for each row of the tables
	awk '/^streaming, [0-9]+ B messages/ { k = "stream"; s = $2; t = 1; next }
	     /^round trip \(ping-pong\), [0-9]+ B/ { k = "latency"; s = $4; t = 1; next }
	     /^$/ { t = 0; next }
	     t && $1 != "transport" && NF > 3 && $2 !~ /^(skipped|FAILED|not)/ {
	         print k, s, $1, ($NF == "-" ? "-" : "noisy") }' "$1" | sort
}
for lim in 1.5 1 1e6; do
	check "noise at --noise-spread $lim: noisy exactly when spread > $lim or a rep marked" \
		"[.results[] | select(.reps > 0) |
		  (if .kind == \"latency\" then .p50_ns_max / .p50_ns_min
		   else .msgs_per_s_max / .msgs_per_s_min end) as \$sp |
		  .noisy == ((.reps > 1 and \$sp > $lim) or .noise_marks > 0) and
		  (.reps < 2 or ((.spread - \$sp) | fabs) < 1e-3 * \$sp)] | length > 0 and all" \
		"$TMP/e$lim.json"
	jq -r '.results[] | select(.reps > 0) |
	       "\(.kind) \(.size) \(.transport) \(if .noisy then "noisy" else "-" end)"' \
		"$TMP/e$lim.json" | sort > "$TMP/noise-json"
	term_noise "$TMP/e$lim.txt" > "$TMP/noise-term"
	if [ -s "$TMP/noise-term" ] && cmp -s "$TMP/noise-json" "$TMP/noise-term"; then
		echo "  ok   the terminal's noise column agrees with the JSON ($lim)"
	else
		echo "  FAIL the terminal's noise column at $lim:"; diff "$TMP/noise-json" "$TMP/noise-term" || true
		fails=$((fails + 1))
	fi
done
check "shm-spsc alone (no broadcast case selected) makes no broadcast record" \
	'[.results[] | select(.kind == "bcast")] | length == 0' "$J"
check "at --noise-spread 1 a row is noisy by its spread alone" \
	'[.results[] | select(.reps > 1 and .noisy and .noise_marks == 0 and .spread > 1)] | length > 0' \
	"$TMP/e1.json"
if awk '/^streaming, 64 B/ { t = 1; next } /^$/ { t = 0 } t && $NF ~ /^[0-9.]+x$/ { n++ }
        END { exit !n }' "$TMP/e1.txt"; then
	echo "  ok   ... and the terminal shows that spread (e.g. 1.23x)"
else
	echo "  FAIL no spread in the noise column of $TMP/e1.txt"; fails=$((fails + 1))
fi
check "at --noise-spread 1e6 only marked reps make a row noisy" \
	'[.results[] | select(.reps > 0)] | all(.noisy == (.noise_marks > 0))' "$TMP/e1e6.json"
# x ref: "-" (JSON null), never 0.00, for the rows that go through the kernel
check "x ref and x ref p50 are null for pipe, pipe-batch and mq, numbers for the rings" \
	'[.results[] | select(.reps > 0)] |
	 all(if (.transport | test("^(pipe|pipe-batch|mq)$")) then
	         (.x_ref == null and .x_ref_p50 == null)
	     elif .kind == "stream" then .x_ref > 0 else .x_ref_p50 > 0 end)' "$J"
if awk '/^streaming, 64 B/ { k = "s"; next } /^round trip/ { k = "l"; next } /^$/ { k = "" }
        k == "s" && $1 ~ /^(pipe|pipe-batch|mq)$/ { n++; if ($8 != "-") bad++ }
        k == "l" && $1 ~ /^(pipe|mq)$/ { n++; if ($12 != "-") bad++ }
        k == "s" && $1 != "transport" && $8 == "0.00" { bad++ }
        k == "l" && $1 != "transport" && $12 == "0.00" { bad++ }
        END { exit !(n == 5 && !bad) }' "$T"; then
	echo "  ok   the terminal prints - for x ref of kernel rows, never 0.00"
else
	echo "  FAIL x ref / x ref p50 of the kernel rows in $T"; fails=$((fails + 1))
fi
# the closing line names both files
if [ "$(tail -n 1 "$T")" = "results: $TMP/e1.5.json (JSON), $TMP/e1.5.csv (CSV)" ]; then
	echo "  ok   the closing line names the JSON and the CSV"
else
	echo "  FAIL closing line: $(tail -n 1 "$T")"; fails=$((fails + 1))
fi
# make bench-plot writes under the build directory, never over docs/*.png
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$(cd "$(dirname "$BIN")/.." && pwd)
if ! command -v gnuplot > /dev/null; then
	echo "  FAIL gnuplot missing (make deps installs gnuplot-nox)"; fails=$((fails + 1))
else
	docs_before=$(cat "$ROOT"/docs/*.png | md5sum)
	touch "$TMP/before-plot"
	sleep 1
	make -s --no-print-directory -C "$ROOT" bench-plot BUILD="$BUILDDIR" \
		BENCH_JSON="$TMP/e1.5.json" > "$TMP/plot.txt" 2>&1 || true
	new=$(find "$BUILDDIR/bench/plots" -name 'bench-*.png' -newer "$TMP/before-plot" 2>/dev/null | wc -l)
	if [ "$new" -eq 3 ] && [ "$(cat "$ROOT"/docs/*.png | md5sum)" = "$docs_before" ]; then
		echo "  ok   make bench-plot wrote 3 plots into $BUILDDIR/bench/plots, docs/ untouched"
	else
		echo "  FAIL make bench-plot: $new new plots in $BUILDDIR/bench/plots; docs/*.png changed?"
		cat "$TMP/plot.txt"; fails=$((fails + 1))
	fi
fi

echo "test-bench: SIGTERM stops the run: cases not run are not failures"
"$BIN" --no-latency --transports pipe,shm-spsc --sizes 64 --reps 60 --duration 0.05 --quiet \
	--json "$TMP/c.json" > /dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
rc=0
wait $pid || rc=$?
J=$TMP/c.json
if [ $rc -eq 1 ] && [ -s "$J" ]; then echo "  ok   exit 1, results written"; else
	echo "  FAIL exit $rc after SIGTERM, or no $J"; fails=$((fails + 1)); fi
check "an interrupted run has no failed cases" \
	'.config.failed_cases == 0 and ([.results[] | select(has("failed"))] | length == 0) and
	 ([.results[] | select(.reps > 0)] | length > 0)' "$J"

echo "test-bench: a bad placement is a usage error"
rc=0
"$BIN" --placement sideways --quiet > /dev/null 2>&1 || rc=$?
if [ $rc -eq 2 ]; then echo "  ok   exit 2"; else echo "  FAIL exit $rc"; fails=$((fails + 1)); fi

if [ $fails -ne 0 ]; then
	echo "test-bench: $fails check(s) FAILED"
	exit 1
fi
echo "test-bench: all checks passed"
