# shmring - one entry point. See README.md.
#   make            library (static + shared), CLI
#   make test       what CI runs: Criterion unit + cross-process tests, short stress
#   make check      the tests again under ASan+UBSan, the threaded stress under TSan,
#                   and the Spin model of the sleep/wake handshake
#   make bench      the IPC comparison (quick); make bench-full, make microbench
#   make soak       long stress/fault runs (SOAK_SECONDS=600)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS=60)
#   make install    PREFIX=/usr/local DESTDIR= (library, headers, shmring.pc,
#                   the CMake package shmring::shmring, the tool, man pages)
#   make deps       install missing Debian packages (apt-get)
#   V=1             show commands

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
PCDIR   ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/shmring
DESTDIR ?=
BUILD   ?= build

CC      ?= cc
CXX     ?= c++
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif

# one source for the version: include/shmring.h
version_part   = $(shell sed -n 's/^\#define SHMRING_VERSION_$(1) *\([0-9]*\).*/\1/p' include/shmring.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION       := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)

ifeq ($(V),1)
Q :=
else
Q := @
endif

OPT        ?= -O2 -g
WARN       := -Wall -Wextra -Werror
CPPFLAGS_S := -D_GNU_SOURCE -Iinclude
# EXTRA_CFLAGS / EXTRA_LDFLAGS: sanitizer builds (make check) pass flags here
# hidden by default: the shared library exports what include/shmring.h marks
# SHMRING_API, and src/libshmring.map lists (tests/check_exports.sh checks)
# Branches kept from crossing or ending on a 32-byte boundary (Intel's JCC
# erratum: on Skylake-derived CPUs such a jump misses the uop cache). Without
# it the bursts' loops ran 34.5 or 40.5 ns a call (Burst/8) depending only on
# where the linker happened to place them (docs/benchmarks.md). gcc passes it
# to the assembler, clang takes it itself; a compiler that knows neither
# (another architecture) builds without it.
flag_ok = $(shell $(1) $(2) -x c -c /dev/null -o /dev/null 2>/dev/null && echo $(2))
JCC_FLAG  = $(or $(call flag_ok,$(1),-Wa$(comma)-mbranches-within-32B-boundaries),$(call flag_ok,$(1),-mbranches-within-32B-boundaries))
comma := ,
JCC_CC  := $(call JCC_FLAG,$(CC))
JCC_CXX := $(call JCC_FLAG,$(CXX))
CFLAGS_LIB := -std=c11 $(WARN) $(OPT) $(JCC_CC) -fPIC -fvisibility=hidden $(EXTRA_CFLAGS)
CFLAGS_APP := -std=gnu11 $(WARN) $(OPT) $(JCC_CC) $(EXTRA_CFLAGS)
CXXFLAGS_APP := -std=c++17 $(WARN) $(OPT) $(JCC_CXX) $(EXTRA_CFLAGS)
LDFLAGS_APP := $(EXTRA_LDFLAGS)

LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_A    := $(BUILD)/libshmring.a
LIB_SO   := $(BUILD)/libshmring.so.$(VERSION)
LIB_HDRS := include/shmring.h $(wildcard include/shmring/*.h)

DEPS_STAMP := $(BUILD)/.deps-ok

# the first rule is the default goal: plain `make` builds the library and
# the tool (tools/tools.mk adds the tool to all)
all: lib

.PHONY: all lib test check bench bench-full microbench soak fuzz install uninstall \
        clean deps examples lint FORCE
FORCE:

lib: $(LIB_A) $(LIB_SO)

# -- dependencies: installed by make, never silently skipped --
deps:
	$(Q)tools/deps.sh install

# checked again when the list of packages changes
$(DEPS_STAMP): tools/deps.sh
	$(Q)mkdir -p $(BUILD)
	$(Q)tools/deps.sh check 2>/dev/null || tools/deps.sh install
	$(Q)touch $@

# -- library --
$(BUILD)/obj/%.o: src/%.c $(LIB_HDRS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS_S) $(CFLAGS_LIB) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS) src/libshmring.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)rm -f $(BUILD)/libshmring.so.*   # no stale library of another version beside it
	$(Q)$(CC) -shared -Wl,-soname,libshmring.so.$(VERSION_MAJOR) \
	  -Wl,--version-script=src/libshmring.map -o $@ $(LIB_OBJS) $(LDFLAGS_APP)
	$(Q)ln -sf libshmring.so.$(VERSION) $(BUILD)/libshmring.so.$(VERSION_MAJOR)
	$(Q)ln -sf libshmring.so.$(VERSION_MAJOR) $(BUILD)/libshmring.so

# regenerated every time: it records PREFIX/LIBDIR, which install may change
$(BUILD)/shmring.pc: tools/shmring.pc.in FORCE
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# the CMake package (find_package(shmring 3), target shmring::shmring):
# paths in it are relative to where it is installed, so the tree can move
# (and a DESTDIR install works with CMAKE_PREFIX_PATH=DESTDIR/PREFIX).
# Regenerated every time, like the .pc: PREFIX, LIBDIR and INCDIR decide it.
relpath = $(shell realpath -m -s --relative-to='$(1)' '$(2)')
SIZEOF_VOID_P = $(shell printf '__SIZEOF_POINTER__\n' | $(CC) -E -P -x c - 2>/dev/null | tail -n 1)
CMAKE_CFG := $(BUILD)/cmake/shmringConfig.cmake $(BUILD)/cmake/shmringConfigVersion.cmake

$(BUILD)/cmake/%.cmake: tools/%.cmake.in FORCE
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX_REL@|$(call relpath,$(CMAKEDIR),$(PREFIX))|g' \
	  -e 's|@LIBDIR_REL@|$(call relpath,$(PREFIX),$(LIBDIR))|g' \
	  -e 's|@INCDIR_REL@|$(call relpath,$(PREFIX),$(INCDIR))|g' \
	  -e 's|@VERSION@|$(VERSION)|g; s|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
	  -e 's|@SIZEOF_VOID_P@|$(SIZEOF_VOID_P)|g' $< > $@

# -- parts, one file each --
include tests/tests.mk
include $(wildcard bench/bench.mk tools/tools.mk tests/stress/stress.mk tests/model/model.mk fuzz/fuzz.mk docs/examples/examples.mk python/python.mk)

# -- install --
install: lib $(BUILD)/shmring.pc $(CMAKE_CFG) $(INSTALL_EXTRA)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/shmring $(DESTDIR)$(PCDIR) $(DESTDIR)$(CMAKEDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libshmring.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libshmring.so.$(VERSION_MAJOR)
	ln -sf libshmring.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libshmring.so
	install -m 644 include/shmring.h include/shmring.hpp $(DESTDIR)$(INCDIR)/
	install -m 644 include/shmring/*.h $(DESTDIR)$(INCDIR)/shmring/
	install -m 644 $(BUILD)/shmring.pc $(DESTDIR)$(PCDIR)/
	install -m 644 $(CMAKE_CFG) $(DESTDIR)$(CMAKEDIR)/
	$(INSTALL_EXTRA_CMDS)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libshmring.a $(DESTDIR)$(LIBDIR)/libshmring.so*
	rm -f $(DESTDIR)$(INCDIR)/shmring.h $(DESTDIR)$(INCDIR)/shmring.hpp
	rm -rf $(DESTDIR)$(INCDIR)/shmring
	rm -f $(DESTDIR)$(PCDIR)/shmring.pc
	rm -f $(addprefix $(DESTDIR)$(CMAKEDIR)/,$(notdir $(CMAKE_CFG)))
	rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true
	$(UNINSTALL_EXTRA_CMDS)

clean:
	rm -rf $(BUILD)
