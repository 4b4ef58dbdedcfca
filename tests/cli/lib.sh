# tests/cli/lib.sh - what the end-to-end scripts of tests/cli/ share,
# sourced (`. "$(dirname "$0")/lib.sh"`), POSIX sh: the pass/fail/skip
# counts and their summary line, a scratch directory and ring prefix that
# are removed on exit with every background process, running a command
# against an expected exit status, bounded polling for a condition, and
# background commands whose exit status is collected.
#
# A script may set, before it calls the functions:
#   WAIT_STEPS  wait_for's bound, in polls 50 ms apart (default 100: ~5 s)
#   T           seconds expect lets a command run (unset: no bound)

pass=0
fail=0
skip=0
BGPIDS=   # bare background processes: KILLed on exit
TPIDS=    # `timeout` wrappers: TERMed on exit (they pass it on, then KILL)

ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skip=$((skip + 1)); echo "SKIP: $1: $2"; }

# cli_init NAME: rings named /NAME-test-PID-* ($P), a scratch directory
# ($TMP); both go on exit, and every process in $TPIDS and $BGPIDS with them
cli_init() {
	P=$1-test-$$
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmring-$1.XXXXXX")
	trap cli_cleanup EXIT
	trap 'exit 130' INT TERM
}

cli_cleanup() {
	for p in $TPIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $BGPIDS; do kill -9 "$p" 2>/dev/null; done
	exec 3>&- 4>&- 5>&- 6>&-   # a FIFO end the test still holds
	rm -f /dev/shm/"$P"-* 2>/dev/null
	rm -rf "$TMP"
}

# cli_summary NAME: the last line ("NAME: N passed, M failed") and the
# script's exit status (call it last)
cli_summary() {
	[ "$skip" -gt 0 ] && echo "$1: $skip scenario(s) skipped (see SKIP lines)"
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# the interpreter that sees Debian's python3 packages (a python3 earlier on
# PATH, such as a pyenv shim, may not): $PYTHON, else /usr/bin/python3
cli_python() {
	if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"
	elif [ -x /usr/bin/python3 ]; then echo /usr/bin/python3
	else echo python3
	fi
}

# expect CODE DESCRIPTION CMD...: run CMD (within T seconds when T is set),
# output to $TMP/out and $TMP/err, and compare its exit status
expect() {
	want=$1; what=$2; shift 2
	${T:+timeout "$T"} "$@" > "$TMP/out" 2> "$TMP/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		bad "$what: exit $got, expected $want ($(head -c 300 "$TMP/err"))"
	fi
}

# wait_for 'SHELL CONDITION': poll until it holds, at most WAIT_STEPS times
# 50 ms apart; 1 if it never did (the caller fails the step, not the run)
wait_for() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ $i -gt "${WAIT_STEPS:-100}" ] && return 1
		sleep 0.05
	done
	return 0
}

# bg TAG IN OUT CMD...: CMD in the background, standard input from IN,
# output to OUT, standard error to $TMP/TAG.err; $last is its pid.
# rc_of TAG waits (bounded) for its exit status
bg() {
	tag=$1 in=$2 out=$3
	shift 3
	rm -f "$TMP/$tag.rc" "$TMP/$tag.pid"
	( exec 3>&- 4>&- 5>&- 6>&-   # the test's FIFO ends: only the test holds them
	  "$@" < "$in" > "$out" 2> "$TMP/$tag.err" &
	  echo $! > "$TMP/$tag.pid"
	  wait $!
	  echo $? > "$TMP/$tag.rc" ) &
	BGPIDS="$BGPIDS $!"
	wait_for "[ -s '$TMP/$tag.pid' ]" || bad "$tag did not start"
	last=$(cat "$TMP/$tag.pid")
	BGPIDS="$BGPIDS $last"
}
rc_of() {
	wait_for "[ -s '$TMP/$1.rc' ]" && cat "$TMP/$1.rc" || echo "none (still running)"
}
