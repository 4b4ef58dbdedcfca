#!/bin/sh
# tests/cli/test_cli.sh - the shmring command-line tool end to end.
#   tests/cli/test_cli.sh PATH/TO/shmring PATH/TO/swap_shim.so
# Every ring it makes is named /cli-test-PID-* or lies in a temporary
# directory; all are removed on exit.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u

CLI=${1:?usage: test_cli.sh PATH/TO/shmring PATH/TO/swap_shim.so}
case $CLI in /*) ;; *) CLI=$(pwd)/$CLI ;; esac
SHIM=${2:?usage: test_cli.sh PATH/TO/shmring PATH/TO/swap_shim.so}
case $SHIM in /*) ;; *) SHIM=$(pwd)/$SHIM ;; esac
. "$(dirname "$0")/lib.sh"
cli_init cli

json_get() {  # json_get FILE JQ-EXPR
	jq -r "$2" < "$1"
}

sent_is() {   # sent_is RING N: the ring's stats.sent is N
	[ "$("$CLI" info --json "$1" 2> /dev/null | jq .stats.sent)" = "$2" ]
}

# ---- help and usage ----
expect 0 "shmring --help" "$CLI" --help
grep -q '^Usage: shmring COMMAND' "$TMP/out" && ok || bad "--help text"
cp "$TMP/out" "$TMP/help"
for c in create info ls rm push pop watch bench bridge; do
	expect 0 "shmring $c --help" "$CLI" "$c" --help
	grep -q "^Usage: shmring $c" "$TMP/out" && ok || bad "$c --help text"
done
# --help lists every exit code tools/cli.h defines, one a line
for code in $(sed -n 's/^#define EX_[A-Z]* *\([0-9][0-9]*\).*/\1/p' \
	"$(dirname "$0")/../../tools/cli.h"); do
	grep -Eq "^ +$code  [a-z]" "$TMP/help" && ok || bad "--help does not list exit code $code"
done
# --version: the library's full version, from shmring.h
hdr="$(dirname "$0")/../../include/shmring.h"
v=$(for p in MAJOR MINOR PATCH; do
	sed -n "s/^#define SHMRING_VERSION_$p *\([0-9]*\).*/\1/p" "$hdr"; done | paste -sd.)
expect 0 "shmring --version" "$CLI" --version
[ "$(cat "$TMP/out")" = "shmring $v" ] && ok || bad "--version says '$(cat "$TMP/out")', not 'shmring $v'"
expect 2 "no command" "$CLI"
expect 2 "unknown command" "$CLI" frobnicate
expect 2 "push without NAME" "$CLI" push
expect 2 "bad option" "$CLI" info --bogus /x
[ "$(wc -l < "$TMP/err")" -eq 1 ] && ok || bad "usage error is one line"

# ---- create / errors ----
R=/$P-a
expect 0 "create" "$CLI" create "$R" --slots 16 --slot-size 4K
expect 4 "create twice" "$CLI" create "$R"
grep -q "^shmring: create $R: ring already exists\$" "$TMP/err" && ok || bad "EEXIST message"
expect 2 "slots not a power of two" "$CLI" create "/$P-x" --slots 3
expect 2 "bad kind" "$CLI" create "/$P-x" --kind lifo
expect 2 "bad name" "$CLI" create "/$P-$(head -c 300 /dev/zero | tr '\0' x)"
# a '/' after the first character makes a file path: here in a missing directory
expect 3 "a path, not a shm name" "$CLI" create "/$P/x"
expect 3 "info of a missing ring" "$CLI" info "/$P-missing"
grep -q "^shmring: info /$P-missing: no such ring\$" "$TMP/err" && ok || bad "ENOENT message"
head -c 8192 /dev/urandom > "/dev/shm/$P-notring"
expect 6 "info of a non-shmring" "$CLI" info "/$P-notring"
expect 6 "rm of a non-shmring" "$CLI" rm "/$P-notring"
[ -e "/dev/shm/$P-notring" ] && ok || bad "rm removed a non-shmring"

# ---- info / --json / ls ----
expect 0 "info" "$CLI" info "$R"
grep -q '^kind: *spsc' "$TMP/out" && grep -q '^slots: *16 x 4096' "$TMP/out" && ok ||
	bad "info text"
expect 0 "info --json" "$CLI" info --json "$R"
[ "$(json_get "$TMP/out" '.slots, .slot_size, .kind, .state' | tr '\n' ' ')" = "16 4096 spsc idle " ] &&
	ok || bad "info --json fields: $(cat "$TMP/out")"
expect 0 "ls" "$CLI" ls "/$P-*"
grep -q "^$R " "$TMP/out" && ok || bad "ls lists the ring"
grep -q "notring" "$TMP/out" && bad "ls lists a non-shmring" || ok
expect 0 "ls --json" "$CLI" ls --json "/$P-*"
[ "$(json_get "$TMP/out" 'length')" = 1 ] && ok || bad "ls --json: $(cat "$TMP/out")"
# a ring this user cannot read: a warning, not fatal (needs a second user)
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	"$CLI" create "/$P-private" --slots 2 --slot-size 64 --mode 0600
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CLI" ls "/$P-*" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ $rc -eq 0 ] && grep -q "warning: /$P-private: permission denied" "$TMP/err" && ok ||
		bad "ls of an unreadable ring: exit $rc, $(cat "$TMP/err")"
	"$CLI" rm "/$P-private"
fi

# ---- a ring of another layout version: -EPROTO, both versions named ----
"$CLI" create /$P-oldlayout --slots 8 --slot-size 64 2>/dev/null || bad "create oldlayout"
printf '\002' | dd of=/dev/shm/$P-oldlayout bs=1 seek=8 conv=notrunc 2>/dev/null   # version := 2
expect 6 "info on a layout-2 ring" "$CLI" info /$P-oldlayout
grep -q "layout version 2; this shmring .* speaks layout version 4" "$TMP/err" && ok ||
	bad "layout message: $(cat "$TMP/err")"
expect 6 "pop on a layout-2 ring" "$CLI" pop --timeout 0.1 /$P-oldlayout
grep -q "layout version 2" "$TMP/err" && ok || bad "pop layout message: $(cat "$TMP/err")"
expect 0 "rm of a layout-2 ring (it is a shmring)" "$CLI" rm /$P-oldlayout
[ ! -e /dev/shm/$P-oldlayout ] && ok || bad "layout-2 ring not removed"
# ls and rm --stale show rings of other layout versions (3: an older one,
# whose liveness locks this tool knows; 99: unknown); a live holder of one
# is the OFD lock on its entry's byte, taken here by hand (consumer entry
# 0: byte 64), since the library cannot attach to it
for v in 3 99; do
	"$CLI" create "/$P-v$v" --slots 8 --slot-size 64 || bad "create v$v"
	printf "$(printf '\\%03o' $v)" | dd of=/dev/shm/$P-v$v bs=1 seek=8 conv=notrunc 2>/dev/null
done
expect 0 "ls with rings of other layout versions" "$CLI" ls "/$P-v*"
grep -q "^/$P-v3 *spsc *8 x 64 B .*layout-v3 (unreadable)" "$TMP/out" &&
	grep -q "^/$P-v99 .*layout-v99 (unreadable)" "$TMP/out" &&
	grep -q "warning: /$P-v3: layout version 3; this shmring .* speaks layout version" "$TMP/err" &&
	grep -q "warning: /$P-v99: layout version 99" "$TMP/err" && ok ||
	bad "ls of other layout versions: $(cat "$TMP/out" "$TMP/err")"
expect 0 "ls --json with rings of other layout versions" "$CLI" ls --json "/$P-v*"
[ "$(json_get "$TMP/out" 'map("\(.name) \(.layout_version) \(.readable) \(.warning | length > 0) \(.kind)") | join(",")')" = \
  "/$P-v3 3 false true spsc,/$P-v99 99 false true null" ] && ok ||
	bad "ls --json of other layout versions: $(cat "$TMP/out")"
cat > "$TMP/holdlock.py" <<'EOF_PY'
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
lock = struct.pack("hhxxxxqqi4x", fcntl.F_WRLCK, os.SEEK_SET, int(sys.argv[2]), 1, 0)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lock)   # struct flock, 64-bit Linux
print("held", flush=True)
sys.stdin.read()   # until the test closes our input
EOF_PY
mkfifo "$TMP/holdin"
exec 6<> "$TMP/holdin"
bg hold "$TMP/holdin" "$TMP/hold.out" python3 "$TMP/holdlock.py" /dev/shm/$P-v3 64
wait_for '[ -s "$TMP/hold.out" ]' || bad "the lock holder did not start ($(cat "$TMP/hold.err"))"
expect 0 "ls of a held ring of another version" "$CLI" ls "/$P-v3"
grep -q "^/$P-v3 .* 0/- *1/- .*layout-v3" "$TMP/out" && ok || bad "ls of a held v3 ring: $(cat "$TMP/out")"
expect 0 "rm --stale with held or unknown other versions" "$CLI" rm --stale "/$P-v*"
[ -e /dev/shm/$P-v3 ] && [ -e /dev/shm/$P-v99 ] && [ ! -s "$TMP/out" ] &&
	grep -q "rm /$P-v99: warning: not removed: layout version 99" "$TMP/err" && ok ||
	bad "rm --stale removed a held or unknown ring: $(cat "$TMP/out" "$TMP/err")"
exec 6>&-   # the holder reads end of input and exits: the lock is gone
[ "$(rc_of hold)" = 0 ] || bad "lock holder: $(cat "$TMP/hold.err")"
expect 0 "rm --stale --dry-run, other versions" "$CLI" rm --stale --dry-run "/$P-v*"
[ "$(cat "$TMP/out")" = "would remove /$P-v3 (layout version 3)" ] && ok ||
	bad "rm --stale --dry-run: $(cat "$TMP/out")"
expect 0 "rm --stale, other versions" "$CLI" rm --stale "/$P-v*"
[ ! -e /dev/shm/$P-v3 ] && [ -e /dev/shm/$P-v99 ] && ok ||
	bad "rm --stale of a free v3 ring: $(cat "$TMP/out" "$TMP/err")"
expect 0 "rm of a layout-99 ring by name" "$CLI" rm "/$P-v99"

# ---- byte stream: binary data carried exactly ----
head -c 3000000 /dev/urandom > "$TMP/big"
want=$(sha256sum < "$TMP/big" | cut -d' ' -f1)
# pop first (it waits for the ring), push creates it
"$CLI" pop "/$P-bytes" > "$TMP/copy" 2> "$TMP/pop.err" &
popper=$!
"$CLI" push "/$P-bytes" < "$TMP/big"
prc=$?
wait $popper
qrc=$?
got=$(sha256sum < "$TMP/copy" | cut -d' ' -f1)
[ $prc -eq 0 ] && [ $qrc -eq 0 ] && [ "$got" = "$want" ] && ok ||
	bad "binary push/pop: push $prc pop $qrc sha $got != $want"
# a clean end (push shut the stream down): exit 0 and no warning
[ ! -s "$TMP/pop.err" ] && ok || bad "clean stream, yet pop warned: $(cat "$TMP/pop.err")"
# the same ring again, twice, in both orders: a finished stream's end must
# not end the next pop, nor must a full ring fail the next push
for order in pop-first push-first; do
	if [ $order = pop-first ]; then
		"$CLI" pop "/$P-bytes" > "$TMP/copy" &
		popper=$!
		sleep 0.1
		"$CLI" push "/$P-bytes" < "$TMP/big"
		prc=$?
		wait $popper
		qrc=$?
	else
		"$CLI" push "/$P-bytes" < "$TMP/big" &
		pusher=$!
		sleep 0.2
		"$CLI" pop "/$P-bytes" > "$TMP/copy"
		qrc=$?
		wait $pusher
		prc=$?
	fi
	got=$(sha256sum < "$TMP/copy" | cut -d' ' -f1)
	[ $prc -eq 0 ] && [ $qrc -eq 0 ] && [ "$got" = "$want" ] && ok ||
		bad "ring reused ($order): push $prc pop $qrc sha $got != $want"
done
# odd slot size, MPMC kind, and push finishing before pop starts
"$CLI" create "/$P-odd" --kind mpmc --slots 1024 --slot-size 1000
"$CLI" push "/$P-odd" < "$TMP/big" &
pusher=$!
BGPIDS="$BGPIDS $pusher"
"$CLI" pop --unlink "/$P-odd" > "$TMP/copy2"
qrc=$?
wait $pusher
prc=$?
got=$(sha256sum < "$TMP/copy2" | cut -d' ' -f1)
[ $prc -eq 0 ] && [ $qrc -eq 0 ] && [ "$got" = "$want" ] && ok ||
	bad "mpmc odd-size push/pop: push $prc pop $qrc"
[ ! -e "/dev/shm/$P-odd" ] && ok || bad "pop --unlink left the ring"
# small input pushed completely before any consumer exists
printf 'hello\0world' > "$TMP/small"
expect 0 "push before pop" "$CLI" push "/$P-early" < "$TMP/small"
expect 0 "pop after push" "$CLI" pop "/$P-early"
cmp -s "$TMP/out" "$TMP/small" && ok || bad "push-then-pop content"
expect 0 "info after the stream" "$CLI" info --json "/$P-early"
[ "$(json_get "$TMP/out" '.eof, .shutdowns, .end_reason')" = "true
1
clean" ] && ok || bad "eof after shutdown: $(cat "$TMP/out")"
# empty input
expect 0 "push of empty input" "$CLI" push "/$P-empty" < /dev/null
expect 0 "pop of an empty stream" "$CLI" pop "/$P-empty"
[ ! -s "$TMP/out" ] && ok || bad "empty stream gave bytes"

# ---- --lines ----
printf 'one\ntwo two\n\nfour\nno newline at end' > "$TMP/lines"
expect 0 "push --lines" "$CLI" push --lines --slot-size 64 "/$P-lines" < "$TMP/lines"
expect 0 "pop --lines --count" "$CLI" pop --lines --count 2 "/$P-lines"
[ "$(cat "$TMP/out")" = "one
two two" ] && ok || bad "pop --count 2: $(cat "$TMP/out")"
expect 0 "pop --lines (rest)" "$CLI" pop --lines "/$P-lines"
printf '\nfour\nno newline at end\n' | cmp -s - "$TMP/out" && ok || bad "pop --lines rest"
expect 0 "info counts lines" "$CLI" info --json "/$P-lines"
[ "$(json_get "$TMP/out" '.stats.sent')" = 5 ] && ok || bad "5 line messages"
head -c 100 /dev/zero | tr '\0' x > "$TMP/long"
expect 9 "line longer than a slot" "$CLI" push --lines "/$P-lines" < "$TMP/long"
grep -q "longer than the slot size (64)" "$TMP/err" && ok || bad "EMSGSIZE message"
expect 13 "pop after a line too long: the stream was aborted" timeout 20 "$CLI" pop --wait 0 "/$P-lines"
grep -q "aborted by its producer" "$TMP/err" && ok || bad "pop after EMSGSIZE: $(cat "$TMP/err")"

# ---- how a stream ended: push shuts it down only after all its input ----
# push fed from a FIFO that never ends, stopped by a signal once its lines
# are in the ring: exit 130, and the stream is aborted, so pop takes what
# was sent and exits 13 (a complete stream pops with 0: above)
mkfifo "$TMP/sigin"
for sig in INT TERM HUP PIPE; do
	R=/$P-sig$sig
	exec 4<> "$TMP/sigin"   # read-write: no wait for a reader, no end of input
	bg push "$TMP/sigin" /dev/null "$CLI" push --lines --slots 128 "$R"
	seq 1 100 >&4
	wait_for 'sent_is "$R" 100' || bad "SIG$sig: push did not send its 100 lines"
	kill -$sig $last
	[ "$(rc_of push)" = 130 ] && ok || bad "push after SIG$sig: exit $(rc_of push) ($(cat "$TMP/push.err"))"
	exec 4>&-
	[ "$("$CLI" info --json "$R" | jq -r .end_reason)" = aborted ] && ok ||
		bad "info after SIG$sig: end_reason $("$CLI" info --json "$R" | jq .end_reason)"
	expect 13 "pop of a stream whose push got SIG$sig" timeout 20 "$CLI" pop --lines --wait 0 "$R"
	seq 1 100 | cmp -s - "$TMP/out" && grep -q "aborted by its producer" "$TMP/err" && ok ||
		bad "pop after SIG$sig: $(wc -l < "$TMP/out") lines, $(cat "$TMP/err")"
done
# pop interrupted while push waits on the full ring (pop's reader stalls: a
# FIFO nobody reads, so pop sits in write()): pop exits 130 at once, push
# finds its consumer gone (8) and aborts, a later pop of what is left 13
R=/$P-popint
"$CLI" create "$R" --slots 4 --slot-size 4K
mkfifo "$TMP/stall"
exec 5<> "$TMP/stall"
bg push /dev/zero /dev/null "$CLI" push "$R"
pusher=$last
bg pop /dev/null "$TMP/stall" "$CLI" pop "$R"
wait_for '[ "$("$CLI" info --json "$R" | jq ".used == 4 and .stats.full_waits > 0")" = true ]' ||
	bad "push did not block on the full ring /$P-popint"
kill -INT $last
[ "$(rc_of pop)" = 130 ] && ok || bad "pop interrupted in a blocked write: exit $(rc_of pop)"
[ "$(rc_of push)" = 8 ] && grep -q "no consumer left" "$TMP/push.err" && ok ||
	bad "push after its consumer was interrupted: exit $(rc_of push) ($(cat "$TMP/push.err"))"
exec 5>&-
expect 13 "pop of the leftovers of an aborted stream" timeout 20 "$CLI" pop --wait 0 "$R"
[ "$(wc -c < "$TMP/out")" -gt 0 ] && grep -q "aborted by its producer" "$TMP/err" && ok ||
	bad "pop of the leftovers: $(wc -c < "$TMP/out") bytes, $(cat "$TMP/err")"

# ---- push --timeout: no room for that long fails (10) and aborts ----
R=/$P-pto
"$CLI" create "$R" --slots 2 --slot-size 64
expect 2 "push --timeout not a number" "$CLI" push --timeout soon "$R"
seq 1 10 > "$TMP/ten"
t0=$(date +%s%N)
expect 10 "push --timeout into a ring nobody drains" timeout 20 "$CLI" push --lines --timeout 0.3 "$R" < "$TMP/ten"
t1=$(date +%s%N)
grep -q "no room in the ring for 0.3 s" "$TMP/err" && [ $(( (t1 - t0) / 1000000 )) -ge 300 ] && ok ||
	bad "push --timeout: $(( (t1 - t0) / 1000000 )) ms, $(cat "$TMP/err")"
expect 13 "pop after push --timeout" timeout 20 "$CLI" pop --lines --wait 0 "$R"
[ "$(tr '\n' ' ' < "$TMP/out")" = "1 2 " ] && grep -q "aborted by its producer" "$TMP/err" && ok ||
	bad "pop after push --timeout: $(cat "$TMP/out") $(cat "$TMP/err")"
# a consumer that keeps up: --timeout never fires
bg pop /dev/null "$TMP/pto.out" "$CLI" pop --lines "$R"
seq 1 5000 > "$TMP/many"
expect 0 "push --timeout with a consumer" timeout 20 "$CLI" push --lines --timeout 5 "$R" < "$TMP/many"
[ "$(rc_of pop)" = 0 ] && cmp -s "$TMP/many" "$TMP/pto.out" && ok ||
	bad "pop beside push --timeout: exit $(rc_of pop)"

# ---- pop: waiting, timeouts, busy, closed stdout ----
expect 3 "pop --wait 0 of a missing ring" "$CLI" pop --wait 0 "/$P-nothere"
"$CLI" create "/$P-live" --slots 8 --slot-size 4K
mkfifo "$TMP/fifo"
sleep 30 > "$TMP/fifo" &
BGPIDS="$BGPIDS $!"
"$CLI" push "/$P-live" < "$TMP/fifo" &
BGPIDS="$BGPIDS $!"
wait_for '[ "$("$CLI" info --json "/$P-live" | jq ".producers | length")" = 1 ]' ||
	bad "push did not attach"
expect 10 "pop --timeout with a silent producer" "$CLI" pop --timeout 0.3 "/$P-live"
"$CLI" pop "/$P-live" > /dev/null &
first=$!
BGPIDS="$BGPIDS $first"
wait_for '[ "$("$CLI" info --json "/$P-live" | jq ".consumers | length")" = 1 ]' ||
	bad "pop did not attach"
expect 7 "second consumer of an spsc ring" "$CLI" pop --wait 0 "/$P-live"
grep -q "role held by a live process" "$TMP/err" && ok || bad "EBUSY message"
kill -TERM $first
wait $first
rc=$?
[ $rc -eq 130 ] && ok || bad "pop after SIGTERM: exit $rc"
# several rings in one pop: one shmring_poll over all of them
for k in 1 2 3; do
	seq -f "ring$k line %g" 1 3000 > "$TMP/in$k"
done
( "$CLI" pop --lines --wait 5 "/$P-m1" "/$P-m2" "/$P-m3" > "$TMP/merged" 2> "$TMP/merged.err"
  echo $? > "$TMP/mergedrc" ) &
merger=$!
for k in 3 1 2; do
	"$CLI" push --lines --slots 8 --slot-size 64 "/$P-m$k" < "$TMP/in$k" &
	BGPIDS="$BGPIDS $!"
done
wait $merger
[ "$(cat "$TMP/mergedrc")" = 0 ] && [ ! -s "$TMP/merged.err" ] && ok ||
	bad "pop of 3 rings: exit $(cat "$TMP/mergedrc") $(cat "$TMP/merged.err")"
for k in 1 2 3; do   # each ring's lines all there, in their order
	grep "^ring$k " "$TMP/merged" | cmp -s - "$TMP/in$k" && ok || bad "pop of 3 rings: ring $k's lines"
done
[ "$(wc -l < "$TMP/merged")" -eq 9000 ] && ok || bad "pop of 3 rings: $(wc -l < "$TMP/merged") lines"
expect 2 "pop of one ring twice" "$CLI" pop "/$P-m1" "/$P-m1"
expect 3 "pop --wait 0 of a ring and a missing one" "$CLI" pop --wait 0 "/$P-m1" "/$P-nothere"
grep -q "^shmring: pop /$P-nothere: no such ring\$" "$TMP/err" && ok || bad "pop of 2 rings: ENOENT names the missing one"
# --count counts across the rings; a producer that died makes the end 13
printf 'a\nb\n' | "$CLI" push --lines "/$P-m1"
printf 'c\n' | "$CLI" push --lines "/$P-m2"
expect 0 "pop --count over 2 rings" "$CLI" pop --lines --count 3 --wait 0 "/$P-m1" "/$P-m2"
[ "$(sort "$TMP/out" | tr '\n' ' ')" = "a b c " ] && ok || bad "pop --count 3 of 2 rings: $(cat "$TMP/out")"
"$CLI" create "/$P-mdead" --slots 4 --slot-size 1K
"$CLI" push "/$P-mdead" < /dev/zero &
victim=$!
BGPIDS="$BGPIDS $victim"
wait_for '[ "$("$CLI" info --json "/$P-mdead" | jq ".used")" = 4 ]' || bad "ring /$P-mdead did not fill"
kill -9 $victim
wait $victim 2>/dev/null
printf 'tail\n' | "$CLI" push "/$P-m3"
expect 13 "pop of 2 rings, one producer died" "$CLI" pop --wait 0 "/$P-m3" "/$P-mdead"
[ "$(wc -c < "$TMP/out")" -eq 4101 ] && grep -q "^shmring: pop /$P-mdead: warning" "$TMP/err" && ok ||
	bad "pop of 2 rings with a dead producer: $(wc -c < "$TMP/out") bytes, $(cat "$TMP/err")"
# SIGTERM while it waits on several live rings: 130, promptly
"$CLI" create "/$P-w1" --slots 4 --slot-size 64
"$CLI" create "/$P-w2" --slots 4 --slot-size 64
"$CLI" pop "/$P-w1" "/$P-w2" > /dev/null &
waiter=$!
BGPIDS="$BGPIDS $waiter"
wait_for '[ "$("$CLI" info --json "/$P-w2" | jq ".consumers | length")" = 1 ]' ||
	bad "pop of 2 rings did not attach"
kill -TERM $waiter
wait $waiter
rc=$?
[ $rc -eq 130 ] && ok || bad "pop of 2 rings after SIGTERM: exit $rc"
# stdout closed by its reader: pop leaves with 11, push then sees no consumer (8)
"$CLI" create "/$P-head" --slots 4 --slot-size 4K
head -c 2000000 /dev/urandom > "$TMP/mid"
"$CLI" push "/$P-head" < "$TMP/mid" 2> "$TMP/push.err" &
pusher=$!
( "$CLI" pop "/$P-head"; echo $? > "$TMP/poprc" ) | head -c 1000 > /dev/null
wait $pusher
prc=$?
[ "$(cat "$TMP/poprc")" = 11 ] && ok || bad "pop into a closed pipe: exit $(cat "$TMP/poprc")"
[ $prc -eq 8 ] && grep -q "no consumer left" "$TMP/push.err" && ok ||
	bad "push after the consumer left: exit $prc $(cat "$TMP/push.err")"
# the consumer killed with SIGKILL: push also ends with 8, and does not hang
"$CLI" create "/$P-cdead" --slots 4 --slot-size 4K
( "$CLI" push "/$P-cdead" < /dev/zero 2> "$TMP/push.err"; echo $? > "$TMP/pushrc" ) &
BGPIDS="$BGPIDS $!"
"$CLI" pop "/$P-cdead" > /dev/null &
cvictim=$!
BGPIDS="$BGPIDS $cvictim"
wait_for '[ "$("$CLI" info --json "/$P-cdead" | jq ".stats.received > 100")" = true ]' ||
	bad "push/pop to /$P-cdead did not start"
kill -9 $cvictim
wait $cvictim 2>/dev/null
wait_for '[ -s "$TMP/pushrc" ]' || bad "push hung after its consumer was SIGKILLed"
[ "$(cat "$TMP/pushrc" 2>/dev/null)" = 8 ] && grep -q "no consumer left" "$TMP/push.err" && ok ||
	bad "push after the consumer was SIGKILLed: exit $(cat "$TMP/pushrc" 2>/dev/null) $(cat "$TMP/push.err")"

# ---- a producer killed with SIGKILL shows as dead; rm --stale ----
"$CLI" create "/$P-dead" --slots 4 --slot-size 1K
"$CLI" push "/$P-dead" < /dev/zero &
victim=$!
BGPIDS="$BGPIDS $victim"
wait_for '[ "$("$CLI" info --json "/$P-dead" | jq ".used")" = 4 ]' || bad "ring did not fill"
kill -9 $victim
wait $victim 2>/dev/null
expect 0 "info after SIGKILL" "$CLI" info --json "/$P-dead"
[ "$(json_get "$TMP/out" '.producers[0].pid, .producers[0].alive, .eof, .end_reason' | tr '\n' ' ')" = "$victim false true died " ] &&
	ok || bad "killed producer not reported dead: $(cat "$TMP/out")"
expect 0 "info text after SIGKILL" "$CLI" info "/$P-dead"
grep -q "^producers: *pid $victim DEAD" "$TMP/out" && ok || bad "info text: DEAD"
# pop drains what the dead producer committed, says it did not shut down,
# and exits 13 (the stream may be truncated)
expect 13 "pop after the producer died" "$CLI" pop --wait 0 "/$P-dead"
[ "$(wc -c < "$TMP/out")" -eq 4096 ] && grep -Eq "ended without a shutdown|producer died" "$TMP/err" &&
	ok || bad "pop of a dead producer's ring: $(wc -c < "$TMP/out") bytes, $(cat "$TMP/err")"
# a producer killed mid-stream while pop reads: pop exits 13 and what it
# wrote is a prefix of the input (everything committed before the kill)
"$CLI" create "/$P-cut" --slots 4 --slot-size 4K
mkfifo "$TMP/cutfifo"
( "$CLI" pop --wait 0 "/$P-cut" > "$TMP/cut" 2> "$TMP/cut.err"; echo $? > "$TMP/cutrc" ) &
BGPIDS="$BGPIDS $!"
wait_for '[ "$("$CLI" info --json "/$P-cut" | jq ".consumers | length")" = 1 ]' ||
	bad "pop did not attach to /$P-cut"
"$CLI" push --no-create "/$P-cut" < "$TMP/cutfifo" &
victim=$!
BGPIDS="$BGPIDS $victim"
exec 3> "$TMP/cutfifo"
head -c 300000 "$TMP/big" >&3      # the rest never comes: push waits on its input
wait_for '[ "$(wc -c < "$TMP/cut")" -eq 300000 ]' || bad "pop got $(wc -c < "$TMP/cut") of 300000 bytes"
kill -9 $victim
wait $victim 2>/dev/null
wait_for '[ -s "$TMP/cutrc" ]' || bad "pop hung after its producer was SIGKILLed"
exec 3>&-
n=$(wc -c < "$TMP/cut")
[ "$(cat "$TMP/cutrc" 2>/dev/null)" = 13 ] && grep -q "producer died" "$TMP/cut.err" && ok ||
	bad "pop of a producer killed mid-stream: exit $(cat "$TMP/cutrc" 2>/dev/null), $(cat "$TMP/cut.err")"
[ "$n" -gt 0 ] && head -c "$n" "$TMP/big" | cmp -s - "$TMP/cut" && ok ||
	bad "pop of a producer killed mid-stream: output ($n bytes) is not a prefix of the input"

# live rings (/P-live has a producer) must survive; dead and idle ones go
expect 0 "rm --stale --dry-run" "$CLI" rm --stale --dry-run "/$P-*"
grep -q "would remove /$P-dead" "$TMP/out" && [ -e "/dev/shm/$P-dead" ] && ok ||
	bad "dry run: $(cat "$TMP/out")"
expect 0 "rm --stale" "$CLI" rm --stale "/$P-*"
[ ! -e "/dev/shm/$P-dead" ] && [ -e "/dev/shm/$P-live" ] && [ -e "/dev/shm/$P-notring" ] &&
	ok || bad "rm --stale removed the wrong set: $(cat "$TMP/out")"

# ---- rings in files: a NAME with a '/' after its first character ----
D=$TMP/rings
mkdir "$D" "$D/sub"
# --file makes a bare NAME a path: ./NAME, in the current directory
( cd "$D" && "$CLI" create --file fr1 --slots 16 --slot-size 4K ) > "$TMP/out" 2> "$TMP/err"
rc=$?
[ $rc -eq 0 ] && [ -f "$D/fr1" ] && [ ! -e /dev/shm/fr1 ] && ok ||
	bad "create --file fr1: exit $rc, $(cat "$TMP/err")"
expect 0 "info ./relative path" sh -c "cd '$D' && '$CLI' info --json ./fr1"
[ "$(json_get "$TMP/out" '.name, .slots')" = "./fr1
16" ] && ok || bad "info ./fr1: $(cat "$TMP/out")"
expect 0 "create a path with a '/'" "$CLI" create "$D/fr2" --slots 8 --slot-size 4K
expect 4 "create a file ring twice" "$CLI" create "$D/fr2"
# byte-exact through a file ring; both processes gone, info still shows the counters
"$CLI" pop "$D/fr2" > "$TMP/fcopy" 2> "$TMP/pop.err" &
popper=$!
"$CLI" push "$D/fr2" < "$TMP/big"
prc=$?
wait $popper
qrc=$?
cmp -s "$TMP/fcopy" "$TMP/big" && [ $prc -eq 0 ] && [ $qrc -eq 0 ] && ok ||
	bad "push/pop through a file ring: push $prc pop $qrc, $(wc -c < "$TMP/fcopy") bytes ($(cat "$TMP/pop.err"))"
expect 0 "info of a file ring after its processes exited" "$CLI" info --json "$D/fr2"
[ "$(json_get "$TMP/out" '.stats.sent > 0 and .stats.received == .stats.sent and .eof and .shutdowns == 1 and .state == "ended"')" = true ] &&
	ok || bad "file ring counters: $(cat "$TMP/out")"
# push creates a file ring, also with --file; pop --unlink removes the file
printf 'file\0ring' > "$TMP/small"
( cd "$D" && "$CLI" push --file fr3 --slots 2 --slot-size 64 < "$TMP/small" ) 2> "$TMP/err"
rc=$?
[ $rc -eq 0 ] && [ -f "$D/fr3" ] && ok || bad "push --file fr3: exit $rc, $(cat "$TMP/err")"
expect 0 "pop --unlink of a file ring" "$CLI" pop --unlink "$D/fr3"
cmp -s "$TMP/out" "$TMP/small" && [ ! -e "$D/fr3" ] && ok || bad "pop --unlink of $D/fr3"
expect 0 "watch a file ring" "$CLI" watch --count 1 --interval 0.05 "$D/fr2"
# ls DIR: the rings among its regular files, shown as paths; other files ignored
head -c 16384 /dev/urandom > "$D/junk"
expect 0 "ls DIR" "$CLI" ls "$D"
grep -q "^$D/fr1 " "$TMP/out" && grep -q "^$D/fr2 " "$TMP/out" && ! grep -q junk "$TMP/out" &&
	ok || bad "ls DIR: $(cat "$TMP/out")"
expect 0 "ls --json . PATTERN" sh -c "cd '$D' && '$CLI' ls --json . 'fr1*'"
[ "$(json_get "$TMP/out" 'map(.name) | join(" ")')" = "./fr1" ] && ok || bad "ls . fr1*: $(cat "$TMP/out")"
expect 3 "ls of a missing directory" "$CLI" ls "$D/nothere/"
# rm: removes file rings, refuses other files and directories
expect 6 "rm of a file that is not a ring" "$CLI" rm "$D/junk"
[ -e "$D/junk" ] && ok || bad "rm removed a non-ring file"
expect 2 "rm of a directory" "$CLI" rm "$D/sub"
expect 0 "rm of a file ring" "$CLI" rm "$D/fr1"
[ ! -e "$D/fr1" ] && ok || bad "rm left $D/fr1"
expect 0 "rm --stale DIR" "$CLI" rm --stale "$D"
[ ! -e "$D/fr2" ] && [ -e "$D/junk" ] && grep -q "^removed $D/fr2\$" "$TMP/out" && ok ||
	bad "rm --stale DIR: $(cat "$TMP/out")"
# bad places: clean errors, nothing left behind
expect 2 "create on a directory" "$CLI" create "$D/sub"
grep -q "is a directory" "$TMP/err" && ok || bad "directory message: $(cat "$TMP/err")"
expect 2 "info of a directory" "$CLI" info "$D/sub/"
expect 3 "create in a missing directory" "$CLI" create "$D/missing/r"
grep -q "no such directory: $D/missing\$" "$TMP/err" && ok || bad "missing dir: $(cat "$TMP/err")"
expect 3 "info in a missing directory" "$CLI" info "$D/missing/r"
expect 3 "pop --wait 0 in a missing directory" "$CLI" pop --wait 0 "$D/missing/r"
expect 3 "a file as a directory" "$CLI" info "$D/junk/r"
# what is not a regular file at a ring's path: a clean error at once, never
# a hang (looking at a FIFO used to wait for a writer; timeout: exit 124)
mkfifo "$D/fifo" "/dev/shm/$P-fifo"
ln -s "$D/fifo" "$D/fifo-link"
expect 6 "info of a FIFO" timeout 10 "$CLI" info "$D/fifo"
expect 6 "info of a symlink to a FIFO" timeout 10 "$CLI" info "$D/fifo-link"
expect 6 "info of a FIFO in /dev/shm" timeout 10 "$CLI" info "/$P-fifo"
expect 6 "info of a character device" timeout 10 "$CLI" info /dev/null
expect 6 "rm of a FIFO" timeout 10 "$CLI" rm "$D/fifo"
grep -q "not a shmring" "$TMP/err" && [ -p "$D/fifo" ] && ok || bad "rm of a FIFO: $(cat "$TMP/err")"
expect 6 "rm of a FIFO in /dev/shm" timeout 10 "$CLI" rm "/$P-fifo"
[ -p "/dev/shm/$P-fifo" ] && ok || bad "rm removed the FIFO in /dev/shm"
expect 0 "ls of a DIR with a FIFO" timeout 10 "$CLI" ls "$D"
expect 0 "rm --stale of a DIR with a FIFO" timeout 10 "$CLI" rm --stale "$D"
[ -p "$D/fifo" ] && [ -L "$D/fifo-link" ] && ok || bad "rm --stale removed a FIFO or a link"
rm -f "$D/fifo" "$D/fifo-link" "/dev/shm/$P-fifo"
# rm --stale DIR removes only the file it checked: one that another file
# replaces while the tool looks at it stays (the shim renames the decoy over
# it at the tool's first fstat of the ring's descriptor); and a symlink to a
# stale ring is not followed
mkdir "$D/swap" "$D/elsewhere"
expect 0 "create a ring to be replaced" "$CLI" create "$D/swap/r"
echo precious > "$TMP/decoy"
expect 0 "rm --stale while the file is replaced" env SHMRING_TEST_SWAP_AT="$D/swap/r" \
	SHMRING_TEST_SWAP_FROM="$TMP/decoy" LD_PRELOAD="$SHIM" "$CLI" rm --stale "$D/swap"
[ ! -e "$TMP/decoy" ] && grep -q precious "$D/swap/r" 2>/dev/null && ! grep -q "^removed" "$TMP/out" &&
	ok || bad "rm --stale removed the file that replaced the ring: $(cat "$TMP/out" "$TMP/err")"
rm -f "$D/swap/r"
expect 0 "create a ring behind a symlink" "$CLI" create "$D/elsewhere/r"
ln -s "$D/elsewhere/r" "$D/swap/link"
expect 0 "rm --stale of a DIR with a symlink to a ring" "$CLI" rm --stale "$D/swap"
[ -e "$D/elsewhere/r" ] && [ -L "$D/swap/link" ] && ok || bad "rm --stale followed a symlink"
rm -rf "$D/swap" "$D/elsewhere"
expect 2 "--hugepages on a shm name" "$CLI" create --hugepages "/$P-huge"
grep -q "hugetlbfs" "$TMP/err" && [ ! -e "/dev/shm/$P-huge" ] && ok ||
	bad "--hugepages on a shm name: $(cat "$TMP/err")"
expect 2 "--hugepages off hugetlbfs" "$CLI" create --hugepages "$D/huge"
[ ! -e "$D/huge" ] && ok || bad "--hugepages off hugetlbfs left the file"
# --packed: variable-length messages; info shows it; push/pop carry bytes
# and lines exactly
expect 0 "create --packed" "$CLI" create --packed "/$P-packed" --slots 8 --slot-size 512
expect 0 "info of a packed ring" "$CLI" info "/$P-packed"
grep -q '^kind: *spsc, packed' "$TMP/out" && grep -q '^records: *4096 bytes' "$TMP/out" && ok ||
	bad "info of a packed ring: $(cat "$TMP/out")"
expect 0 "info --json of a packed ring" "$CLI" info --json "/$P-packed"
[ "$(json_get "$TMP/out" '.packed')" = true ] && [ "$(json_get "$TMP/out" '.data_size')" = 4096 ] &&
	ok || bad "info --json of a packed ring: $(cat "$TMP/out")"
head -c 100000 /dev/urandom > "$TMP/pk.in"
"$CLI" push "/$P-packed" < "$TMP/pk.in" &
BGPIDS="$BGPIDS $!"
timeout 20 "$CLI" pop "/$P-packed" > "$TMP/pk.out"
cmp -s "$TMP/pk.in" "$TMP/pk.out" && ok || bad "push/pop through a packed ring: not byte-exact"
seq 1 3000 > "$TMP/pk.lines"
"$CLI" push --lines "/$P-packed" < "$TMP/pk.lines" &
BGPIDS="$BGPIDS $!"
timeout 20 "$CLI" pop --lines "/$P-packed" > "$TMP/pk.out2"
cmp -s "$TMP/pk.lines" "$TMP/pk.out2" && ok || bad "push/pop --lines through a packed ring"
expect 0 "info after the streams" "$CLI" info --json "/$P-packed"
[ "$(json_get "$TMP/out" '.stats.sent')" -ge 3000 ] && ok || bad "packed: messages counted"
expect 2 "--packed with --kind mpmc" "$CLI" create --packed --kind mpmc "/$P-packed2"
grep -q "SPSC only" "$TMP/err" && ok || bad "--packed --kind mpmc: $(cat "$TMP/err")"
# --mlock on a small ring
expect 0 "create --mlock" "$CLI" create --mlock "$D/locked" --slots 4 --slot-size 64
printf 'locked' | "$CLI" push "$D/locked" && [ "$("$CLI" pop "$D/locked")" = locked ] && ok ||
	bad "push/pop through an --mlock ring"
# the lock refused (no RLIMIT_MEMLOCK, no CAP_IPC_LOCK): exit 1, the cause
# named, nothing left; looking at such a ring still works
AS=
if [ "$(id -u)" = 0 ]; then
	command -v setpriv > /dev/null && AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
else
	AS=env
fi
if [ -n "$AS" ]; then
	"$CLI" create --mlock --mode 0644 "/$P-locked" --slots 2 --slot-size 64
	( ulimit -l 0 && $AS "$CLI" create --mlock "/$P-nolock" ) > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ $rc -eq 1 ] && grep -q "cannot lock the ring in memory (RLIMIT_MEMLOCK" "$TMP/err" &&
		[ ! -e "/dev/shm/$P-nolock" ] && ok || bad "refused --mlock: exit $rc, $(cat "$TMP/err")"
	( ulimit -l 0 && $AS "$CLI" info "/$P-locked" ) > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ $rc -eq 0 ] && ok || bad "info of an --mlock ring without the limit: exit $rc, $(cat "$TMP/err")"
	"$CLI" rm "/$P-locked"
fi

# ---- overwrite-oldest rings (--overwrite) ----
O="/$P-ow"
expect 2 "--overwrite with --kind mpmc" "$CLI" create --overwrite --kind mpmc "$O"
grep -q -- "--overwrite needs --kind spsc" "$TMP/err" && [ ! -e "/dev/shm/$P-ow" ] && ok ||
	bad "--overwrite --kind mpmc: $(cat "$TMP/err")"
expect 2 "--overwrite with --packed" "$CLI" create --overwrite --packed "$O"
grep -q -- "--overwrite and --packed exclude each other" "$TMP/err" && [ ! -e "/dev/shm/$P-ow" ] && ok ||
	bad "--overwrite --packed: $(cat "$TMP/err")"
expect 0 "create --overwrite" "$CLI" create --overwrite --slots 4 --slot-size 16 "$O"
expect 0 "info of an overwrite ring" "$CLI" info "$O"
grep -q "^kind: *spsc, overwrite-oldest" "$TMP/out" && grep -q "overwritten before read 0" "$TMP/out" &&
	ok || bad "info text of an overwrite ring: $(cat "$TMP/out")"
seq 1 10 | "$CLI" push --lines "$O" && ok || bad "push into an overwrite ring (it never waits)"
expect 15 "pop with losses" "$CLI" pop --lines "$O"
[ "$(tr '\n' ' ' < "$TMP/out")" = "7 8 9 10 " ] && ok || bad "pop after overruns: $(cat "$TMP/out")"
grep -q "6 message(s) lost" "$TMP/err" && ok || bad "pop loss report: $(cat "$TMP/err")"
expect 0 "info --json of an overwrite ring" "$CLI" info --json "$O"
[ "$(json_get "$TMP/out" .overwrite)" = true ] && [ "$(json_get "$TMP/out" .stats.overruns)" = 6 ] &&
	[ "$(json_get "$TMP/out" .stats.received)" = 4 ] && ok ||
	bad "info --json overruns: $(cat "$TMP/out")"
seq 11 20 | "$CLI" push --lines "$O"
expect 0 "pop --allow-loss" "$CLI" pop --lines --allow-loss "$O"
[ "$(tr '\n' ' ' < "$TMP/out")" = "17 18 19 20 " ] && grep -q "6 message(s) lost" "$TMP/err" && ok ||
	bad "pop --allow-loss: $(cat "$TMP/out") $(cat "$TMP/err")"
seq 21 22 | "$CLI" push --lines "$O"
expect 0 "pop without losses" "$CLI" pop --lines "$O"
[ "$(tr '\n' ' ' < "$TMP/out")" = "21 22 " ] && [ ! -s "$TMP/err" ] && ok ||
	bad "pop without losses: $(cat "$TMP/out") $(cat "$TMP/err")"
"$CLI" rm "$O"

# ---- watch, rm NAME..., bench ----
expect 0 "watch --count" "$CLI" watch --count 2 --interval 0.1 "/$P-live"
[ "$(wc -l < "$TMP/out")" -eq 3 ] && ok || bad "watch lines: $(cat "$TMP/out")"
expect 3 "rm of a missing ring" "$CLI" rm "/$P-live" "/$P-nothere"
[ ! -e "/dev/shm/$P-live" ] && ok || bad "rm NAME... did not remove the first"
expect 0 "rm --force of a non-shmring" "$CLI" rm --force "/$P-notring"
if [ -x "$(dirname "$CLI")/bench/ipc_bench" ]; then ok; else
	expect 12 "bench not built" env -u SHMRING_IPC_BENCH "$CLI" bench
fi

cli_summary test-cli
