# tools/tools.mk - the shmring command-line tool, its man pages and install
# hooks, and the tests that go with them. Included by the top Makefile.
#
#   make                    also builds $(BUILD)/shmring
#   make install            also installs the tool and the man pages
#   make test-cli           the tool end to end (tests/cli/test_cli.sh,
#                           test_prom.sh, test_bcast.sh: broadcast rings)
#   make test-bridge        shmring bridge over tcp:// and ipc:// between two
#                           rings: byte-exact, boundaries, killed peers
#                           (tests/cli/test_bridge.sh)
#   make test-liveness      peers in other PID namespaces, behind hidepid=2,
#                           exec'd or killed (tests/cli/test_liveness.sh; needs
#                           root for unshare/mount/setpriv, else it says SKIP)
#   make test-install       install into a temporary DESTDIR, build the C and
#                           C++ examples with pkg-config only and a CMake project
#                           with find_package(shmring), run them, uninstall
#   make lint-man           mandoc -Tlint over docs/man; every public function
#                           of include/shmring.h has its own man3 page
#   make bench-bridge       bridge throughput vs a plain ZeroMQ PUSH/PULL pair
#                           over loopback TCP (tests/cli/bridge_bench.c)

CLI_BIN   := $(BUILD)/shmring
CLI_SRCS  := tools/shmring.c $(wildcard tools/cli_*.c)
# bridge (cli_bridge*.c) speaks ZeroMQ: libzmq3-dev, the tool alone links it.
# The tool waits for $(DEPS_STAMP) (tools/deps.sh installs what is missing,
# or says what to install), and this is expanded only when it is linked
ZMQ_LIBS   = $(shell pkg-config --libs libzmq 2>/dev/null || echo -lzmq)
MAN1      := $(wildcard docs/man/*.1)
MAN3      := $(wildcard docs/man/*.3)
MAN7      := $(wildcard docs/man/*.7)

all: $(CLI_BIN)

$(CLI_BIN): $(CLI_SRCS) $(wildcard tools/cli*.h) $(LIB_A) $(LIB_HDRS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $(CLI_SRCS) $(LIB_A) $(ZMQ_LIBS) $(LDFLAGS_APP)

# -- install hooks (the top Makefile's install/uninstall run these) --
INSTALL_EXTRA += $(CLI_BIN)

define INSTALL_EXTRA_CMDS
install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
install -m 755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/shmring
if [ -x $(IPC_BENCH) ]; then install -m 755 $(IPC_BENCH) $(DESTDIR)$(BINDIR)/shmring-ipc-bench; fi
$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
$(if $(MAN3),install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/)
$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
endef

define UNINSTALL_EXTRA_CMDS
rm -f $(DESTDIR)$(BINDIR)/shmring $(DESTDIR)$(BINDIR)/shmring-ipc-bench
rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
endef

# -- tests --
# an LD_PRELOAD shim that replaces a file while the tool looks at it
SWAP_SHIM := $(BUILD)/tests/swap_shim.so

$(SWAP_SHIM): tests/cli/swap_shim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=gnu11 $(WARN) $(OPT) -fPIC -shared -o $@ $< -ldl

test-cli: $(CLI_BIN) $(SWAP_SHIM)
	$(Q)tests/cli/test_cli.sh $(CLI_BIN) $(SWAP_SHIM)
	$(Q)PYTHON=$(PYTHON) tests/cli/test_prom.sh $(CLI_BIN)
	$(Q)PYTHON=$(PYTHON) tests/cli/test_bcast.sh $(CLI_BIN)

# a producer that sends one message, then exec()s sleep (test_liveness.sh)
LIVENESS_EXEC := $(BUILD)/tests/exec_producer

$(LIVENESS_EXEC): tests/cli/exec_producer.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $< $(LIB_A) $(LDFLAGS_APP)

test-liveness: $(CLI_BIN) $(LIVENESS_EXEC)
	$(Q)tests/cli/test_liveness.sh $(CLI_BIN) $(LIVENESS_EXEC)

test-bridge: $(CLI_BIN)
	$(Q)tests/cli/test_bridge.sh $(CLI_BIN)

BRIDGE_BENCH := $(BUILD)/tests/bridge_bench

$(BRIDGE_BENCH): tests/cli/bridge_bench.c $(LIB_A) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_APP) -o $@ $< $(LIB_A) $(ZMQ_LIBS) $(LDFLAGS_APP)

# BRIDGE_BENCH_ARGS: COUNT_64B COUNT_64K REPS (default 1000000 20000 9)
bench-bridge: $(CLI_BIN) $(BRIDGE_BENCH)
	$(Q)$(BRIDGE_BENCH) $(CLI_BIN) $(BRIDGE_BENCH_ARGS)

# the .pc file bakes in PREFIX when it is generated, so it is regenerated for
# the /usr install here and removed again afterwards
test-install: lib $(CLI_BIN)
	$(Q)rm -f $(BUILD)/shmring.pc
	$(Q)tests/cli/test_install.sh "$(MAKE)" "$(BUILD)" "$(CC)" "$(CXX)"; rc=$$?; \
	    rm -f $(BUILD)/shmring.pc; exit $$rc

# mandoc over the pages, and every public function of include/shmring.h
# has its man3 page; then the same check must fail on a copy of the pages
# without shmring_arm.3 (so that it cannot pass by finding nothing)
lint-man:
	$(Q)tests/cli/lint_man.sh docs/man include/shmring.h
	$(Q)t=$$(mktemp -d) && cp docs/man/* "$$t"/ && rm "$$t/shmring_arm.3" && \
	if tests/cli/lint_man.sh "$$t" include/shmring.h > /dev/null 2>&1; then \
	  rm -rf "$$t"; echo "lint-man: a function without a man page went unnoticed" >&2; exit 1; \
	fi; rm -rf "$$t"

TEST_EXTRA += lint-man test-cli test-liveness test-bridge test-install
# tests.mk expands $(TEST_EXTRA) in the test rule before this file is read,
# so the prerequisites are also added to the rule directly
test: lint-man test-cli test-liveness test-bridge test-install

.PHONY: test-cli test-liveness test-bridge test-install lint-man bench-bridge
