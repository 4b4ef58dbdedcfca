# fuzz/fuzz.mk - libFuzzer targets (clang): make fuzz [FUZZ_SECONDS=60]
#   fuzz_open  arbitrary object contents and sizes under shmring_open(), and
#              identity fields rewritten during open (the library's open hook)
#   fuzz_ring  a live ring's header and slots overlaid with fuzzer bytes
# The library is rebuilt with clang, ASan+UBSan and coverage in
# $(BUILD)/fuzz; seeds come from fuzz/corpus/<target>/ (committed) and
# FUZZ_SEEDS below, new inputs go to $(BUILD)/fuzz/corpus/<target>/,
# crashes to $(BUILD)/fuzz/artifacts/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_open fuzz_ring
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_BINDIR  := $(BUILD)/fuzzers
# seeds written as octal escapes (printf), target/name:bytes (see fuzz_open.c):
#   flip_slots_2p30   valid SPSC ring, both roles; during open slots becomes
#                     2^30, then a whole consistent set with 2^30 slots
#   flip_mpmc_fields  valid MPMC ring; during open kind, slot_size (2^30)
#                     and slot_stride (+8) change
#   bcast_producer    valid broadcast ring of 2 one-byte slots (kind byte 2:
#                     SPSC + 2), opened as its producer
FUZZ_SEEDS   := \
  fuzz_open/bcast_producer:'\017\200\040\000\000\000\000\000\000\000\000\000\000\000\000\002' \
  fuzz_open/flip_slots_2p30:'\077\100\000\002\015\036\000\000\000\007\000\020\000\000' \
  fuzz_open/flip_mpmc_fields:'\077\000\001\003\032\004\000\000\000\003\000\000\000\100\024\010\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\000\000\000'

# built by the inner make (BUILD=$(FUZZ_OUT), CC=clang, coverage flags)
$(FUZZ_BINDIR)/%: fuzz/%.c fuzz/fuzz_common.h $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -fsanitize=fuzzer -o $@ $< $(LIB_A) $(LDFLAGS_APP)

fuzz-build:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_OUT) CC=$(FUZZ_CC) OPT='-O1 -g' \
	  EXTRA_CFLAGS='$(FUZZ_SAN) -fsanitize=fuzzer-no-link' EXTRA_LDFLAGS='$(FUZZ_SAN)' \
	  lib $(addprefix $(FUZZ_OUT)/fuzzers/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	$(Q)for s in $(FUZZ_SEEDS); do \
	  f=$(FUZZ_OUT)/corpus/$${s%%:*}; mkdir -p $$(dirname $$f); \
	  printf "$${s#*:}" > $$f; \
	done
	$(Q)for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_OUT)/corpus/$$t $(FUZZ_OUT)/artifacts; \
	  echo "== fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_OUT)/fuzzers/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=5 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/artifacts/$$t- \
	    $(FUZZ_OUT)/corpus/$$t fuzz/corpus/$$t > $(FUZZ_OUT)/$$t.log 2>&1; \
	  st=$$?; \
	  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|Test unit written)' $(FUZZ_OUT)/$$t.log; \
	  if [ "$$st" -ne 0 ]; then echo "fuzz: $$t FAILED (status $$st, log $(FUZZ_OUT)/$$t.log)"; exit 1; fi; \
	  echo "fuzz: $$t PASS ($(FUZZ_SECONDS) s, log $(FUZZ_OUT)/$$t.log)"; \
	done

.PHONY: fuzz fuzz-build
