#!/bin/sh
# tests/model/broadcast_run.sh - model-check the broadcast ring's protocol
# (tests/model/broadcast.pml) with Spin: the real protocol must verify (0
# errors, search complete), every mutant must be caught for the expected
# reason. The runner is spin_cases.sh (REQUIRE_SPIN, MODEL_TRAILS, CC as
# there). The real model takes about 20 s and 400 MB here.
set -u
TAG=broadcast MODEL=broadcast.pml
. "$(cd "$(dirname "$0")" && pwd)/spin_cases.sh"

check real ""
# an overwrite under a reader: the joiner started before its re-check, the
# producer wrote on past its cached limit, or its minimum ignored itself
check JOIN_NO_RECHECK "assertion violated (v==pos)" -DJOIN_NO_RECHECK
check NO_RESCAN "assertion violated (v==pos)" -DNO_RESCAN
check NO_SELF_BOUND "assertion violated (v==pos)" -DNO_SELF_BOUND
# a lost wake-up: somebody sleeps for ever
check NO_SPACE_WAKE "invalid end state" -DNO_SPACE_WAKE
check NO_DATA_WAKE "invalid end state" -DNO_DATA_WAKE
check NO_JOIN_WAKE "invalid end state" -DNO_JOIN_WAKE
spin_cases_done
