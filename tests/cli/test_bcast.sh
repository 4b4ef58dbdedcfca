#!/bin/sh
# tests/cli/test_bcast.sh - broadcast rings through the command-line tool:
# create --broadcast, every `shmring pop` a subscriber that gets every line
# of a `push`, an interrupted push ending each pop with 13, info (text,
# --json, --prometheus), watch --json and ls showing the subscribers, the
# subscriber a lossless producer waits for marked, and an overwrite ring's
# losses counted exactly for a stalled subscriber.
#   tests/cli/test_bcast.sh PATH/TO/shmring
# Nothing here waits a fixed time: every step polls for the state it needs
# (info --json) with a generous bound. Rings are named /bcast-test-PID-*.
# Ends with "test-bcast: N passed, M failed"; exits non-zero if anything failed.
set -u

CLI=${1:?usage: test_bcast.sh PATH/TO/shmring}
case $CLI in /*) ;; *) CLI=$(pwd)/$CLI ;; esac
. "$(dirname "$0")/lib.sh"
PY=$(cli_python)   # the interpreter that sees python3-prometheus-client
WAIT_STEPS=1200    # ~60 s: a loaded machine may be slow; a condition that
                   # never comes fails the step, not the run
cli_init bcast

# jqr RING EXPR: EXPR of the ring's info --json ("" if it cannot be read)
jqr() {
	"$CLI" info --json "$1" 2> /dev/null | jq -r "$2" 2> /dev/null
}
# nsubs_is RING N: the ring lists N subscribers
nsubs_is() { [ "$(jqr "$1" '.subscribers | length')" = "$2" ]; }
# all_got RING N: every subscriber delivered N and has lag 0
all_got() {
	[ "$(jqr "$1" "[.subscribers[] | select(.delivered == $2 and .lag == 0)] | length")" = \
	  "$(jqr "$1" '.subscribers | length')" ]
}
# sub RING PID FIELD: FIELD of the subscriber whose pid is PID
sub() { jqr "$1" ".subscribers[] | select(.pid == $2) | .$3"; }

# ---- create, ls, usage ----
R=/$P-a
expect 0 "create --broadcast" "$CLI" create --broadcast --slots 16 --slot-size 64 "$R"
[ "$(jqr "$R" .kind)" = broadcast ] && ok || bad "info --json kind: $(jqr "$R" .kind)"
expect 0 "ls" "$CLI" ls "/$P-*"
grep -q "^$R  *broadcast " "$TMP/out" && ok || bad "ls kind: $(cat "$TMP/out")"
expect 0 "create --kind broadcast --overwrite" "$CLI" create --kind broadcast --overwrite "/$P-k"
[ "$(jqr "/$P-k" .kind)/$(jqr "/$P-k" .overwrite)" = broadcast/true ] && ok ||
	bad "--kind broadcast --overwrite: $(jqr "/$P-k" '.kind, .overwrite')"
expect 2 "create --broadcast --packed" "$CLI" create --broadcast --packed "/$P-p"
expect 0 "create --help" "$CLI" create --help
grep -q -- "--broadcast" "$TMP/out" && ok || bad "create --help lacks --broadcast"
expect 0 "info of a ring without subscribers" "$CLI" info "$R"
grep -q "^subscribers: *0" "$TMP/out" && ok || bad "info text: $(cat "$TMP/out")"

# ---- three pop subscribers each get every line of a push, in order ----
mkfifo "$TMP/in"
for k in 1 2 3; do
	bg pop$k /dev/null "$TMP/pop$k.out" "$CLI" pop --lines --wait 0 "$R"
	eval "pid$k=\$last"
done
wait_for 'nsubs_is "$R" 3' || bad "three subscribers attached: $(jqr "$R" .subscribers)"
exec 4<> "$TMP/in"   # read-write: the input ends when the test closes it
bg push "$TMP/in" /dev/null "$CLI" push --lines --no-create "$R"
seq 1 1000 >&4
wait_for 'all_got "$R" 1000' || bad "every subscriber delivered 1000: $(jqr "$R" .subscribers)"
# still attached after the drain: three subscribers, lag 0, all 1000
[ "$(jqr "$R" '[.subscribers[] | select(.lag == 0 and .delivered == 1000 and .alive)] | length')" = 3 ] &&
	ok || bad "info --json after the drain: $(jqr "$R" .subscribers)"
[ "$(jqr "$R" "[.subscribers[].pid] | sort | map(tostring) | join(\" \")")" = \
  "$(printf '%s\n' "$pid1" "$pid2" "$pid3" | sort -n | tr '\n' ' ' | sed 's/ $//')" ] && ok ||
	bad "subscriber pids: $(jqr "$R" '[.subscribers[].pid]'), pops $pid1 $pid2 $pid3"
expect 0 "info text" "$CLI" info "$R"
grep -q "^subscribers: *3" "$TMP/out" && [ "$(grep -c "^ *[0-9]* *$pid1 *yes .* 1000 " "$TMP/out")" = 1 ] &&
	ok || bad "info text lists the subscribers: $(cat "$TMP/out")"
expect 0 "watch --json" timeout 20 "$CLI" watch --json --interval 0.05 --count 1 "$R"
[ "$(jq -r '[.subscribers[] | select(.delivered == 1000)] | length' < "$TMP/out")" = 3 ] && ok ||
	bad "watch --json subscribers: $(cat "$TMP/out")"
expect 0 "watch" timeout 20 "$CLI" watch --interval 0.05 --count 1 "$R"
[ "$(grep -c "^  subscriber .* lag 0 " "$TMP/out")" = 3 ] && ok || bad "watch text: $(cat "$TMP/out")"

# --prometheus: per-subscriber samples labelled subscriber, parsed by the
# reference parser
"$CLI" info --prometheus "$R" > "$TMP/prom" 2> "$TMP/err" && ok || bad "info --prometheus: $(cat "$TMP/err")"
if "$PY" -c 'import prometheus_client' 2> /dev/null; then
	"$PY" - "$TMP/prom" "$R" "$(jqr "$R" '[.subscribers[].index] | map(tostring) | join(",")')" \
		> "$TMP/why" 2>&1 <<'EOF' && ok || bad "prometheus subscriber samples: $(cat "$TMP/why")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
ring, idx = sys.argv[2], sorted(sys.argv[3].split(","))
want = {"shmring_subscriber_lag_messages": ("gauge", 0),
        "shmring_subscriber_delivered_messages": ("counter", 1000),
        "shmring_subscriber_overruns": ("counter", 0),
        "shmring_subscriber_alive": ("gauge", 1),
        "shmring_subscriber_stalling": ("gauge", 0),
        "shmring_subscriber_position": ("gauge", 1000)}
for name, (typ, value) in want.items():
    f = fams[name]
    assert f.type == typ, (name, f.type)
    s = [x for x in f.samples if not x.name.endswith("_created")]
    assert sorted(x.labels["subscriber"] for x in s) == idx, (name, s)
    for x in s:
        assert x.labels["ring"] == ring and x.labels["kind"] == "broadcast", x
        assert x.value == value, (name, x)
EOF
else
	bad "python3-prometheus-client is missing (make deps)"
fi

exec 4>&-   # end of push's input: it shuts the stream down
[ "$(rc_of push)" = 0 ] && ok || bad "push: exit $(rc_of push) ($(cat "$TMP/push.err"))"
for k in 1 2 3; do
	[ "$(rc_of pop$k)" = 0 ] && ok || bad "pop $k: exit $(rc_of pop$k) ($(cat "$TMP/pop$k.err"))"
	seq 1 1000 | cmp -s - "$TMP/pop$k.out" && ok ||
		bad "pop $k output: $(wc -l < "$TMP/pop$k.out") lines"
done
wait_for 'nsubs_is "$R" 0' && ok || bad "subscribers left: $(jqr "$R" .subscribers)"

# ---- an interrupted push: each pop takes what was sent and exits 13 ----
R=/$P-b
"$CLI" create --broadcast --slots 8 --slot-size 64 "$R" || bad "create b"
for k in 1 2 3; do
	bg pop$k /dev/null "$TMP/pop$k.out" "$CLI" pop --lines --wait 0 "$R"
done
wait_for 'nsubs_is "$R" 3' || bad "three subscribers of b: $(jqr "$R" .subscribers)"
exec 4<> "$TMP/in"
bg push "$TMP/in" /dev/null "$CLI" push --lines --no-create "$R"
seq 1 100 >&4
wait_for 'all_got "$R" 100' || bad "b: every subscriber delivered 100: $(jqr "$R" .subscribers)"
kill -INT "$last"
[ "$(rc_of push)" = 130 ] && ok || bad "push after SIGINT: exit $(rc_of push)"
exec 4>&-
for k in 1 2 3; do
	[ "$(rc_of pop$k)" = 13 ] && ok || bad "b: pop $k: exit $(rc_of pop$k), expected 13"
	grep -q "aborted by its producer" "$TMP/pop$k.err" && seq 1 100 | cmp -s - "$TMP/pop$k.out" &&
		ok || bad "b: pop $k: $(wc -l < "$TMP/pop$k.out") lines, $(cat "$TMP/pop$k.err")"
done
[ "$(jqr "$R" .end_reason)" = aborted ] && ok || bad "b: end_reason $(jqr "$R" .end_reason)"

# ---- lossless: a stopped subscriber holds the producer; info marks it ----
R=/$P-c
"$CLI" create --broadcast --slots 8 --slot-size 64 "$R" || bad "create c"
bg pop1 /dev/null "$TMP/pop1.out" "$CLI" pop --lines --wait 0 "$R"
bg pop2 /dev/null "$TMP/pop2.out" "$CLI" pop --lines --wait 0 "$R"
stopped=$last
wait_for 'nsubs_is "$R" 2' || bad "two subscribers of c: $(jqr "$R" .subscribers)"
kill -STOP "$stopped"
exec 4<> "$TMP/in"
bg push "$TMP/in" /dev/null "$CLI" push --lines --no-create "$R"
seq 1 100 >&4
wait_for '[ "$(sub "$R" "$stopped" stalling)/$(sub "$R" "$stopped" lag)" = true/8 ]' && ok ||
	bad "c: the stopped subscriber is not marked stalling: $(jqr "$R" .subscribers)"
[ "$(jqr "$R" '.prod_idx')" = 8 ] && ok || bad "c: the producer did not wait: $(jqr "$R" .prod_idx)"
"$CLI" info "$R" > "$TMP/out" 2>&1
grep -q "^ *[0-9]* *$stopped .*STALLING" "$TMP/out" && ok || bad "c: info text: $(cat "$TMP/out")"
kill -CONT "$stopped"
wait_for 'all_got "$R" 100' || bad "c: every subscriber delivered 100: $(jqr "$R" .subscribers)"
exec 4>&-
[ "$(rc_of push)" = 0 ] && ok || bad "c: push: exit $(rc_of push) ($(cat "$TMP/push.err"))"
for k in 1 2; do
	[ "$(rc_of pop$k)" = 0 ] && seq 1 100 | cmp -s - "$TMP/pop$k.out" && ok ||
		bad "c: pop $k: exit $(rc_of pop$k), $(wc -l < "$TMP/pop$k.out") lines"
done

# ---- overwrite: a stopped subscriber loses messages and counts them ----
# exactly (delivered + overruns = sent), the others are not held back
R=/$P-d
"$CLI" create --broadcast --overwrite --slots 8 --slot-size 64 "$R" || bad "create d"
bg pop1 /dev/null "$TMP/pop1.out" "$CLI" pop --lines --wait 0 "$R"
bg pop2 /dev/null "$TMP/pop2.out" "$CLI" pop --lines --wait 0 "$R"
stopped=$last
wait_for 'nsubs_is "$R" 2' || bad "two subscribers of d: $(jqr "$R" .subscribers)"
kill -STOP "$stopped"
exec 4<> "$TMP/in"
bg push "$TMP/in" /dev/null "$CLI" push --lines --no-create "$R"
seq 1 1000 >&4
# the producer never waits: all 1000 go out while one subscriber is stopped
wait_for '[ "$(jqr "$R" .stats.sent)" = 1000 ]' && ok || bad "d: sent $(jqr "$R" .stats.sent)"
[ "$(sub "$R" "$stopped" position)/$(sub "$R" "$stopped" lag)/$(sub "$R" "$stopped" stalling)" = 0/8/false ] &&
	ok || bad "d: the stopped subscriber: $(jqr "$R" .subscribers)"
kill -CONT "$stopped"
# each subscriber accounts for every message: delivered + overruns = 1000
wait_for '[ "$(jqr "$R" "[.subscribers[] | select(.delivered + .overruns == 1000 and .lag == 0)] | length")" = 2 ]' &&
	ok || bad "d: delivered + overruns: $(jqr "$R" .subscribers)"
lost=$(sub "$R" "$stopped" overruns)
dgot=$(sub "$R" "$stopped" delivered)
[ "${lost:-0}" -ge 992 ] && ok || bad "d: the stopped subscriber lost $lost, expected >= 992"
expect 0 "info of d" "$CLI" info "$R"
grep -q "^ *[0-9]* *$stopped .* $lost$" "$TMP/out" && ok || bad "d: info text overruns: $(cat "$TMP/out")"
"$CLI" info --prometheus "$R" | grep -q "^shmring_subscriber_overruns_total{ring=\"$R\",kind=\"broadcast\",subscriber=\"[0-9]*\"} $lost$" &&
	ok || bad "d: prometheus overruns"
exec 4>&-
[ "$(rc_of push)" = 0 ] && ok || bad "d: push: exit $(rc_of push)"
# the stopped pop: exit 15 (lost messages), its output what it delivered,
# in order, and its count of lost ones on standard error
[ "$(rc_of pop2)" = 15 ] && ok || bad "d: stopped pop: exit $(rc_of pop2), expected 15"
[ "$(wc -l < "$TMP/pop2.out")" = "$dgot" ] && sort -n -u -c "$TMP/pop2.out" 2> /dev/null &&
	grep -q "$lost message(s) lost" "$TMP/pop2.err" && ok ||
	bad "d: stopped pop: $(wc -l < "$TMP/pop2.out") lines (delivered $dgot), $(cat "$TMP/pop2.err")"
# the other one: whatever it lost (0 unless the producer lapped it), it
# reports, and its lines and losses add up to 1000
rc1=$(rc_of pop1)
lost1=$(sed -n 's/.*: \([0-9]*\) message(s) lost.*/\1/p' "$TMP/pop1.err")
lines1=$(wc -l < "$TMP/pop1.out")
{ [ "$rc1" = 0 ] && [ -z "$lost1" ] && [ "$lines1" = 1000 ]; } ||
	{ [ "$rc1" = 15 ] && [ $((lines1 + lost1)) = 1000 ]; } && ok ||
	bad "d: running pop: exit $rc1, $lines1 lines, lost '$lost1'"

cli_summary test-bcast
