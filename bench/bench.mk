# bench/bench.mk - benchmarks (included by the top Makefile)
#   make bench        the IPC comparison, quick (3 reps x 0.25 s per case, about 100 s;
#                     the MPMC shapes and the broadcast cases at 64 B)
#   make bench-full   9 reps x 0.4 s, 13 sizes, the 64 MiB huge-page rows, the MPMC
#                     shapes at 8, 64 and 512 B, the broadcast cases (shm-bcast-1x1,
#                     shm-bcast-1x3, spsc-fanout-3, shm-spsc) at 8, 64, 512 and 4096 B,
#                     + microbench;
#                     JSON in bench/results/, then make bench-doc (plots, docs/benchmarks.md)
#   make bench-doc    docs/*.png and the generated results part of docs/benchmarks.md
#                     from BENCH_JSON (default: the last bench-full)
#   make microbench   Google Benchmark: per-operation cost in one process
#   make bench-plot   the plots of BENCH_JSON into build/bench/plots/ (docs/ is
#                     bench-doc's alone)
#   make test-bench   ipc_bench's options and outputs (part of make test), with a
#                     second build (-DBENCH_FAULTS) whose faults the checks must catch
#   BENCH_ARGS="--transports shm-*,pipe --sizes 64"   extra ipc_bench options
#   BENCH_LOCK=/tmp/x.lock   hold an exclusive flock on it while each size of each
#                     repetition runs, and during the microbench (a shared machine:
#                     other jobs run in between)
#   MICRO_ARGS="--benchmark_filter=SendRecv"          extra microbench options

BENCH_DIR    := $(BUILD)/bench
IPC_BENCH    := $(BENCH_DIR)/ipc_bench
# the same with the test faults of transport_bcast.c (BENCH_FAULT=...), for
# test-bench only: a fan-out whose consumer misses a message must fail
IPC_BENCH_FAULTS := $(BENCH_DIR)/ipc_bench_faults
MICRO_BENCH  := $(BENCH_DIR)/micro
IPC_SRCS     := bench/ipc_bench.c bench/harness.c bench/msgloop.c bench/report.c \
                bench/transports_shm.c bench/transports_os.c bench/transport_urcu.c \
                bench/transport_wait.c bench/transport_ref_ff.c bench/transport_huge.c \
                bench/transport_ref_vyukov.c bench/transport_bcast.c bench/report_files.c
IPC_HDRS     := bench/transport.h bench/harness.h bench/transports.h bench/transports_shm.h \
                bench/msgloop.h bench/report.h bench/report_int.h bench/ref_ring.h bench/ref_ff.h \
                bench/ref_loops.h bench/ref_vyukov.h
BENCH_RESULTS := bench/results
BENCH_ARGS   ?=
BENCH_LOCK   ?=
MICRO_ARGS   ?=
BENCH_JSON   ?= $(BENCH_RESULTS)/ipc-full.json
BENCH_PLOTS  := $(BENCH_DIR)/plots
FULL_SIZES   := 8,16,32,64,128,256,512,1024,2048,4096,8192,16384,65536
FULL_REPS    := 9
# the MPMC shapes (shm-mpmc-*, ref-vyukov-*; issue 23): the quick run 64 B only
FULL_MPMC_SIZES := 8,64,512
# the broadcast cases (shm-bcast-*, spsc-fanout-3, shm-spsc beside them; issue
# 24): the quick run 64 B only
FULL_BCAST_SIZES := 8,64,512,4096
# the usual transports, and the 64 MiB ring with and without huge pages (issue 13)
FULL_TRANS   := default,shm-64m,shm-64m-huge
BENCH_LOCK_ARG = $(if $(BENCH_LOCK),--lock $(BENCH_LOCK))

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

$(IPC_BENCH_FAULTS): $(IPC_SRCS) $(IPC_HDRS) $(LIB_A) $(LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(URCU_CFLAGS) $(CFLAGS_APP) $(BENCH_DEFS) -DBENCH_FAULTS -o $@ \
		$(IPC_SRCS) $(LIB_A) $(URCU_LIBS) -lrt -lpthread -lm $(LDFLAGS_APP)

$(MICRO_BENCH): bench/micro.cc bench/ref_ff.h include/shmring.hpp $(LIB_A) $(LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) -Ibench $(CXXFLAGS_APP) -o $@ bench/micro.cc $(LIB_A) \
		-lbenchmark -lpthread $(LDFLAGS_APP)

include bench/packed.mk
include bench/paced.mk

bench: $(IPC_BENCH)
	$(Q)$(IPC_BENCH) --json $(BENCH_DIR)/ipc-quick.json --csv $(BENCH_DIR)/ipc-quick.csv \
		$(BENCH_LOCK_ARG) $(BENCH_ARGS)
	@echo "plots of this run: make bench-plot BENCH_JSON=$(BENCH_DIR)/ipc-quick.json (into $(BENCH_PLOTS)/)"

bench-full: $(IPC_BENCH) $(MICRO_BENCH)
	@mkdir -p $(BENCH_RESULTS)
	$(Q)$(IPC_BENCH) --reps $(FULL_REPS) --duration 0.4 --sizes $(FULL_SIZES) \
		--mpmc-sizes $(FULL_MPMC_SIZES) --bcast-sizes $(FULL_BCAST_SIZES) \
		--transports $(FULL_TRANS) $(BENCH_LOCK_ARG) \
		--json $(BENCH_RESULTS)/ipc-full.json --csv $(BENCH_RESULTS)/ipc-full.csv $(BENCH_ARGS)
	$(Q)$(if $(BENCH_LOCK),flock -x $(BENCH_LOCK)) $(MICRO_BENCH) \
		--benchmark_repetitions=$(FULL_REPS) --benchmark_report_aggregates_only=true \
		--benchmark_out=$(BENCH_RESULTS)/micro.json --benchmark_out_format=json $(MICRO_ARGS)
	$(Q)$(MAKE) --no-print-directory bench-doc BENCH_JSON=$(BENCH_RESULTS)/ipc-full.json

microbench: $(MICRO_BENCH)
	$(Q)$(MICRO_BENCH) --benchmark_out=$(BENCH_DIR)/micro.json --benchmark_out_format=json \
		$(MICRO_ARGS)

bench-plot: | $(DEPS_STAMP)
	$(Q)tools/plot.sh $(BENCH_JSON) $(BENCH_PLOTS)

# the results part of docs/benchmarks.md (between its bench-doc markers) and
# the plots, from one JSON run
bench-doc: | $(DEPS_STAMP)
	$(Q)tools/plot.sh $(BENCH_JSON) docs
	$(Q)python3 tools/bench_doc.py $(BENCH_JSON) docs/benchmarks.md

# ipc_bench itself: options that skip cases say so, failed_cases counts
# only failures, placement and the noise figures reach every output, a
# fan-out that loses a message fails
test-bench: $(IPC_BENCH) $(IPC_BENCH_FAULTS)
	$(Q)bench/test_options.sh $(IPC_BENCH) $(IPC_BENCH_FAULTS)

TEST_EXTRA += test-bench
# tests.mk expands $(TEST_EXTRA) in the test rule before this file is read,
# so the prerequisite is also added to the rule directly
test: test-bench

.PHONY: bench bench-full bench-doc microbench bench-plot test-bench
