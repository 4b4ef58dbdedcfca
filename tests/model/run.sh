#!/bin/sh
# tests/model/run.sh - model-check the sleep/wake handshake:
#   - with Spin (wake.pml): sequentially consistent, 2 consumers, 2 producers
#   - with Relacy (wake_relacy.cc): the C11 memory model, so the fences count
#
# Verifies the real protocol (Spin: 0 errors, search complete; Relacy: no
# failure, the 1-waiter search exhausted) and each mutant (must fail, for
# the expected reason). Builds in a temporary directory, never in the source
# tree.
#
#   MODEL_ONLY=spin|relacy  run one of the two (default: both)
#   REQUIRE_SPIN=1     no spin installed is a failure (default: print SKIP)
#   REQUIRE_RELACY=1   no relacy-dev installed is a failure (default: SKIP)
#   MODEL_TRAILS=1     print the error trail (spin -t -p) of every Spin mutant
#                      and Relacy's failing execution of every Relacy mutant
#   MODEL_KEEP=1       keep the temporary directory (its path is printed)
#   CC                 C compiler for pan (default: cc)
#   CXX                C++ compiler for the Relacy model (default: g++, then
#                      clang++ if g++ is missing or fails to build it)
#   RELACY_ITERS       executions per 2-waiter Relacy case (random
#                      scheduler; default 300000)
#   RELACY_INCLUDE     where relacy/relacy.hpp is, if not in the compiler's
#                      include path (a source checkout of Relacy)
#
# Output: one line per case, then "N passed, M failed" for both tools
# together. Exit status 0 only if every real model verifies and every mutant
# is caught.
set -u

here=$(cd "$(dirname "$0")" && pwd)
model=$here/wake.pml
cc=${CC:-cc}

run_spin=1
run_relacy=1
case ${MODEL_ONLY:-} in
"") ;;
spin) run_relacy=0 ;;
relacy) run_spin=0 ;;
*) echo "run.sh: MODEL_ONLY must be spin or relacy" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmring-model.XXXXXX") || exit 1
if [ "${MODEL_KEEP:-0}" = 1 ]; then
	echo "model: keeping $tmp"
else
	trap 'rm -rf "$tmp"' EXIT
	trap 'rm -rf "$tmp"; exit 130' INT TERM
fi

passed=0
failed=0

# verify NAME KIND WANT DEFINES...
#   KIND  real: must verify with 0 errors; mutant: must fail
#   WANT  for a mutant: a fixed string the failed assertion must contain
#         (so that a mutant is counted as caught only for the right reason)
verify() {
	name=$1 kind=$2 want=$3
	shift 3
	d=$tmp/$name
	mkdir -p "$d"
	cp "$model" "$d/wake.pml"
	label="$kind $name"
	[ "$kind" = real ] && label=real

	if ! (cd "$d" && spin -a "$@" wake.pml) >"$d/spin.log" 2>&1; then
		echo "model wake: $label ERROR (spin -a failed)"
		sed 's/^/  /' "$d/spin.log"
		failed=$((failed + 1))
		return
	fi
	# SAFETY: assertions and end states only (no cycle detection needed);
	# COLLAPSE: about half the memory for a few percent more time
	if ! (cd "$d" && $cc -O2 -DSAFETY -DCOLLAPSE -w -o pan pan.c) >"$d/cc.log" 2>&1; then
		echo "model wake: $label ERROR (compiling pan failed)"
		sed 's/^/  /' "$d/cc.log"
		failed=$((failed + 1))
		return
	fi
	# -m: depth bound; the real model needs about 120
	(cd "$d" && ./pan -m10000) >"$d/pan.log" 2>&1

	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$d/pan.log" | tail -n 1)
	states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.log")
	if [ -z "$errors" ]; then
		echo "model wake: $label ERROR (pan gave no result)"
		tail -n 20 "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
		return
	fi
	# a search cut short proves nothing
	incomplete=
	if grep -Eq 'max search depth too small|out of memory|MEMLIM|Search not completed' \
	        "$d/pan.log"; then
		incomplete=1
	fi

	if [ "$kind" = real ]; then
		if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
			echo "model wake: real PASS (0 errors, $states states)"
			passed=$((passed + 1))
		else
			why="$errors errors"
			# (pan also says "not completed" when it stops at an error)
			[ "$errors" = 0 ] && why="$why, search incomplete"
			echo "model wake: real FAIL ($why, $states states)"
			grep -E '^pan:[0-9]+: |max search depth|out of memory|MEMLIM' \
				"$d/pan.log" | sed 's/^/  /'
			(cd "$d" && spin -t -p "$@" wake.pml) 2>&1 | tail -n 60 | sed 's/^/  /'
			failed=$((failed + 1))
		fi
		return
	fi

	if [ "$errors" != 0 ] && grep 'assertion violated' "$d/pan.log" | grep -qF "$want"; then
		case $want in
		taken*) what="lost wake-up: messages left while both consumers sleep" ;;
		*) what="stranded sleeper: queued with no announcement left" ;;
		esac
		echo "model wake: mutant $name FAIL as expected (error found: $what)"
		passed=$((passed + 1))
		if [ "${MODEL_TRAILS:-0}" = 1 ]; then
			(cd "$d" && spin -t -p "$@" wake.pml) 2>&1 | sed 's/^/  /'
		fi
	elif [ "$errors" != 0 ]; then
		echo "model wake: mutant $name ERROR (failed, but not with the expected assertion)"
		grep -E '^pan:[0-9]+: ' "$d/pan.log" | sed 's/^/  /'
		failed=$((failed + 1))
	else
		echo "model wake: mutant $name NOT CAUGHT (0 errors, $states states)"
		failed=$((failed + 1))
	fi
}

spin_cases() {
	# the protocol as specified, with both properties
	verify real real ""
	# the three mutants of the brief, against the lost-message property
	# alone: each loses a message outright (the stranded-sleeper check,
	# left out here, would catch them too, earlier)
	verify NO_RECHECK mutant "taken==" -DNO_RECHECK -DNO_STRANDED_CHECK
	verify SNAP_AFTER_RECHECK mutant "taken==" -DSNAP_AFTER_RECHECK -DNO_STRANDED_CHECK
	verify NO_BIT_RECHECK mutant "taken==" -DNO_BIT_RECHECK -DNO_STRANDED_CHECK
	# waking one sleeper after taking every bit: no message is lost with
	# two consumers, but a sleeper is left asleep with no announcement
	verify WAKE_ONE mutant "queued" -DWAKE_ONE
}

# ---- Relacy ----------------------------------------------------------------

relacy_bin=$tmp/relacy/wake_relacy

# relacy_build_with LOG CXX...: one attempt at building the Relacy model
relacy_build_with() {
	log=$1
	shift
	# -O1: the model runs in a few seconds either way, and builds faster
	"$@" -std=c++11 -O1 -Wall ${RELACY_INCLUDE:+-I"$RELACY_INCLUDE"} \
		-o "$relacy_bin" "$here/wake_relacy.cc" >"$log" 2>&1
}

# build the Relacy model once; 0 if built. Uses $CXX if set, else tries g++
# and then clang++ (Relacy's headers are old; one compiler may reject them)
relacy_build() {
	mkdir -p "$tmp/relacy"
	if [ -n "${CXX:-}" ]; then
		# shellcheck disable=SC2086  # CXX may carry a launcher or flags
		if relacy_build_with "$tmp/relacy/build.log" $CXX; then
			relacy_cxx=$CXX
			return 0
		fi
		echo "model relacy: ERROR (building wake_relacy.cc with $CXX failed)"
		head -n 30 "$tmp/relacy/build.log" | sed 's/^/  /'
		return 1
	fi
	tried=
	for c in g++ clang++ c++; do
		command -v $c >/dev/null 2>&1 || continue
		tried="$tried $c"
		if relacy_build_with "$tmp/relacy/build.$c.log" $c; then
			relacy_cxx=$c
			return 0
		fi
	done
	if [ -z "$tried" ]; then
		echo "model relacy: ERROR (no C++ compiler found: set CXX)"
		return 1
	fi
	echo "model relacy: ERROR (building wake_relacy.cc failed with:$tried)"
	for c in $tried; do
		echo "  $c:"
		head -n 30 "$tmp/relacy/build.$c.log" | sed 's/^/    /'
	done
	return 1
}

# relacy NAME KIND WAITERS SCHED
#   KIND    real: Relacy must find nothing; mutant: it must find a lost
#           wake-up (reported by Relacy as a deadlock: every waiter parked on
#           the futex for ever after the notifier finished)
#   SCHED   full: the full-search scheduler (every interleaving and every
#           value each load may read; it ends only when the search is
#           exhausted); random: RELACY_ITERS random executions (seeded by
#           the execution's number, so the run is repeatable)
relacy() {
	name=$1 kind=$2 nw=$3 sched=$4
	label="$kind $name"
	[ "$kind" = real ] && label=real
	what="$nw waiter"
	[ "$nw" = 1 ] || what="${what}s"
	if [ "$sched" = full ]; then
		what="$what, full search"
		args="$name $nw 0 full"
	else
		what="$what, random"
		args="$name $nw ${RELACY_ITERS:-300000}"
	fi
	report=$tmp/relacy/$name.$nw.$sched.txt
	to=
	command -v timeout >/dev/null 2>&1 && to="timeout 300"
	# shellcheck disable=SC2086
	out=$($to "$relacy_bin" $args "report=$report" 2>&1)
	rc=$?
	res=$(printf '%s\n' "$out" | sed -n 's/^RESULT \([A-Z_]*\) iterations=\([0-9]*\).*/\1/p')
	its=$(printf '%s\n' "$out" | sed -n 's/^RESULT \([A-Z_]*\) iterations=\([0-9]*\).*/\2/p')
	if [ -z "$res" ] || { [ $rc != 0 ] && [ $rc != 1 ]; }; then
		why="exit status $rc"
		[ $rc = 124 ] && why="timed out"
		echo "model relacy: $label ERROR ($what: $why)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/  /'
		failed=$((failed + 1))
		return
	fi

	if [ "$kind" = real ]; then
		if [ "$res" = OK ]; then
			if [ "$sched" = full ]; then
				echo "model relacy: real PASS ($what: all $its executions)"
			else
				echo "model relacy: real PASS ($what: $its executions)"
			fi
			passed=$((passed + 1))
		else
			echo "model relacy: real FAIL ($what: $res at execution $its)"
			sed 's/^/  /' "$report"
			failed=$((failed + 1))
		fi
		return
	fi

	if [ "$res" = DEADLOCK ]; then
		echo "model relacy: mutant $name FAIL as expected (lost wake-up; $what: at execution $its)"
		passed=$((passed + 1))
		[ "${MODEL_TRAILS:-0}" = 1 ] && sed 's/^/  /' "$report"
	elif [ "$res" = OK ]; then
		echo "model relacy: mutant $name NOT CAUGHT ($what: $its executions)"
		failed=$((failed + 1))
	else
		echo "model relacy: mutant $name ERROR ($what: failed, but with $res, not a lost wake-up)"
		sed 's/^/  /' "$report"
		failed=$((failed + 1))
	fi
}

relacy_cases() {
	relacy_build || { failed=$((failed + 1)); return; }
	echo "model relacy: built with $relacy_cxx"
	# one waiter: small enough to search exhaustively; two waiters (woken
	# together by one FUTEX_WAKE): random executions
	relacy real real 1 full
	relacy real real 2 random
	# without either fence, the store->load pairs (W1 -> W4, P1 -> N2) can
	# both read the old value: the waiter misses the index and the notifier
	# misses the announcement (the store-buffering outcome); without the
	# re-check, the notifier may look before the announcement even in order
	for m in NO_W2_FENCE NO_N1_FENCE NO_RECHECK; do
		relacy $m mutant 1 full
		relacy $m mutant 2 random
	done
}

# ---- run -------------------------------------------------------------------

if [ $run_spin = 1 ]; then
	if command -v spin >/dev/null 2>&1; then
		spin_cases
	else
		echo "SKIP: spin not installed"
		[ "${REQUIRE_SPIN:-0}" = 1 ] && failed=$((failed + 1))
	fi
fi

if [ $run_relacy = 1 ]; then
	# the header, where the compiler will look for it (RELACY_INCLUDE: a
	# source checkout of Relacy instead; its relacy/ directory's parent)
	if [ -n "${RELACY_INCLUDE:-}" ] || [ -f /usr/include/relacy/relacy.hpp ] ||
	   [ -f /usr/local/include/relacy/relacy.hpp ]; then
		relacy_cases
	else
		echo "SKIP: relacy-dev not installed"
		[ "${REQUIRE_RELACY:-0}" = 1 ] && failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
