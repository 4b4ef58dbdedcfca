# python/python.mk - the Python package (python/shmring, ctypes over the
# shared library): its tests and its benchmark. Included by the top Makefile.
#
#   make test-python     the pytest suite (python/tests) against this tree's
#                        build/libshmring.so.3 and build/shmring; part of make test
#   make bench-python    msgs/s between two Python processes: shmring vs
#                        multiprocessing.Queue/Pipe and pyzmq (python/bench.py)
#   PYTHON=...           the interpreter (default: /usr/bin/python3, the one
#                        that sees Debian's python3-pytest/-numpy/-zmq)
#   PYTEST_ARGS=...      extra pytest options;  BENCH_PYTHON_ARGS=... bench.py options

PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTEST_ARGS ?=
BENCH_PYTHON_ARGS ?=
# the tests and the bench run this tree's library and tool, never an installed one
PY_ENV := SHMRING_LIB=$(abspath $(BUILD))/libshmring.so.$(VERSION_MAJOR) \
          SHMRING_CLI=$(abspath $(BUILD))/shmring PYTHONDONTWRITEBYTECODE=1

# pytest and numpy are needed, never skipped: missing, they are installed
# with the other packages (tools/deps.sh), or the target fails saying so
PY_HAVE = $(PYTHON) -c 'import pytest, numpy' 2>/dev/null
define PY_NEED
$(PY_HAVE) || tools/deps.sh install >&2 || true; \
$(PY_HAVE) || { echo "shmring: test-python needs pytest and numpy for $(PYTHON)" \
  "(Debian: apt-get install python3-pytest python3-numpy; make deps)" >&2; exit 1; }
endef

test-python: lib $(BUILD)/shmring
	$(Q)$(PY_NEED)
	$(Q)cd python && $(PY_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

bench-python: lib
	$(Q)$(PY_ENV) $(PYTHON) python/bench.py $(BENCH_PYTHON_ARGS)

TEST_EXTRA += test-python
# tests.mk expands $(TEST_EXTRA) in the test rule before this file is read,
# so the prerequisite is also added to the rule directly
test: test-python

.PHONY: test-python bench-python
