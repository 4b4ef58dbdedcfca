# docs/examples/examples.mk - build (and smoke-test) the examples, so they
# cannot rot. Included by the top Makefile.
#   make examples        -> $(BUILD)/examples/{producer,consumer,zerocopy,mpmc_pool,poll_rings,...}
#                           (C ones in strict -std=c11, as a user may build them)
#                           and the C++17 ones (*.cc: cxx_ring), built with
#                           -std=c++17 -Wall -Wextra -Werror
#   make test-examples   run each one briefly

EXAMPLE_SRCS := $(wildcard docs/examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:docs/examples/%.c=$(BUILD)/examples/%)
EXAMPLE_CXX_SRCS := $(wildcard docs/examples/*.cc)
EXAMPLE_BINS += $(EXAMPLE_CXX_SRCS:docs/examples/%.cc=$(BUILD)/examples/%)

examples: $(EXAMPLE_BINS)

$(BUILD)/examples/%: docs/examples/%.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -std=c11 -o $@ $< $(LIB_A) $(LDFLAGS_APP)

$(BUILD)/examples/%: docs/examples/%.cc include/shmring.hpp $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(CPPFLAGS_S) $(CXXFLAGS_APP) -o $@ $< $(LIB_A) -lpthread $(LDFLAGS_APP)

test-examples: examples
	$(Q)set -e; b=$(BUILD)/examples; n=/example-make-$$$$; pass=0; \
	$$b/consumer $$n -q > $(BUILD)/examples/consumer.out & cpid=$$!; \
	$$b/producer $$n 5000 > /dev/null; wait $$cpid; \
	grep -q 'received 5000 messages' $(BUILD)/examples/consumer.out; pass=$$((pass+1)); \
	$$b/zerocopy 500 > /dev/null; pass=$$((pass+1)); \
	$$b/mpmc_pool 3 3000 > /dev/null; pass=$$((pass+1)); \
	$$b/poll_rings 2000 > $(BUILD)/examples/poll_rings.out; \
	grep -q 'received 8000 messages from 4 rings' $(BUILD)/examples/poll_rings.out; pass=$$((pass+1)); \
	$$b/memfd_share fork 3000 | grep -q 'received 3000 messages'; pass=$$((pass+1)); \
	timeout 60 $$b/epoll_rings 2000 | grep -q 'received 32000 messages from 16 rings, 16 ended'; pass=$$((pass+1)); \
	sock=$(abspath $(BUILD))/examples/memfd.sock; rm -f $$sock; \
	$$b/memfd_share serve $$sock 3000 & spid=$$!; \
	i=0; while [ ! -S $$sock ] && [ $$i -lt 100 ]; do sleep 0.05; i=$$((i+1)); done; \
	$$b/memfd_share client $$sock | grep -q 'received 3000 messages'; wait $$spid; pass=$$((pass+1)); \
	timeout 60 $$b/cxx_ring 20000 | grep -q 'received 20000 messages, all in order'; pass=$$((pass+1)); \
	echo "test-examples: $$pass passed, 0 failed"

TEST_EXTRA += test-examples
test: test-examples

.PHONY: test-examples
