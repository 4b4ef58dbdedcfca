# bench/packed.mk - packed rings against pipe-batch (8 B, bursts) and the
# fixed-slot ring (16 B - 4 KiB): bench/packed_bench.c, a program of its
# own. Part of make bench-full; alone: make bench-packed
#   PACKED_BENCH_ARGS="--reps 9 --duration 0.5 --only 8|mix"
PACKED_BENCH      := $(BUILD)/bench/packed_bench
PACKED_BENCH_ARGS ?= --reps 9 --duration 0.5

$(PACKED_BENCH): bench/packed_bench.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $< $(LIB_A) -lm $(LDFLAGS_APP)

bench-packed: $(PACKED_BENCH)
	@mkdir -p $(BENCH_RESULTS)
	$(Q)$(if $(BENCH_LOCK),flock -x $(BENCH_LOCK)) $(PACKED_BENCH) $(PACKED_BENCH_ARGS) | tee $(BENCH_RESULTS)/packed.txt

bench-full: bench-packed

.PHONY: bench-packed
