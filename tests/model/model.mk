# tests/model/model.mk - models of the sleep/wake handshake. Target:
#   model-check   install the Debian packages spin and relacy-dev if they are
#                 missing, then run tests/model/run.sh: the Spin model
#                 (sequentially consistent) and the Relacy model (C11 weak
#                 memory) of the real protocol must verify, every mutant
#                 must be caught (Spin about 20-40 s and under 1 GB, Relacy
#                 about 15 s with its build); then the Spin model of the
#                 broadcast ring (tests/model/broadcast_run.sh: the scan,
#                 the join, the wakes; about 25 s and 400 MB)
# MODEL_TRAILS=1 prints each mutant's error trail; MODEL_ONLY=spin|relacy
# runs one of the two.

MODEL_RUN := tests/model/run.sh

model-check:
	$(Q)pkgs=; \
	command -v spin >/dev/null 2>&1 || pkgs="$$pkgs spin"; \
	[ -f /usr/include/relacy/relacy.hpp ] || [ -n "$$RELACY_INCLUDE" ] || \
	  pkgs="$$pkgs relacy-dev"; \
	[ -z "$$pkgs" ] || { \
	  echo "model-check: installing$$pkgs"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $$pkgs; }
	$(Q)REQUIRE_SPIN=1 REQUIRE_RELACY=1 $(MODEL_RUN)
	$(Q)REQUIRE_SPIN=1 tests/model/broadcast_run.sh

.PHONY: model-check
