#!/bin/sh
# tests/model/broadcast_run.sh - model-check the broadcast ring's protocol
# (tests/model/broadcast.pml) with Spin: the real protocol must verify (0
# errors, search complete), every mutant must be caught for the expected
# reason. Builds in a temporary directory, never in the source tree.
#
#   REQUIRE_SPIN=1   no spin installed is a failure (default: print SKIP)
#   MODEL_TRAILS=1   print the error trail of every mutant
#   CC               C compiler for pan (default: cc)
#
# Output: one line per case, then "broadcast model: N passed, M failed".
# The real model takes about 20 s and 400 MB here.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}

if ! command -v spin >/dev/null 2>&1; then
	echo "SKIP: spin not installed"
	[ "${REQUIRE_SPIN:-0}" = 1 ] && exit 1
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmring-bcast-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM

passed=0
failed=0

# check NAME WANT DEFINES...: WANT is empty for the real model (must
# verify), else a fixed string pan's error line must contain
check() {
	name=$1 want=$2
	shift 2
	d=$tmp/$name
	mkdir -p "$d"
	cp "$here/broadcast.pml" "$d/"
	if ! (cd "$d" && spin -a "$@" broadcast.pml && $cc -O2 -DSAFETY -DCOLLAPSE -w -o pan pan.c) \
	        >"$d/build.log" 2>&1; then
		echo "model broadcast: $name ERROR (build)"
		sed 's/^/  /' "$d/build.log"
		failed=$((failed + 1))
		return
	fi
	(cd "$d" && ./pan -m10000) >"$d/pan.log" 2>&1
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$d/pan.log" | tail -n 1)
	states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.log")
	incomplete=
	grep -Eq 'max search depth too small|out of memory|MEMLIM|Search not completed' \
	        "$d/pan.log" && incomplete=1
	if [ -z "$errors" ]; then
		echo "model broadcast: $name ERROR (pan gave no result)"
		tail -n 20 "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	elif [ -z "$want" ]; then
		if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
			echo "model broadcast: real PASS (0 errors, $states states)"
			passed=$((passed + 1))
		else
			echo "model broadcast: real FAIL ($errors errors, $states states)"
			(cd "$d" && spin -t -p "$@" broadcast.pml) 2>&1 | tail -n 60 | sed 's/^/  /'
			failed=$((failed + 1))
		fi
	elif [ "$errors" != 0 ] && grep -E '^pan:[0-9]+: ' "$d/pan.log" | grep -qF "$want"; then
		echo "model broadcast: mutant $name FAIL as expected ($want)"
		passed=$((passed + 1))
		[ "${MODEL_TRAILS:-0}" = 1 ] && (cd "$d" && spin -t -p "$@" broadcast.pml) 2>&1 |
			sed 's/^/  /'
	elif [ "$errors" != 0 ]; then
		echo "model broadcast: mutant $name ERROR (failed, but not with \"$want\")"
		grep -E '^pan:[0-9]+: ' "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	else
		echo "model broadcast: mutant $name NOT CAUGHT (0 errors, $states states)"
		failed=$((failed + 1))
	fi
}

check real ""
# an overwrite under a reader: the joiner started before its re-check, the
# producer wrote on past its cached limit, or its minimum ignored itself
check JOIN_NO_RECHECK "assertion violated (v==pos)" -DJOIN_NO_RECHECK
check NO_RESCAN "assertion violated (v==pos)" -DNO_RESCAN
check NO_SELF_BOUND "assertion violated (v==pos)" -DNO_SELF_BOUND
# a lost wake-up: somebody sleeps for ever
check NO_SPACE_WAKE "invalid end state" -DNO_SPACE_WAKE
check NO_DATA_WAKE "invalid end state" -DNO_DATA_WAKE
check NO_JOIN_WAKE "invalid end state" -DNO_JOIN_WAKE

echo "broadcast model: $passed passed, $failed failed"
[ "$failed" = 0 ]
