# bench/bench.mk - benchmarks (included by the top Makefile)
#   make bench        the IPC comparison, quick (3 reps x 0.25 s per case, about 2 minutes)
#   make bench-full   5 reps x 0.5 s, 13 sizes, + microbench; JSON in bench/results/, plots in docs/
#   make microbench   Google Benchmark: per-operation cost in one process
#   make bench-plot   docs/*.png from BENCH_JSON (default: the last bench-full)
#   BENCH_ARGS="--transports shm-*,pipe --sizes 64"   extra ipc_bench options
#   MICRO_ARGS="--benchmark_filter=SendRecv"          extra microbench options

BENCH_DIR    := $(BUILD)/bench
IPC_BENCH    := $(BENCH_DIR)/ipc_bench
MICRO_BENCH  := $(BENCH_DIR)/micro
IPC_SRCS     := bench/ipc_bench.c bench/harness.c bench/msgloop.c bench/report.c \
                bench/transports_shm.c bench/transports_os.c bench/transport_urcu.c \
                bench/transport_wait.c
IPC_HDRS     := bench/ipc_bench.h bench/msgloop.h bench/report.h bench/ref_ring.h
BENCH_RESULTS := bench/results
BENCH_ARGS   ?=
MICRO_ARGS   ?=
BENCH_JSON   ?= $(BENCH_RESULTS)/ipc-full.json
FULL_SIZES   := 8,16,32,64,128,256,512,1024,2048,4096,8192,16384,65536

# liburcu's headers live in a multiarch directory; wfcqueue's inline fast
# paths (_LGPL_SOURCE) need only liburcu-common. Recursive (=): expanded
# when the recipe runs, after $(DEPS_STAMP) installed the package.
URCU_CFLAGS  = $(shell pkg-config --cflags liburcu-cds 2>/dev/null || \
                 echo -I/usr/include/$$($(CC) -print-multiarch))
URCU_LIBS    = -lurcu-common
BENCH_DEFS   = -DBENCH_CFLAGS='"$(CFLAGS_APP)"'

$(IPC_BENCH): $(IPC_SRCS) $(IPC_HDRS) $(LIB_A) $(LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(URCU_CFLAGS) $(CFLAGS_APP) $(BENCH_DEFS) -o $@ $(IPC_SRCS) \
		$(LIB_A) $(URCU_LIBS) -lrt -lpthread -lm $(LDFLAGS_APP)

$(MICRO_BENCH): bench/micro.cc $(LIB_A) $(LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) $(CXXFLAGS_APP) -o $@ bench/micro.cc $(LIB_A) \
		-lbenchmark -lpthread $(LDFLAGS_APP)

include bench/packed.mk

bench: $(IPC_BENCH)
	$(Q)$(IPC_BENCH) --json $(BENCH_DIR)/ipc-quick.json --csv $(BENCH_DIR)/ipc-quick.csv \
		$(BENCH_ARGS)
	@echo "results: $(BENCH_DIR)/ipc-quick.json (plots: make bench-plot BENCH_JSON=$(BENCH_DIR)/ipc-quick.json)"

bench-full: $(IPC_BENCH) $(MICRO_BENCH)
	@mkdir -p $(BENCH_RESULTS)
	$(Q)$(IPC_BENCH) --reps 5 --duration 0.5 --sizes $(FULL_SIZES) \
		--json $(BENCH_RESULTS)/ipc-full.json --csv $(BENCH_RESULTS)/ipc-full.csv $(BENCH_ARGS)
	$(Q)$(MICRO_BENCH) --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
		--benchmark_out=$(BENCH_RESULTS)/micro.json --benchmark_out_format=json $(MICRO_ARGS)
	$(Q)tools/plot.sh $(BENCH_RESULTS)/ipc-full.json docs

microbench: $(MICRO_BENCH)
	$(Q)$(MICRO_BENCH) --benchmark_out=$(BENCH_DIR)/micro.json --benchmark_out_format=json \
		$(MICRO_ARGS)

bench-plot: | $(DEPS_STAMP)
	$(Q)tools/plot.sh $(BENCH_JSON) docs

.PHONY: bench bench-full microbench bench-plot
