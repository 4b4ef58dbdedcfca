#!/bin/sh
# tests/check_plain_make.sh - a newcomer's first command: plain `make` in a
# fresh copy of the tree builds the library (static and shared) and the
# shmring tool, and nothing in it needs a target name.
#   tests/check_plain_make.sh
# Copies the files git knows (tracked and not ignored) into a temporary
# directory, runs `make` there, checks the outputs.
# Ends with "plain-make: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmring-plain.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$ROOT" && xargs -0 cp --parents -t "$TMP" 2>/dev/null)
# a plain make: nothing inherited from a make that runs this script (its
# MAKEFLAGS and environment carry BUILD=... from `make BUILD=dir test`)
if (cd "$TMP" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD make -j2 > make.log 2>&1); then ok; else
	bad "plain make failed: $(tail -5 "$TMP/make.log")"
fi
for f in build/libshmring.a build/libshmring.so build/shmring; do
	[ -e "$TMP/$f" ] && ok || bad "plain make did not build $f"
done
grep -q "Nothing to be done" "$TMP/make.log" && bad "plain make did nothing" || ok
echo "plain-make: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
