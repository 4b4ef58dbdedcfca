#!/bin/sh
# tests/cli/test_prom.sh - `shmring info --prometheus` and `ls --prometheus`
# print the Prometheus text exposition format: parsed here by the reference
# parser (python3-prometheus-client, installed by tools/deps.sh), with the
# figures checked against what was sent and received, and `watch --json`
# prints one JSON object per interval.
#   tests/cli/test_prom.sh PATH/TO/shmring
# Ends with "test-prom: N passed, M failed"; exits non-zero if anything failed.
set -u

CLI=${1:?usage: test_prom.sh PATH/TO/shmring}
case $CLI in /*) ;; *) CLI=$(pwd)/$CLI ;; esac
. "$(dirname "$0")/lib.sh"
PY=$(cli_python)   # the interpreter that sees python3-prometheus-client
cli_init prom

"$PY" -c 'import prometheus_client' 2>/dev/null ||
	{ echo "test-prom: FAIL: python3-prometheus-client is missing (make deps)" >&2; exit 1; }

# two rings: an SPSC one with 7 messages sent, 3 received, shut down; an
# MPMC one in a file whose path needs escaping in a label
"$CLI" create /$P-a --slots 16 --slot-size 64 || bad "create a"
seq 1 7 | "$CLI" push --lines /$P-a || bad "push a"
"$CLI" pop --lines --count 3 /$P-a > /dev/null || bad "pop 3 of a"
FILE="$TMP/odd\"name"
"$CLI" create --kind mpmc "$FILE" --slots 8 --slot-size 32 || bad "create file ring"

# check.py FILE SPEC...: parse FILE; each SPEC is family:type:labels:value
cat > "$TMP/check.py" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
errors = []
for f in fams.values():
    if f.type == "counter":
        for s in f.samples:
            if not s.name.endswith("_total"):
                errors.append("counter sample without _total: " + s.name)
    for s in f.samples:
        for k in ("ring", "kind"):
            if k not in s.labels:
                errors.append("%s lacks label %s" % (s.name, k))
for spec in sys.argv[2:]:
    name, typ, labels, value = spec.split("|")
    want = dict(kv.split("=", 1) for kv in labels.split(",")) if labels else {}
    f = fams.get(name)
    if f is None:
        errors.append("no family " + name)
        continue
    if f.type != typ:
        errors.append("%s is %s, not %s" % (name, f.type, typ))
    got = [s for s in f.samples if all(s.labels.get(k) == v for k, v in want.items())]
    if len(got) != 1:
        errors.append("%s%s: %d samples" % (name, want, len(got)))
    elif value != "*" and got[0].value != float(value):
        errors.append("%s%s = %r, want %s" % (name, want, got[0].value, value))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF

if "$CLI" info --prometheus /$P-a "$FILE" > "$TMP/info.prom" 2> "$TMP/err"; then ok; else
	bad "info --prometheus: $(cat "$TMP/err")"
fi
if "$PY" "$TMP/check.py" "$TMP/info.prom" \
	"shmring_messages|counter|ring=/$P-a,side=producer|7" \
	"shmring_messages|counter|ring=/$P-a,side=consumer|3" \
	"shmring_used_slots|gauge|ring=/$P-a,kind=spsc|4" \
	"shmring_slots|gauge|ring=/$P-a|16" \
	"shmring_slot_size_bytes|gauge|ring=/$P-a|64" \
	"shmring_end_of_stream|gauge|ring=/$P-a|1" \
	"shmring_end_reason|gauge|ring=/$P-a|1" \
	"shmring_attached|gauge|ring=/$P-a,side=producer|0" \
	"shmring_slots|gauge|ring=$FILE,kind=mpmc|8" \
	"shmring_messages|counter|ring=$FILE,side=producer|0" \
	"shmring_payload_bytes|counter|ring=/$P-a,side=producer|*" > "$TMP/why"; then ok; else
	bad "info --prometheus parse: $(cat "$TMP/why")"
fi
# every family is announced once, before its samples, with two rings
n=$(grep -c '^# TYPE shmring_messages_total counter$' "$TMP/info.prom")
[ "$n" -eq 1 ] && ok || bad "TYPE of shmring_messages_total printed $n times"

if "$CLI" ls --prometheus "/$P-*" > "$TMP/ls.prom" 2> "$TMP/err"; then ok; else
	bad "ls --prometheus: $(cat "$TMP/err")"
fi
"$PY" "$TMP/check.py" "$TMP/ls.prom" "shmring_messages|counter|ring=/$P-a,side=producer|7" \
	> "$TMP/why" && ok || bad "ls --prometheus parse: $(cat "$TMP/why")"
grep -q "ring=\"$TMP" "$TMP/ls.prom" && bad "ls /dev/shm listed the file ring" || ok

# an aborted stream says so
"$CLI" create /$P-b --slots 4 --slot-size 16 || bad "create b"
# a producer killed while attached (push from an endless input)
yes | "$CLI" push --lines /$P-b > /dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ]; do
	"$CLI" info --prometheus /$P-b 2>/dev/null | grep -q 'shmring_attached{ring="/'$P'-b",kind="spsc",side="producer"} 1' && break
	i=$((i + 1)); sleep 0.05
done
pkill -9 -f "push --lines /$P-b" 2>/dev/null; wait $pid 2>/dev/null
"$CLI" info --prometheus /$P-b > "$TMP/b.prom" 2>&1
"$PY" "$TMP/check.py" "$TMP/b.prom" "shmring_end_reason|gauge|ring=/$P-b|3" > "$TMP/why" &&
	ok || bad "a killed producer's stream: $(cat "$TMP/why")"

# watch --json: one object per line per interval
if timeout 5 "$CLI" watch --json --interval 0.1 --count 3 /$P-a > "$TMP/watch" 2> "$TMP/err"; then ok; else
	bad "watch --json: exit $?, $(cat "$TMP/err")"
fi
lines=$(wc -l < "$TMP/watch")
[ "$lines" -eq 3 ] && ok || bad "watch --json printed $lines lines, want 3"
"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["name"] == sys.argv[2], o
    assert "stats" in o and "time_ns" in o, o
' "$TMP/watch" "/$P-a" && ok || bad "watch --json objects"

cli_summary test-prom
