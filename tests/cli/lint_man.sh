#!/bin/sh
# tests/cli/lint_man.sh DIR [HEADER] - mandoc -Tlint over every man page in DIR.
# Two kinds of message are not the pages' fault and are left out:
#   "referenced manual not found: Xr NAME SEC" for a page that is in DIR
#   (it is found once installed), and the system's "outdated mandoc.db"
#   notes. Link pages (a single .so line) are checked for their target.
# With HEADER (include/shmring.h): every public function it declares has
# its own page DIR/NAME.3 (`man 3 NAME` finds it once installed), a full
# page or a link page, and the page it leads to lists NAME in its NAME
# section (.Nm); and every function a man3 page lists there is declared.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u
dir=${1:-docs/man}
header=${2:-}
pass=0
fail=0

# the .Nm names in the NAME section of a page
names_of() {
	sed -n '/^\.Sh NAME/,/^\.Sh /s/^\.Nm \([A-Za-z0-9_]*\).*/\1/p' "$1"
}

if [ -n "$header" ]; then
	# the functions the header declares: shmring_NAME( outside comments,
	# not the internal shmring__NAME
	funcs=$(perl -0777 -ne 's{/\*.*?\*/}{}gs; s{//[^\n]*}{}g;
		print "$1\n" while /\b(shmring_[a-z0-9][a-z0-9_]*)\s*\(/g' "$header" | sort -u)
	if [ -z "$funcs" ]; then
		fail=$((fail + 1)); echo "$header: no public function found" >&2
	fi
	for fn in $funcs; do
		page=$dir/$fn.3
		if [ ! -f "$page" ]; then
			fail=$((fail + 1)); echo "$fn: no man page $page (man 3 $fn would say 'No manual entry')" >&2
			continue
		fi
		if [ "$(head -c 4 "$page")" = ".so " ]; then
			page=$dir/$(sed -n '1s/^\.so man3\///p' "$page")
			[ -f "$page" ] || continue   # a bad link: reported below
		fi
		if names_of "$page" | grep -qx "$fn"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1)); echo "$fn: $page does not list it in NAME (.Nm $fn)" >&2
		fi
	done
	for page in "$dir"/*.3; do
		for nm in $(names_of "$page"); do
			printf '%s\n' "$funcs" | grep -qx "$nm" && continue
			fail=$((fail + 1)); echo "$page: .Nm $nm is not declared in $header" >&2
		done
	done
fi
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
