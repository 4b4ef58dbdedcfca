# tests/model/model.mk - Spin model of the sleep/wake handshake. Target:
#   model-check   install the Debian package spin if it is missing, then run
#                 tests/model/run.sh: the real protocol must verify, every
#                 mutant must be caught (about 20 s, under 1 GB)
# MODEL_TRAILS=1 prints each mutant's error trail.

MODEL_RUN := tests/model/run.sh

model-check:
	$(Q)command -v spin >/dev/null 2>&1 || { \
	  echo "model-check: installing spin"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y spin; }
	$(Q)REQUIRE_SPIN=1 $(MODEL_RUN)

.PHONY: model-check
