# tests/tests.mk - Criterion unit and cross-process tests (make test)
TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_BIN   := $(BUILD)/tests/unit
TEST_PEER  := $(BUILD)/tests/peer
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)
TEST_JOBS  ?= 2

$(TEST_BIN): $(TEST_SRCS) tests/common.h $(LIB_A) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $(TEST_SRCS) $(LIB_A) $(CRIT_LIBS) $(LDFLAGS_APP)

$(TEST_PEER): tests/peer.c tests/common.h $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ tests/peer.c $(LIB_A) $(LDFLAGS_APP)

# the public header must compile as C++ too
$(BUILD)/tests/cxx_header: tests/cxx_header.cc $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) $(CXXFLAGS_APP) -o $@ $< $(LIB_A) $(LDFLAGS_APP)

# the C++ header (include/shmring.hpp): its own test program, built as
# users build it (-std=c++17, warnings as errors) and also with clang++
CXX_HDR := include/shmring.hpp
$(BUILD)/tests/test_cxx: tests/test_cxx.cc $(CXX_HDR) $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) $(CXXFLAGS_APP) -Wpedantic -o $@ $< $(LIB_A) -lpthread $(LDFLAGS_APP)

# ... and without exceptions: only the std::error_code factories
$(BUILD)/tests/cxx_noexceptions: tests/cxx_noexceptions.cc $(CXX_HDR) $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) $(CXXFLAGS_APP) -fno-exceptions -o $@ $< $(LIB_A) -lpthread $(LDFLAGS_APP)

test-cxx: $(BUILD)/tests/test_cxx $(BUILD)/tests/cxx_noexceptions
	$(Q)$(BUILD)/tests/test_cxx
	$(Q)$(BUILD)/tests/cxx_noexceptions

# ... and in strict ISO C, without _GNU_SOURCE, as users may build
$(BUILD)/tests/strict_c: tests/strict_c.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -Iinclude -std=c11 -pedantic $(WARN) $(OPT) $(EXTRA_CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS_APP)

# the library must also build warning-free with clang
clang-lib:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=clang lib

# make lint: the memory-order labels of the code and docs/memory-model.md
# agree; no two files in src/ call each other; the shared library exports
# exactly the public names; no test logs a warning (Criterion exits 1 on one)
lint: lib
	$(Q)tools/lint_labels.sh
	$(Q)python3 tools/lint_calls.py
	$(Q)tests/check_exports.sh $(LIB_SO)
	$(Q)tests/check_no_warn.sh

# plain `make` in a fresh copy of the tree builds the library and the tool
test-plain-make:
	$(Q)tests/check_plain_make.sh

TEST_EXTRA ?=
test: $(DEPS_STAMP) lib lint test-plain-make $(TEST_BIN) $(TEST_PEER) $(BUILD)/tests/cxx_header $(BUILD)/tests/strict_c $(BUILD)/tests/test_cxx $(BUILD)/tests/cxx_noexceptions $(TEST_EXTRA)
	$(Q)$(BUILD)/tests/cxx_header
	$(Q)$(BUILD)/tests/test_cxx
	$(Q)$(BUILD)/tests/cxx_noexceptions
	$(Q)$(BUILD)/tests/strict_c
	$(Q)SHMRING_PEER=$(abspath $(TEST_PEER)) $(TEST_BIN) -j$(TEST_JOBS) --verbose=0 $(TEST_ARGS)
	$(if $(wildcard tests/stress/stress.mk),$(Q)$(MAKE) --no-print-directory test-stress)

.PHONY: clang-lib test-stress lint test-plain-make test-cxx
