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
#  - a run stopped by SIGTERM writes its results, exits 1, and counts no
#    case it did not finish as failed.
#   bench/test_options.sh build/bench/ipc_bench
set -eu
BIN=${1:?usage: test_options.sh path/to/ipc_bench}
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
   awk '$1 ~ /^shm-mpmc-/ { n++; if ($10 !~ /^[0-9.]+$/ || $11 !~ /^[0-9.]+$/ || $12 != "-" ||
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
