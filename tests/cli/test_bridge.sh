#!/bin/sh
# tests/cli/test_bridge.sh - `shmring bridge` end to end: push -> ring A ->
# bridge -> ZeroMQ (tcp://127.0.0.1, ipc://) -> bridge -> ring B -> pop.
#   tests/cli/test_bridge.sh PATH/TO/shmring
# Byte-exact 64 MiB over each transport, message boundaries in --lines mode,
# the batch framing (many tiny messages, a mix of sizes, the bytes on the
# wire read by a bare ZMTP peer; a version-1 peer, a malformed batch and
# one too large refused),
# the end of the stream and how it ended carried (clean, aborted, died),
# and every way a stream can break: the sending bridge, the receiving
# bridge or the upstream producer killed mid-stream, the producer or the
# sender interrupted; a port scan that must not break it.
# Every ring it makes is named /bridge-test-PID-*; all are removed on exit.
# Every wait is bounded (timeout), so a hang is a failure, not a stuck run.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u

CLI=${1:?usage: test_bridge.sh PATH/TO/shmring}
case $CLI in /*) ;; *) CLI=$(pwd)/$CLI ;; esac
ZMTP=$(cd "$(dirname "$0")" && pwd)/zmtp_peer.py   # a bare ZMTP peer
. "$(dirname "$0")/lib.sh"
T=20            # seconds any one process may take (expect)
WAIT_STEPS=200  # wait_for: ~10 s
cli_init bridge

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# the shmring process below pid $1 (under timeout, sh -c, ...)
find_cli() {
	for c in $(pgrep -P "$1"); do
		if [ "$(cat /proc/$c/comm 2>/dev/null)" = shmring ]; then
			echo "$c"
			return
		fi
		f=$(find_cli "$c")
		[ -n "$f" ] && { echo "$f"; return; }
	done
}

# run CMD... in the background (CMD starts with timeout); its exit status
# goes to $TMP/TAG.rc, its stderr to $TMP/TAG.err; $last is the pid of the
# shmring process itself, to kill
bg() {
	tag=$1; shift
	( exec 3>&-; "$@" 2> "$TMP/$tag.err"; echo $? > "$TMP/$tag.rc" ) &
	wrapper=$!
	BGPIDS="$BGPIDS $wrapper"
	last=
	wait_for 'last=$(find_cli $wrapper); [ -n "$last" ]' || bad "$tag did not start"
	BGPIDS="$BGPIDS $last"
}
rc_of() { cat "$TMP/$1.rc" 2>/dev/null || echo none; }
done_in_time() {   # done_in_time TAG...: wait for each one's exit status
	for tag in "$@"; do
		wait_for "[ -s '$TMP/$tag.rc' ]" || bad "$tag did not exit in time"
	done
}

head -c 67108864 /dev/urandom > "$TMP/big"

# ---- help and usage ----
expect 0 "bridge --help" "$CLI" bridge --help
grep -q '^Usage: shmring bridge' "$TMP/out" && ok || bad "bridge --help text"
"$CLI" --help | grep -q "bridge FROM TO" && ok || bad "bridge missing from shmring --help"
expect 2 "bridge without arguments" "$CLI" bridge
expect 2 "bridge between two rings" "$CLI" bridge "/$P-x" "/$P-y"
grep -q "must be a ZeroMQ endpoint" "$TMP/err" && ok || bad "two rings message: $(cat "$TMP/err")"
expect 2 "bridge between two endpoints" "$CLI" bridge tcp://127.0.0.1:1 ipc://x
expect 2 "bridge over an unknown transport" "$CLI" bridge "/$P-x" udp://127.0.0.1:1
expect 2 "bridge to a tcp endpoint without a port" "$CLI" bridge "/$P-x" tcp://127.0.0.1
expect 2 "bridge --hwm not a number" "$CLI" bridge --hwm x "/$P-x" tcp://127.0.0.1:1
expect 2 "bridge --spin not a number" "$CLI" bridge --spin x "/$P-x" tcp://127.0.0.1:1
expect 3 "bridge from a missing ring" "$CLI" bridge --wait 0 "/$P-none" tcp://127.0.0.1:1
expect 3 "bridge --no-create into a missing ring" "$CLI" bridge --no-create ipc://"$TMP/nc" "/$P-none"
[ ! -e "/dev/shm/$P-none" ] && ok || bad "--no-create created the ring"
# an address in use: exit 14, and no ring is created for it
PORT=$(free_port)
bg busy timeout $T "$CLI" bridge "tcp://127.0.0.1:$PORT" "/$P-busy1"
wait_for '[ -e /dev/shm/$P-busy1 ]' || bad "bridge did not bind tcp://127.0.0.1:$PORT"
expect 14 "bind an address in use" "$CLI" bridge "tcp://127.0.0.1:$PORT" "/$P-busy2"
grep -q "cannot bind: Address already in use" "$TMP/err" && ok || bad "EADDRINUSE message: $(cat "$TMP/err")"
[ ! -e "/dev/shm/$P-busy2" ] && ok || bad "a failed bind left a ring behind"
kill -INT $last
done_in_time busy
# interrupted before any sender: exit 130, the ring's stream aborted
[ "$(rc_of busy)" = 130 ] && ok || bad "receiving bridge after SIGINT: exit $(rc_of busy)"

# ---- 64 MiB byte-exact, each transport: exit 0 everywhere ----
for ep in "tcp://127.0.0.1:$(free_port)" "ipc://$TMP/sock"; do
	t=${ep%%:*}
	rm -f "$TMP"/*.rc
	bg recv timeout $T "$CLI" bridge "$ep" "/$P-b$t"
	bg pop sh -c "timeout $T '$CLI' pop '/$P-b$t' > '$TMP/copy'"
	bg send timeout $T "$CLI" bridge "/$P-a$t" "$ep" --wait 5
	expect 0 "push 64 MiB ($t)" "$CLI" push "/$P-a$t" < "$TMP/big"
	done_in_time send recv pop
	[ "$(rc_of send)" = 0 ] && [ "$(rc_of recv)" = 0 ] && [ "$(rc_of pop)" = 0 ] && ok ||
		bad "64 MiB over $t: exits send $(rc_of send) recv $(rc_of recv) pop $(rc_of pop)" \
		    "($(cat "$TMP/send.err" "$TMP/recv.err" "$TMP/pop.err"))"
	cmp -s "$TMP/big" "$TMP/copy" && ok || bad "64 MiB over $t: the copy differs"
	[ ! -e "$TMP/sock" ] && ok || bad "ipc socket file left behind"
done

# ---- message boundaries (--lines), empty lines included ----
seq 1 20000 | sed 's/^\(.*7.*\)$//' > "$TMP/lines"
ep="tcp://127.0.0.1:$(free_port)"
rm -f "$TMP"/*.rc
bg recv timeout $T "$CLI" bridge "$ep" "/$P-lb" --slot-size 64
bg pop sh -c "timeout $T '$CLI' pop --lines '/$P-lb' > '$TMP/copy'"
bg send timeout $T "$CLI" bridge "/$P-la" "$ep" --wait 5
expect 0 "push --lines" "$CLI" push --lines --slot-size 64 "/$P-la" < "$TMP/lines"
done_in_time send recv pop
[ "$(rc_of send)" = 0 ] && [ "$(rc_of recv)" = 0 ] && [ "$(rc_of pop)" = 0 ] && ok ||
	bad "--lines: exits send $(rc_of send) recv $(rc_of recv) pop $(rc_of pop)"
cmp -s "$TMP/lines" "$TMP/copy" && ok || bad "--lines: the lines differ"
"$CLI" info --json "/$P-lb" > "$TMP/info"
[ "$(jq .stats.sent < "$TMP/info")" = 20000 ] && ok ||
	bad "--lines: $(jq .stats.sent < "$TMP/info") messages in ring B, 20000 lines"

# ---- batch framing (wire format 2) ----
# carry TAG ENDPOINT SLOT_SIZE FILE: push --lines FILE -> bridge -> bridge ->
# pop --lines; every exit 0, the lines byte-exact, one ring message a line
carry() {
	rm -f "$TMP"/*.rc
	bg recv timeout $T "$CLI" bridge "$2" "/$P-$1b" --slot-size "$3"
	bg pop sh -c "timeout $T '$CLI' pop --lines '/$P-$1b' > '$TMP/copy'"
	bg send timeout $T "$CLI" bridge "/$P-$1a" "$2" --wait 5
	expect 0 "push --lines ($1)" "$CLI" push --lines --slot-size "$3" "/$P-$1a" < "$4"
	done_in_time send recv pop
	[ "$(rc_of send)" = 0 ] && [ "$(rc_of recv)" = 0 ] && [ "$(rc_of pop)" = 0 ] && ok ||
		bad "$1: exits send $(rc_of send) recv $(rc_of recv) pop $(rc_of pop)" \
		    "($(cat "$TMP/send.err" "$TMP/recv.err" "$TMP/pop.err"))"
	cmp -s "$4" "$TMP/copy" && ok || bad "$1: the lines differ"
	want=$(wc -l < "$4")
	"$CLI" info --json "/$P-$1b" > "$TMP/info"
	[ "$(jq .stats.sent < "$TMP/info")" = "$want" ] && ok ||
		bad "$1: $(jq .stats.sent < "$TMP/info") messages in ring B, $want lines"
}
# many tiny messages (0 to 6 bytes; thousands to a batch)
seq 1 300000 | sed 's/^\(.*3.*\)$//' > "$TMP/tiny"
carry tiny "ipc://$TMP/tiny.sock" 64 "$TMP/tiny"
# a mix of sizes, 0 to 65000 bytes, some around the 4-byte length's bytes
python3 -c "
import random, sys
rnd = random.Random(14)
sizes = [0, 1, 3, 4, 5, 255, 256, 257, 65000]
out = sys.stdout.buffer
for i in range(3000):
    n = rnd.choice(sizes) if i % 3 == 0 else rnd.randint(0, 100 if i % 3 == 1 else 65000)
    out.write(rnd.randbytes(n).replace(b'\n', b'x') + b'\n')
" > "$TMP/mixed"
carry mixed "tcp://127.0.0.1:$(free_port)" 65536 "$TMP/mixed"

# what a sending bridge puts on the wire, read by a bare ZMTP peer: the
# hello (shaped like a version-1 end record, so that a version-1 receiver
# names the version it got), the records in order, the end with its counts
PORT=$(free_port)
rm -f "$TMP"/*.rc
( python3 "$ZMTP" pull "$PORT" > "$TMP/wire" 2> "$TMP/wire.err"; echo $? > "$TMP/wire.rc" ) &
BGPIDS="$BGPIDS $!"
bg send timeout $T "$CLI" bridge "/$P-wa" "tcp://127.0.0.1:$PORT" --wait 5
printf 'a\n\nccc\n' | timeout $T "$CLI" push --lines "/$P-wa" || bad "push to the wire test"
done_in_time send wire
[ "$(rc_of send)" = 0 ] && [ "$(rc_of wire)" = 0 ] && ok ||
	bad "wire: exits send $(rc_of send) peer $(rc_of wire) ($(cat "$TMP/send.err" "$TMP/wire.err"))"
[ "$(head -n 1 "$TMP/wire")" = "hello shmring-bridge 2 end hello 0 0" ] && ok ||
	bad "wire: first message '$(head -n 1 "$TMP/wire")'"
[ "$(grep '^msg' "$TMP/wire" | tr '\n' '|')" = "msg 61|msg |msg 636363|" ] && ok ||
	bad "wire: records $(grep '^msg' "$TMP/wire" | tr '\n' '|')"
[ "$(tail -n 1 "$TMP/wire")" = "end shmring-bridge 2 end clean 3 4" ] && ok ||
	bad "wire: last message '$(tail -n 1 "$TMP/wire")'"

# a peer of another version or a malformed batch is refused (exit 6, a clear
# message), nothing of it enters the ring, and pop there exits 13
refused() {   # refused TAG MODE GREP
	PORT=$(free_port)
	rm -f "$TMP"/*.rc
	bg recv timeout $T "$CLI" bridge "tcp://127.0.0.1:$PORT" "/$P-$1"
	wait_for "[ -e /dev/shm/$P-$1 ]" || bad "$1: no ring"   # made once bound
	bg pop sh -c "timeout $T '$CLI' pop '/$P-$1' > '$TMP/copy'"
	timeout $T python3 "$ZMTP" "$2" "$PORT" 2> "$TMP/peer.err" || bad "$1: peer failed ($(cat "$TMP/peer.err"))"
	done_in_time recv pop
	[ "$(rc_of recv)" = 6 ] && grep -q "$3" "$TMP/recv.err" && ok ||
		bad "$1: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
	[ "$(rc_of pop)" = 13 ] && [ ! -s "$TMP/copy" ] && ok ||
		bad "$1: pop exit $(rc_of pop), $(wc -c < "$TMP/copy") bytes out"
}
refused v1 v1-sender "speaks version 1 of the bridge.s wire format"
refused badb bad-batch "records do not fill it exactly"

# how the stream ended, as the sender's end record says: only "clean" (with
# counts that match) is shut down downstream; any other REASON, known
# ("truncated": earlier senders' word for "died") or not, aborts the ring
# there, so that pop exits 13 (the records still arrive, in order)
for reason in clean aborted died truncated bogus; do
	PORT=$(free_port)
	rm -f "$TMP"/*.rc
	bg recv timeout $T "$CLI" bridge "tcp://127.0.0.1:$PORT" "/$P-end$reason"
	wait_for '[ -e /dev/shm/$P-end$reason ]' || bad "end $reason: no ring"   # bound
	bg pop sh -c "timeout $T '$CLI' pop --lines '/$P-end$reason' > '$TMP/copy'"
	timeout $T python3 "$ZMTP" end "$PORT" "$reason" 2> "$TMP/peer.err" ||
		bad "end $reason: peer failed ($(cat "$TMP/peer.err"))"
	done_in_time recv pop
	want=13
	[ $reason = clean ] && want=0
	[ "$(rc_of recv)" = $want ] && [ "$(rc_of pop)" = $want ] &&
		[ "$(tr '\n' ' ' < "$TMP/copy")" = "one two " ] && ok ||
		bad "end $reason: exits recv $(rc_of recv) pop $(rc_of pop), expected $want;" \
		    "'$(tr '\n' ' ' < "$TMP/copy")' ($(cat "$TMP/recv.err" "$TMP/pop.err"))"
	[ $reason = clean ] || grep -q "aborted by its producer" "$TMP/pop.err" && ok ||
		bad "end $reason: pop's warning: $(cat "$TMP/pop.err")"
done

# a peer that sends a batch far larger than a sending bridge makes (32 MiB
# of valid records): ZeroMQ refuses it by its size (ZMQ_MAXMSGSIZE) before
# allocating it, the receiver exits 13 and says that a message too large
# may be why, pop there exits 13 with nothing, and the receiving bridge
# never held the batch (its peak RSS, from wait4, stays far below 32 MiB)
cat > "$TMP/maxrss.py" <<'EOF_PY'
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)   # KiB
sys.exit(os.waitstatus_to_exitcode(status))
EOF_PY
PORT=$(free_port)
rm -f "$TMP"/*.rc
bg recv sh -c "timeout $T python3 '$TMP/maxrss.py' '$CLI' bridge 'tcp://127.0.0.1:$PORT' \
	'/$P-big' --slot-size 64K > '$TMP/rss'"
wait_for '[ -e /dev/shm/$P-big ]' || bad "oversize: the receiving bridge made no ring"
bg pop sh -c "timeout $T '$CLI' pop '/$P-big' > '$TMP/copy'"
timeout $T python3 "$ZMTP" oversize "$PORT" 2> "$TMP/peer.err" ||
	bad "oversize: peer failed ($(cat "$TMP/peer.err"))"
done_in_time recv pop
[ "$(rc_of recv)" = 13 ] && grep -q "message too large (over 327684 bytes" "$TMP/recv.err" && ok ||
	bad "oversize: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
[ "$(cat "$TMP/rss")" -lt 24576 ] && ok ||
	bad "oversize: the receiving bridge's peak RSS was $(cat "$TMP/rss") KiB (24 MiB allowed)"
[ "$(rc_of pop)" = 13 ] && [ ! -s "$TMP/copy" ] && ok ||
	bad "oversize: pop exit $(rc_of pop), $(wc -c < "$TMP/copy") bytes out"

# ---- broken streams ----
# start push (fed from a FIFO we hold open) -> A -> bridge -> B -> pop, and
# let 300000 bytes through; the stream then stalls, ready to be broken
mkfifo "$TMP/in"
start_stalled() {   # start_stalled ENDPOINT TAG
	rm -f "$TMP"/*.rc "$TMP/cut"
	bg recv timeout $T "$CLI" bridge "$1" "/$P-$2b"
	r_pid=$last
	bg pop sh -c "timeout $T '$CLI' pop '/$P-$2b' > '$TMP/cut'"
	bg send timeout $T "$CLI" bridge "/$P-$2a" "$1" --wait 5
	s_pid=$last
	exec 3<> "$TMP/in"   # read-write: opening does not wait for a reader
	# (an asynchronous list's stdin is /dev/null unless redirected in it)
	bg push sh -c "timeout $T '$CLI' push '/$P-$2a' < '$TMP/in'"
	p_pid=$last
	timeout $T head -c 300000 "$TMP/big" >&3 || bad "$2: push did not read its input"
	wait_for '[ "$(wc -c < "$TMP/cut")" -eq 300000 ]' ||
		bad "$2: pop got $(wc -c < "$TMP/cut") of 300000 bytes"
}
is_prefix() {   # the output is what came before the break
	n=$(wc -c < "$TMP/cut")
	[ "$n" -eq 300000 ] && head -c "$n" "$TMP/big" | cmp -s - "$TMP/cut" && ok ||
		bad "$1: the output ($n bytes) is not the 300000 bytes sent"
}

# the sending bridge killed: the receiver exits 13, pop there 13
start_stalled "ipc://$TMP/kill-send" ks
kill -9 $s_pid
done_in_time recv pop
[ "$(rc_of recv)" = 13 ] && grep -q "sending side went away" "$TMP/recv.err" && ok ||
	bad "sender killed: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
[ "$(rc_of pop)" = 13 ] && ok || bad "sender killed: pop exit $(rc_of pop)"
is_prefix "sender killed"
exec 3>&-
done_in_time push

# the same over tcp, the receiver meanwhile probed by connections that are
# not the sender's, which must not break the stream: one that is not
# ZeroMQ (a port scan), one from a ZeroMQ PULL socket (ZMTP 3.0 greeting
# and READY; PULL to PULL fails the handshake)
PORT=$(free_port)
start_stalled "tcp://127.0.0.1:$PORT" kt
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $PORT)); s.send(b'GET / HTTP/1.0\r\n\r\n')
time.sleep(0.2); s.close()
greeting = b'\xff' + bytes(8) + b'\x7f' + bytes([3, 0]) + b'NULL'.ljust(20, b'\0') + bytes(32)
ready = b'\x05READY' + b'\x0bSocket-Type' + (4).to_bytes(4, 'big') + b'PULL'
s = socket.create_connection(('127.0.0.1', $PORT)); s.send(greeting + bytes([4, len(ready)]) + ready)
time.sleep(0.2); s.close()"
sleep 0.5
[ ! -s "$TMP/recv.rc" ] && ok || bad "a port scan broke the stream: $(cat "$TMP/recv.err")"
kill -9 $s_pid
done_in_time recv pop
[ "$(rc_of recv)" = 13 ] && [ "$(rc_of pop)" = 13 ] && ok ||
	bad "sender killed (tcp): exits recv $(rc_of recv) pop $(rc_of pop)"
is_prefix "sender killed (tcp)"
exec 3>&-
done_in_time push

# the producer upstream killed: the sender passes the truncated end on
# (exit 13), the receiver exits 13, pop 13
start_stalled "tcp://127.0.0.1:$(free_port)" kp
kill -9 $p_pid
exec 3>&-
done_in_time send recv pop
[ "$(rc_of send)" = 13 ] && grep -q "producer died" "$TMP/send.err" && ok ||
	bad "producer killed: sending bridge exit $(rc_of send) ($(cat "$TMP/send.err"))"
[ "$(rc_of recv)" = 13 ] && grep -q "died or closed without a shutdown at the sending side" "$TMP/recv.err" &&
	ok || bad "producer killed: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
[ "$(rc_of pop)" = 13 ] && ok || bad "producer killed: pop exit $(rc_of pop)"
is_prefix "producer killed"

# the producer upstream interrupted: push aborts its stream (exit 130), the
# sender passes "aborted" on (exit 13), the receiver aborts its ring (exit
# 13), pop there exits 13 with what was sent
start_stalled "ipc://$TMP/int-push" ip
kill -INT $p_pid
done_in_time push send recv pop
[ "$(rc_of push)" = 130 ] && ok || bad "producer interrupted: push exit $(rc_of push)"
[ "$(rc_of send)" = 13 ] && grep -q "aborted by its producer" "$TMP/send.err" && ok ||
	bad "producer interrupted: sending bridge exit $(rc_of send) ($(cat "$TMP/send.err"))"
[ "$(rc_of recv)" = 13 ] && grep -q "aborted at the sending side" "$TMP/recv.err" && ok ||
	bad "producer interrupted: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
[ "$(rc_of pop)" = 13 ] && grep -q "aborted by its producer" "$TMP/pop.err" && ok ||
	bad "producer interrupted: pop exit $(rc_of pop) ($(cat "$TMP/pop.err"))"
is_prefix "producer interrupted"
exec 3>&-

# the receiving bridge killed: the sender exits 8, and so does push once it
# has more to send; pop on B exits 13
start_stalled "tcp://127.0.0.1:$(free_port)" kr
kill -9 $r_pid
done_in_time send pop
[ "$(rc_of send)" = 8 ] && grep -q "receiving side went away" "$TMP/send.err" && ok ||
	bad "receiver killed: sending bridge exit $(rc_of send) ($(cat "$TMP/send.err"))"
[ "$(rc_of pop)" = 13 ] && ok || bad "receiver killed: pop exit $(rc_of pop)"
timeout $T head -c 8000000 "$TMP/big" >&3 2>/dev/null &   # blocks once push has gone
writer=$!
done_in_time push
kill $writer 2>/dev/null
exec 3>&-
[ "$(rc_of push)" = 8 ] && ok || bad "receiver killed: push exit $(rc_of push)"
is_prefix "receiver killed"

# the sending bridge interrupted: it exits 130, the receiver 13, pop 13
start_stalled "ipc://$TMP/int" ki
kill -TERM $s_pid
done_in_time send recv pop
[ "$(rc_of send)" = 130 ] && ok || bad "sender interrupted: exit $(rc_of send)"
[ "$(rc_of recv)" = 13 ] && grep -q "stopped by a signal" "$TMP/recv.err" && ok ||
	bad "sender interrupted: receiving bridge exit $(rc_of recv) ($(cat "$TMP/recv.err"))"
[ "$(rc_of pop)" = 13 ] && ok || bad "sender interrupted: pop exit $(rc_of pop)"
exec 3>&-
done_in_time push

cli_summary test-bridge
