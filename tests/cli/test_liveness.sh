#!/bin/sh
# tests/cli/test_liveness.sh - liveness of peers that a pid and /proc cannot
# vouch for: a producer in another PID namespace, a consumer behind a /proc
# mounted hidepid=2, a producer that exec()s, a producer killed mid-stream.
#   tests/cli/test_liveness.sh PATH/TO/shmring [PATH/TO/exec_producer]
# (exec_producer, built from tests/cli/exec_producer.c, defaults to
# tests/exec_producer next to shmring.) The namespace and /proc steps need
# root; where the kernel refuses them the scenario prints
# "SKIP: <scenario>: <reason>" and counts neither as passed nor as failed.
# Every ring it makes is named /liveness-test-PID-*; all are removed on exit.
# Every wait is bounded (timeout), so a hang is a failure, not a stuck run.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u

CLI=${1:?usage: test_liveness.sh PATH/TO/shmring [PATH/TO/exec_producer]}
case $CLI in /*) ;; *) CLI=$(pwd)/$CLI ;; esac
EXEC_PRODUCER=${2:-$(dirname "$CLI")/tests/exec_producer}
case $EXEC_PRODUCER in /*) ;; *) EXEC_PRODUCER=$(pwd)/$EXEC_PRODUCER ;; esac
. "$(dirname "$0")/lib.sh"
cli_init liveness

now_ms() { echo $(($(date +%s%N) / 1000000)); }
errs() { head -c 300 "$1" | tr '\n' ' '; }
# st RC: "exit RC", saying so when it is timeout's (the command hung)
st() {
	case $1 in
	124|137) echo "exit $1 (killed by timeout: it hung)" ;;
	*) echo "exit $1" ;;
	esac
}

# attached RING producers|consumers: one entry of that side is taken
attached() {
	[ "$("$CLI" info --json "$1" 2>/dev/null | jq ".$2 | length" 2>/dev/null)" = 1 ]
}

# the input: 2 MiB, fed 64 KiB every 50 ms (about 1.6 s) by feed.sh
IN=$TMP/in
head -c 2097152 /dev/urandom > "$IN"
SIZE=2097152
cat > "$TMP/feed.sh" <<'EOF'
#!/bin/sh
# feed.sh FILE: FILE (2 MiB) to standard output, 64 KiB every 50 ms
i=0
while [ $i -lt 32 ]; do
	dd if="$1" bs=65536 skip=$i count=1 status=none || exit 1
	sleep 0.05
	i=$((i + 1))
done
EOF
chmod 755 "$TMP" "$TMP/feed.sh"   # nobody (scenario 2) needs to get in
chmod 644 "$IN"

# same_as_input OUT: OUT is the whole input, byte for byte
same_as_input() { cmp -s "$1" "$IN"; }
# prefix_of_input OUT: OUT is a (possibly empty) prefix of the input
prefix_of_input() {
	n=$(wc -c < "$1")
	[ "$n" -le $SIZE ] && head -c "$n" "$IN" | cmp -s - "$1"
}

start=$(now_ms)

# ---- 1. a producer in its own PID namespace ----
S="1 pid namespace"
if ! unshare --pid --fork --kill-child --mount-proc true > "$TMP/probe.err" 2>&1; then
	skip "$S" "unshare --pid --fork --mount-proc refused ($(errs "$TMP/probe.err"))"
else
	# 1a. 2 MiB slowly from the namespace, popped in the host namespace. The
	# ring holds 512 KiB, so the producer also waits for the consumer.
	R=/$P-pidns
	"$CLI" create "$R" --slots 8 --slot-size 64K
	timeout -k 1 10 "$CLI" pop --wait 0 "$R" > "$TMP/out1" 2> "$TMP/pop1.err" &
	pop=$!
	TPIDS="$TPIDS $pop"
	wait_for 'attached "$R" consumers' || bad "$S: pop did not attach"
	timeout -k 1 10 unshare --pid --fork --kill-child --mount-proc \
		sh -c 'sh "$1" "$2" | "$3" push --no-create "$4"' \
		sh "$TMP/feed.sh" "$IN" "$CLI" "$R" 2> "$TMP/push1.err" &
	push=$!
	TPIDS="$TPIDS $push"
	wait $pop
	qrc=$?
	wait $push
	prc=$?
	n=$(wc -c < "$TMP/out1")
	[ $qrc -eq 0 ] && ok ||
		bad "$S: pop $(st $qrc), expected 0 ($(errs "$TMP/pop1.err"))"
	same_as_input "$TMP/out1" && ok ||
		bad "$S: pop wrote $n of $SIZE bytes$(prefix_of_input "$TMP/out1" || echo ', NOT a prefix of the input')"
	[ $prc -eq 0 ] && ok ||
		bad "$S: namespaced push $(st $prc), expected 0 ($(errs "$TMP/push1.err"))"

	# 1b. the namespaced producer holds an SPSC ring's producer role: a
	# second push from the host namespace is refused at once (7)
	R=/$P-pidns-held
	"$CLI" create "$R" --slots 8 --slot-size 4K
	mkfifo "$TMP/hold"
	timeout -k 1 10 unshare --pid --fork --kill-child --mount-proc \
		sh -c 'exec "$1" push --no-create "$2" < "$3"' \
		sh "$CLI" "$R" "$TMP/hold" 2> "$TMP/hold.err" &
	holder=$!
	TPIDS="$TPIDS $holder"
	exec 4<> "$TMP/hold"   # the holder's stdin stays open until we close it
	if wait_for 'attached "$R" producers'; then
		t0=$(now_ms)
		timeout -k 1 5 "$CLI" push --no-create "$R" < /dev/null > /dev/null 2> "$TMP/push1b.err" 4>&-
		rc=$?
		dt=$(($(now_ms) - t0))
		[ $rc -eq 7 ] && [ $dt -le 2000 ] && ok ||
			bad "$S: second producer from the host: $(st $rc) after $dt ms, expected 7 within 2 s ($(errs "$TMP/push1b.err"))"
		# info shows the holder alive, and says its pid is another namespace's
		"$CLI" info --json "$R" > "$TMP/info1b.json" 2>&1
		[ "$(jq -r '.producers[0] | "\(.alive) \(.other_pidns)"' "$TMP/info1b.json")" = "true true" ] && ok ||
			bad "$S: info does not show the namespaced producer alive in another PID namespace ($(errs "$TMP/info1b.json"))"
	else
		bad "$S: the namespaced producer did not attach ($(errs "$TMP/hold.err"))"
	fi
	exec 4>&-              # end of its input: it shuts down and leaves
	wait $holder
fi

# ---- 2. a consumer that cannot see the producer in /proc ----
S="2 hidepid=2"
kv=$(uname -r | awk -F. '{ printf "%d", $1 * 1000 + $2 }')
PUB=$TMP/pub
mkdir "$PUB"
chmod 1777 "$PUB"
cp "$CLI" "$PUB/shmring"
chmod 755 "$PUB/shmring"
: > "$PUB/out2"
chmod 666 "$PUB/out2"
cat > "$PUB/hard.sh" <<'EOF'
#!/bin/sh
# hard.sh CMD ARGS...: in a private mount namespace, remount /proc with
# hidepid=2, then run CMD ARGS as nobody (the last ARG may be "> FILE")
mount -t proc -o hidepid=2 proc /proc || exit 97
exec setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1" sh
EOF
chmod 755 "$PUB/hard.sh"
hard() {  # hard 'SHELL COMMAND': run it as nobody behind hidepid=2
	timeout -k 1 5 unshare --mount --propagation private "$PUB/hard.sh" "$1"
}
if [ "$(id -u)" != 0 ]; then
	skip "$S" "needs root (mount, setpriv)"
elif [ "$kv" -lt 5008 ]; then
	skip "$S" "kernel $(uname -r): before 5.8 hidepid is not per mount, it would change the host's /proc"
elif ! hard 'test -e /proc/self/stat && ! test -e /proc/1/stat' > "$TMP/probe.err" 2>&1; then
	skip "$S" "cannot run as nobody behind a hidepid=2 /proc in a private mount namespace ($(errs "$TMP/probe.err"))"
else
	R=/$P-hidepid
	"$CLI" create "$R" --mode 0666 --slots 8 --slot-size 64K
	timeout -k 1 10 unshare --mount --propagation private "$PUB/hard.sh" \
		"exec $PUB/shmring pop --wait 0 $R > $PUB/out2" 2> "$TMP/pop2.err" &
	pop=$!
	TPIDS="$TPIDS $pop"
	wait_for 'attached "$R" consumers' || bad "$S: pop (as nobody) did not attach ($(errs "$TMP/pop2.err"))"
	timeout -k 1 10 sh -c 'sh "$1" "$2" | "$3" push --no-create "$4"' \
		sh "$TMP/feed.sh" "$IN" "$CLI" "$R" 2> "$TMP/push2.err" &
	push=$!
	TPIDS="$TPIDS $push"
	wait $pop
	qrc=$?
	wait $push
	prc=$?
	n=$(wc -c < "$PUB/out2")
	[ $qrc -eq 0 ] && ok ||
		bad "$S: pop as nobody $(st $qrc), expected 0 ($(errs "$TMP/pop2.err"))"
	same_as_input "$PUB/out2" && ok ||
		bad "$S: pop wrote $n of $SIZE bytes$(prefix_of_input "$PUB/out2" || echo ', NOT a prefix of the input')"
	[ $prc -eq 0 ] && ok ||
		bad "$S: push $(st $prc), expected 0 ($(errs "$TMP/push2.err"))"
fi

# ---- 3. a producer that exec()s: gone, though its pid lives on ----
S="3 exec"
if [ ! -x "$EXEC_PRODUCER" ]; then
	bad "$S: $EXEC_PRODUCER is not built (make test-liveness builds it)"
else
	R=/$P-exec
	"$CLI" create "$R" --slots 8 --slot-size 4K
	timeout -k 1 4 "$CLI" pop --wait 0 "$R" > "$TMP/out3" 2> "$TMP/pop3.err" &
	pop=$!
	TPIDS="$TPIDS $pop"
	wait_for 'attached "$R" consumers' || bad "$S: pop did not attach"
	t0=$(now_ms)
	"$EXEC_PRODUCER" "$R" 6 2> "$TMP/exec.err" &
	ep=$!
	BGPIDS="$BGPIDS $ep"
	wait $pop
	qrc=$?
	dt=$(($(now_ms) - t0))
	[ $qrc -eq 13 ] && ok ||
		bad "$S: pop $(st $qrc) after $dt ms, expected 13 ($(errs "$TMP/pop3.err"))"
	[ $dt -le 2000 ] && ok ||
		bad "$S: pop returned $dt ms after the producer started, expected within 2 s (the exec'd sleep lasts 6 s)"
	[ "$(cat "$TMP/out3")" = x ] && ok || bad "$S: pop wrote '$(head -c 40 "$TMP/out3")', expected 'x' ($(errs "$TMP/exec.err"))"
	kill -9 $ep 2>/dev/null
	wait $ep 2>/dev/null
fi

# ---- 9. a producer killed with SIGKILL mid-stream ----
S="9 SIGKILL"
R=/$P-kill
"$CLI" create "$R" --slots 8 --slot-size 64K
mkfifo "$TMP/kfifo"
if command -v bash > /dev/null; then
	# as a pipeline would see it: pipefail carries pop's status through
	timeout -k 1 10 bash -o pipefail -c '"$1" pop --wait 0 "$2" | cat > "$3"' \
		bash "$CLI" "$R" "$TMP/out9" 2> "$TMP/pop9.err" &
else
	timeout -k 1 10 "$CLI" pop --wait 0 "$R" > "$TMP/out9" 2> "$TMP/pop9.err" &
fi
pop=$!
TPIDS="$TPIDS $pop"
wait_for 'attached "$R" consumers' || bad "$S: pop did not attach"
sh "$TMP/feed.sh" "$IN" > "$TMP/kfifo" 2>/dev/null &
BGPIDS="$BGPIDS $!"
"$CLI" push --no-create "$R" < "$TMP/kfifo" 2>/dev/null &
victim=$!
BGPIDS="$BGPIDS $victim"
wait_for '[ "$(wc -c < "$TMP/out9")" -ge 262144 ]' || bad "$S: nothing came through"
kill -9 $victim
wait $victim 2>/dev/null
wait $pop
qrc=$?
n=$(wc -c < "$TMP/out9")
[ $qrc -eq 13 ] && ok ||
	bad "$S: pop $(st $qrc), expected 13 ($(errs "$TMP/pop9.err"))"
grep -q "producer died" "$TMP/pop9.err" && ok || bad "$S: no warning: $(errs "$TMP/pop9.err")"
prefix_of_input "$TMP/out9" && [ "$n" -gt 0 ] && [ "$n" -lt $SIZE ] && ok ||
	bad "$S: output ($n bytes) is not a proper prefix of the input"

echo "test-liveness: $(($(now_ms) - start)) ms"
cli_summary test-liveness
