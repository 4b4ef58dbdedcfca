#!/bin/sh
# tests/model/bias.sh - model-check the biased claim (bias.pml) with Spin:
# the protocol must verify (0 errors, search complete) and each mutant must
# fail with a position claimed twice. Builds in a temporary directory.
#   REQUIRE_SPIN=1   no spin installed is a failure (default: print SKIP)
#   MODEL_TRAILS=1   print each mutant's error trail
#   CC               C compiler for pan (default: cc)
# Exit status 0 only if the model verifies and every mutant is caught.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
if ! command -v spin >/dev/null 2>&1; then
	if [ "${REQUIRE_SPIN:-0}" = 1 ]; then
		echo "model bias: ERROR (spin is not installed)"
		exit 1
	fi
	echo "model bias: SKIP (spin is not installed)"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmring-bias.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM
passed=0
failed=0

# verify NAME KIND [DEFINE]: KIND real must verify; mutant must fail with
# the "claimed twice" assertion
verify() {
	name=$1 kind=$2
	shift 2
	d=$tmp/$name
	mkdir -p "$d"
	cp "$here/bias.pml" "$d/bias.pml"
	if ! (cd "$d" && spin -a "$@" bias.pml && $cc -O2 -DSAFETY -DCOLLAPSE -w -o pan pan.c) \
	        >"$d/build.log" 2>&1; then
		echo "model bias: $kind $name ERROR (building the verifier failed)"
		sed 's/^/  /' "$d/build.log"
		failed=$((failed + 1))
		return
	fi
	(cd "$d" && ./pan -m10000) >"$d/pan.log" 2>&1
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$d/pan.log" | tail -n 1)
	states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.log")
	incomplete=
	grep -Eq 'max search depth too small|out of memory|MEMLIM' "$d/pan.log" && incomplete=1
	if [ "$kind" = real ]; then
		if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
			echo "model bias: real PASS (0 errors, $states states)"
			passed=$((passed + 1))
		else
			echo "model bias: real FAIL (${errors:-no result} errors)"
			(cd "$d" && spin -t -p "$@" bias.pml) 2>&1 | tail -n 60 | sed 's/^/  /'
			failed=$((failed + 1))
		fi
	elif [ "${errors:-0}" != 0 ] && grep 'assertion violated' "$d/pan.log" | grep -qF 'claimed[pos]==1'; then
		echo "model bias: mutant $name FAIL as expected (a position claimed twice)"
		passed=$((passed + 1))
		[ "${MODEL_TRAILS:-0}" = 1 ] && (cd "$d" && spin -t -p "$@" bias.pml) 2>&1 | sed 's/^/  /'
	else
		echo "model bias: mutant $name NOT CAUGHT (${errors:-no result} errors, $states states)"
		grep -E '^pan:[0-9]+: ' "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	fi
}

verify real real
verify NO_WAIT mutant -DNO_WAIT
verify NO_RECHECK mutant -DNO_RECHECK
verify NO_BARRIER mutant -DNO_BARRIER
verify NO_SCAN mutant -DNO_SCAN
verify K3_EARLY mutant -DK3_EARLY
echo "model bias: $passed passed, $failed failed"
[ "$failed" = 0 ]
