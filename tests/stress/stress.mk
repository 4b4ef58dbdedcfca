# tests/stress/stress.mk - multi-process stress, kill -9 fault injection,
# hostile peer, sanitizer builds. Targets:
#   test-stress   short run (end of make test): SPSC 1x1, MPMC P x C matrix,
#                 >= 120 kills, hostile peer, fixed corrupt-ring cases, an
#                 overwrite-oldest ring lapped for 10 s (overwrite.c)
#   check         ASan+UBSan build of the library, the Criterion suite, the C++
#                 header's tests (test_cxx) and the stress; TSan build of the
#                 threaded stress
#   soak          SOAK_SECONDS (600) of matrix + faults + hostile at once
# STRESS_SEED=n repeats a run (every driver prints the seed it used).
STRESS_DIR     := $(BUILD)/stress
# the engine every driver links, one concern per file (map in stress_internal.h)
STRESS_CORE    := $(addprefix tests/stress/stress_,cli.c msg.c ledger.c worker.c launch.c \
                    inspect.c super.c report.c)
STRESS_OBJS    := $(STRESS_CORE:tests/stress/%.c=$(STRESS_DIR)/obj/%.o)
STRESS_HDRS    := tests/stress/stress.h tests/stress/stress_internal.h
STRESS_DEPS    := $(STRESS_OBJS) $(STRESS_HDRS) $(LIB_HDRS) $(LIB_A)
STRESS_DRIVERS := stress_spsc stress_mpmc stress_fault stress_threads event_threads hostile mpmc_stall soak \
                  overwrite broadcast
STRESS_BINS    := $(addprefix $(STRESS_DIR)/,$(STRESS_DRIVERS))
STRESS_SEED    ?=
SOAK_SECONDS   ?= 600
STRESS_S       := $(if $(STRESS_SEED),-s $(STRESS_SEED))
STRESS_RUN     := tests/stress/run.sh

SAN_FLAGS      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# gcc 12 warns (-Wtsan) that TSan does not model atomic_thread_fence; the
# fence only orders the sleep/wake handshake, data is ordered by
# acquire/release pairs TSan does see. Silence that one warning where the
# compiler knows it.
TSAN_WNO       := $(shell $(CC) -Werror -Wno-tsan -fsanitize=thread -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-tsan)
TSAN_FLAGS     := -fsanitize=thread -DSHMRING_NO_MEMBARRIER $(TSAN_WNO)
SAN_BUILD      := $(BUILD)/asan
TSAN_BUILD     := $(BUILD)/tsan
# Criterion's runner and our drivers fork; every child reports on its own
SAN_ENV        := ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:exitcode=86 \
                  LSAN_OPTIONS=suppressions=$(abspath tests/stress/lsan.supp) \
                  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
TSAN_ENV       := TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1

$(STRESS_OBJS): $(STRESS_DIR)/obj/%.o: tests/stress/%.c $(STRESS_HDRS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) -Itests/stress $(CFLAGS_APP) -c -o $@ $<

$(STRESS_BINS): $(STRESS_DIR)/%: tests/stress/%.c $(STRESS_DEPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) -Itests/stress $(CFLAGS_APP) -o $@ $< $(STRESS_OBJS) $(LIB_A) -lpthread $(LDFLAGS_APP)

# regression test of a lost-message race in the MPMC dead-claim skip: it
# holds one consumer inside its liveness check (library test hook)
$(STRESS_DIR)/repro_skip_race: tests/stress/repro_skip_race.c tests/stress/stress.h $(LIB_HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) -Itests/stress $(CFLAGS_APP) -o $@ $< $(LIB_A) -lpthread $(LDFLAGS_APP)

# regression test: a transient membarrier() failure must not latch the
# fence-free handshake off (wraps syscall() to fail the first call)
$(STRESS_DIR)/repro_membarrier: tests/stress/repro_membarrier.c $(LIB_HDRS) $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $< $(LIB_A) -Wl,--wrap=syscall $(LDFLAGS_APP)

stress-bins: $(STRESS_BINS) $(STRESS_DIR)/repro_skip_race $(STRESS_DIR)/repro_membarrier

# the short form; STRESS_QUICK=1 (used under ASan) halves the times
STRESS_T = $(if $(STRESS_QUICK),0.6,1.2)
test-stress: $(STRESS_BINS) $(STRESS_DIR)/repro_skip_race $(STRESS_DIR)/repro_membarrier
	$(Q)$(STRESS_RUN) \
	  "$(STRESS_DIR)/stress_spsc $(STRESS_S) -t $(if $(STRESS_QUICK),1.5,3)" \
	  "$(STRESS_DIR)/stress_mpmc $(STRESS_S) -t $(STRESS_T)" \
	  "$(STRESS_DIR)/stress_fault $(STRESS_S) -t 2 -k 60" \
	  "$(STRESS_DIR)/hostile -f" \
	  "$(STRESS_DIR)/hostile $(STRESS_S) -t $(if $(STRESS_QUICK),4,5)" \
	  "$(STRESS_DIR)/mpmc_stall" \
	  "$(STRESS_DIR)/repro_skip_race" \
	  "$(STRESS_DIR)/repro_membarrier" \
	  "$(STRESS_DIR)/event_threads" \
	  "$(STRESS_DIR)/overwrite $(STRESS_S) -t $(if $(STRESS_QUICK),3,10)" \
	  "$(STRESS_DIR)/broadcast $(STRESS_S) -t $(if $(STRESS_QUICK),2,4)" \
	  "$(STRESS_DIR)/broadcast $(STRESS_S) -O -t $(if $(STRESS_QUICK),2,4)"

# every part runs even when an earlier one fails; the last line sums up
check: $(DEPS_STAMP)
	@echo "== check: ASan+UBSan build in $(SAN_BUILD)"
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) EXTRA_CFLAGS='$(SAN_FLAGS)' \
	  EXTRA_LDFLAGS='$(SAN_FLAGS)' lib $(SAN_BUILD)/tests/unit $(SAN_BUILD)/tests/peer \
	  $(SAN_BUILD)/tests/test_cxx stress-bins
	@echo "== check: TSan build in $(TSAN_BUILD)"
	$(Q)$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) EXTRA_CFLAGS='$(TSAN_FLAGS)' \
	  EXTRA_LDFLAGS='-fsanitize=thread' lib $(TSAN_BUILD)/stress/stress_threads \
	  $(TSAN_BUILD)/stress/event_threads $(TSAN_BUILD)/stress/overwrite \
	  $(TSAN_BUILD)/stress/broadcast
	$(Q)u=PASS; s=PASS; t=PASS; m=PASS; \
	echo "== check: Criterion suite under ASan+UBSan"; \
	$(SAN_ENV) SHMRING_PEER=$(abspath $(SAN_BUILD)/tests/peer) \
	  $(SAN_BUILD)/tests/unit -j$(TEST_JOBS) --verbose=0 $(TEST_ARGS) || u=FAIL; \
	echo "== check: the C++ header's tests under ASan+UBSan"; \
	$(SAN_ENV) $(SAN_BUILD)/tests/test_cxx || u=FAIL; \
	echo "== check: stress under ASan+UBSan"; \
	$(SAN_ENV) $(MAKE) --no-print-directory BUILD=$(SAN_BUILD) EXTRA_CFLAGS='$(SAN_FLAGS)' \
	  EXTRA_LDFLAGS='$(SAN_FLAGS)' STRESS_QUICK=1 test-stress || s=FAIL; \
	echo "== check: threaded stress under TSan"; \
	$(TSAN_ENV) $(STRESS_RUN) "$(TSAN_BUILD)/stress/stress_threads $(STRESS_S) -t 3" \
	  "$(TSAN_BUILD)/stress/event_threads" \
	  "$(TSAN_BUILD)/stress/overwrite $(STRESS_S) -T -t 3" \
	  "$(TSAN_BUILD)/stress/broadcast $(STRESS_S) -T -t 3" \
	  "$(TSAN_BUILD)/stress/broadcast $(STRESS_S) -T -O -t 3" || t=FAIL; \
	echo "== check: Spin and Relacy models of the sleep/wake handshake"; \
	$(MAKE) --no-print-directory model-check || m=FAIL; \
	echo "check: asan-unit $$u, asan-stress $$s, tsan-threads $$t, model $$m"; \
	[ $$u$$s$$t$$m = PASSPASSPASSPASS ]

soak: $(STRESS_BINS)
	$(Q)STRESS_LIMIT=$$(( $(SOAK_SECONDS) + 120 )) $(STRESS_RUN) \
	  "$(STRESS_DIR)/soak $(STRESS_S) -t $(SOAK_SECONDS)"

.PHONY: stress-bins test-stress check soak
