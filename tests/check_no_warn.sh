#!/bin/sh
# tests/check_no_warn.sh - Criterion ends a run with exit status 1 when any
# test logged a warning (cr_log_warn), even if every test passed: make test
# then fails for a note. A test that wants to say something without failing
# uses cr_log_info (or printf for SKIP lines). Fails if a test calls
# cr_log_warn.
set -eu
cd "$(dirname "$0")"
hits=$(grep -n 'cr_log_warn' ./*.c ./stress/*.c 2>/dev/null || true)
if [ -n "$hits" ]; then
	echo "check_no_warn: cr_log_warn makes Criterion exit 1 although the tests pass:" >&2
	echo "$hits" >&2
	exit 1
fi
