# tests/model/spin_cases.sh - sourced by the Spin drivers of one model each
# (bias.sh, broadcast_run.sh): builds the verifier for each case in a
# temporary directory, never in the source tree, and judges it. Before
# sourcing, set TAG (the name in the output lines) and MODEL (the .pml file
# beside this script). Then: check NAME WANT [DEFINES...] per case, and
# spin_cases_done at the end (the summary line, and the exit status).
#   REQUIRE_SPIN=1   no spin installed is a failure (default: print SKIP)
#   MODEL_TRAILS=1   print the error trail of every mutant
#   CC               C compiler for pan (default: cc)

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
if ! command -v spin >/dev/null 2>&1; then
	if [ "${REQUIRE_SPIN:-0}" = 1 ]; then
		echo "model $TAG: ERROR (spin is not installed)"
		exit 1
	fi
	echo "model $TAG: SKIP (spin is not installed)"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmring-model-$TAG.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM
passed=0
failed=0

# check NAME WANT DEFINES...: WANT empty: the real model, which must verify
# (0 errors, search complete); else a mutant, which must fail with an error
# line of pan's that contains the fixed string WANT
check() {
	name=$1 want=$2
	shift 2
	d=$tmp/$name
	mkdir -p "$d"
	cp "$here/$MODEL" "$d/"
	if ! (cd "$d" && spin -a "$@" "$MODEL" && $cc -O2 -DSAFETY -DCOLLAPSE -w -o pan pan.c) \
	        >"$d/build.log" 2>&1; then
		echo "model $TAG: $name ERROR (building the verifier failed)"
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
		echo "model $TAG: $name ERROR (pan gave no result)"
		tail -n 20 "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	elif [ -z "$want" ]; then
		if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
			echo "model $TAG: real PASS (0 errors, $states states)"
			passed=$((passed + 1))
		else
			echo "model $TAG: real FAIL ($errors errors, $states states${incomplete:+, search incomplete})"
			(cd "$d" && spin -t -p "$@" "$MODEL") 2>&1 | tail -n 60 | sed 's/^/  /'
			failed=$((failed + 1))
		fi
	elif [ "$errors" != 0 ] && grep -E '^pan:[0-9]+: ' "$d/pan.log" | grep -qF "$want"; then
		echo "model $TAG: mutant $name FAIL as expected ($want)"
		passed=$((passed + 1))
		[ "${MODEL_TRAILS:-0}" = 1 ] && (cd "$d" && spin -t -p "$@" "$MODEL") 2>&1 |
			sed 's/^/  /'
	elif [ "$errors" != 0 ]; then
		echo "model $TAG: mutant $name ERROR (failed, but not with \"$want\")"
		grep -E '^pan:[0-9]+: ' "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	else
		echo "model $TAG: mutant $name NOT CAUGHT (0 errors, $states states)"
		failed=$((failed + 1))
	fi
}

spin_cases_done() {
	echo "model $TAG: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}
