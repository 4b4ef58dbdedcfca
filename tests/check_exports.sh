#!/bin/sh
# tests/check_exports.sh - the shared library exports exactly the public
# API and the slow-path entry points the inline code calls: the functions
# include/ declares SHMRING_API, the globals of src/libshmring.map, and
# what `nm -D` finds defined in the library must be one and the same set.
#   tests/check_exports.sh PATH/TO/libshmring.so
# Ends with "exports: N passed, M failed".
set -u
SO=${1:?usage: check_exports.sh PATH/TO/libshmring.so}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

# declared: the name after SHMRING_API ... up to "("
grep -hE '^SHMRING_API ' "$ROOT/include/shmring.h" "$ROOT/include/shmring/"*.h |
	sed -E 's/\(.*//; s/.*[ *]//' | sort -u > "$TMP/declared"
sed -n '/global:/,/local:/p' "$ROOT/src/libshmring.map" | grep -E '^[[:space:]]+[a-z_]+;' |
	tr -d ' \t;' | sort -u > "$TMP/map"
nm -D --defined-only "$SO" | awk '$2 ~ /^[TDRBW]$/ { print $3 }' | sed 's/@.*//' |
	sort -u > "$TMP/exported"

cmp_sets() {  # cmp_sets A B WHAT
	if diff "$TMP/$1" "$TMP/$2" > "$TMP/diff"; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		echo "exports: $3:" >&2
		sed 's/^/  /' "$TMP/diff" >&2
	fi
}
[ -s "$TMP/declared" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "exports: no SHMRING_API declarations found" >&2; }
cmp_sets declared map "declared in include/ (<) vs listed in src/libshmring.map (>)"
cmp_sets declared exported "declared in include/ (<) vs nm -D $SO (>)"
echo "exports: $pass passed, $fail failed ($(wc -l < "$TMP/exported") symbols)"
[ "$fail" -eq 0 ]
