#!/bin/sh
# tests/stress/run.sh - run stress drivers, one per argument (a command line
# with its options), each under a wall-clock limit; count verdict lines
# ("<name>: PASS ..." / "<name>: FAIL ...") and end with one line:
#   stress: N passed, M failed
# A driver that exits non-zero without a FAIL line counts as one failure.
# STRESS_LIMIT: seconds per driver (default 240).
limit=${STRESS_LIMIT:-240}
pass=0
fail=0
out=$(mktemp "${TMPDIR:-/tmp}/shmring-stress.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT INT TERM
for cmd in "$@"; do
	echo "== $cmd"
	timeout -k 10 "$limit" sh -c "$cmd" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -cE '^[a-z0-9x-]+: PASS' "$out")
	f=$(grep -cE '^[a-z0-9x-]+: FAIL' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "stress: HANG: '$cmd' ran past ${limit} s"
		else
			echo "stress: '$cmd' exited with status $rc"
		fi
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "stress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
