# bench/paced.mk - one-way latency of a paced stream (bench/paced_latency.c; SPSC,
# or MPMC with --mpmc / --crowd / --pool in PACED_ARGS):
# what a consumer-side batching policy costs a stream that is neither
# saturated nor a round trip. Not part of make bench:
#   make bench-paced PACED_ARGS="300 64"   (gap in ns, message size)
PACED_BENCH := $(BUILD)/bench/paced_latency
PACED_ARGS  ?= 300 64

$(PACED_BENCH): bench/paced_latency.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $< $(LIB_A) $(LDFLAGS_APP)

bench-paced: $(PACED_BENCH)
	$(Q)$(PACED_BENCH) $(PACED_ARGS)

.PHONY: bench-paced
