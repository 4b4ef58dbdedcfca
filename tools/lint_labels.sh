#!/bin/sh
# tools/lint_labels.sh - the memory-order labels in the code and the tables
# of docs/memory-model.md must agree.
#   tools/lint_labels.sh [ROOT]
# A label is used in the code by a comment that starts with it ("/* P1:
# release: ...", "/* Q3 */", "/* R4 for consumers too */"); in the docs by
# the first cell of a table row ("| P1 | ..."). Every label in one place
# must be in the other.
# Ends with "lint-labels: N passed, M failed"; non-zero exit on a mismatch.
set -u
ROOT=${1:-.}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

grep -rhoE '/\* ([A-Z][0-9]+[a-z]?|X)[ :*]' "$ROOT/src" "$ROOT/include" |
	sed -E 's|/\* ([A-Za-z0-9]*).*|\1|' | sort -u > "$TMP/code"
grep -hoE '^\| ([A-Z][0-9]+[a-z]?|X) \|' "$ROOT/docs/memory-model.md" |
	sed -E 's/^\| ([^ ]*) \|/\1/' | sort -u > "$TMP/docs"

pass=0
fail=0
for l in $(cat "$TMP/code"); do
	if grep -qx "$l" "$TMP/docs"; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "lint-labels: $l is used in the code ($(grep -rlE "/\* $l[ :*]" "$ROOT/src" "$ROOT/include" | tr '\n' ' ')) but has no row in docs/memory-model.md" >&2
	fi
done
for l in $(cat "$TMP/docs"); do
	if grep -qx "$l" "$TMP/code"; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "lint-labels: $l has a row in docs/memory-model.md but no '/* $l:' comment in src/ or include/" >&2
	fi
done
[ -s "$TMP/code" ] || { fail=$((fail + 1)); echo "lint-labels: no labels found in the code" >&2; }
echo "lint-labels: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
