#!/bin/sh
# tests/cli/lint_man.sh DIR - mandoc -Tlint over every man page in DIR.
# Two kinds of message are not the pages' fault and are left out:
#   "referenced manual not found: Xr NAME SEC" for a page that is in DIR
#   (it is found once installed), and the system's "outdated mandoc.db"
#   notes. Link pages (a single .so line) are checked for their target.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u
dir=${1:-docs/man}
pass=0
fail=0
for f in "$dir"/*.[1-9]; do
	if [ "$(head -c 4 "$f")" = ".so " ]; then
		target=$(sed -n '1s/^\.so man[0-9]\///p' "$f")
		if [ "$(wc -l < "$f")" -eq 1 ] && [ -n "$target" ] && [ -f "$dir/$target" ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1)); echo "$f: bad link page" >&2
		fi
		continue
	fi
	out=$(mandoc -Tlint "$f" 2>&1 | grep -v 'outdated mandoc.db' |
		while IFS= read -r line; do
			ref=$(printf '%s\n' "$line" |
				sed -n 's/.*referenced manual not found: Xr \([^ ]*\) \([0-9]\).*/\1.\2/p')
			[ -n "$ref" ] && [ -f "$dir/$ref" ] && continue
			printf '%s\n' "$line"
		done)
	if [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); printf '%s\n' "$out" >&2
	fi
done
echo "lint-man: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
