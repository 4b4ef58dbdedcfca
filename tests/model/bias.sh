#!/bin/sh
# tests/model/bias.sh - model-check the biased claim (bias.pml) with Spin:
# the protocol must verify (0 errors, search complete) and each mutant must
# fail with a position claimed twice. The runner is spin_cases.sh
# (REQUIRE_SPIN, MODEL_TRAILS, CC as there).
# Exit status 0 only if the model verifies and every mutant is caught.
set -u
TAG=bias MODEL=bias.pml
. "$(cd "$(dirname "$0")" && pwd)/spin_cases.sh"

twice='claimed[pos]==1'   # the assertion a double claim breaks
check real ""
check NO_WAIT "$twice" -DNO_WAIT
check NO_RECHECK "$twice" -DNO_RECHECK
check NO_BARRIER "$twice" -DNO_BARRIER
check NO_SCAN "$twice" -DNO_SCAN
check K3_EARLY "$twice" -DK3_EARLY
spin_cases_done
