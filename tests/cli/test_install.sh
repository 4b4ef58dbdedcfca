#!/bin/sh
# tests/cli/test_install.sh - install into a temporary DESTDIR with
# PREFIX=/usr, build the examples against the installed copy using only
# `pkg-config --cflags --libs shmring` (C, and the C++17 example through
# <shmring.hpp>), build the CMake project tests/cli/install_app with
# find_package(shmring) (shmring::shmring, shmring::shmring_static, C++17),
# run all of them, check the CMake package's version checks and that it
# still works after the installed tree is moved, then uninstall and check
# that nothing is left behind.
#   tests/cli/test_install.sh MAKE BUILD CC CXX    (run by `make test-install`)
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u

MAKE=${1:-make}
BUILD=${2:-build}
CC=${3:-cc}
CXX=${4:-c++}
DEST=$(mktemp -d "${TMPDIR:-/tmp}/shmring-install.XXXXXX")
CMB=$(mktemp -d "${TMPDIR:-/tmp}/shmring-install-cmake.XXXXXX")
NAME=/example-install-$$

cleanup() {
	rm -f "/dev/shm/${NAME#/}"
	rm -rf "$DEST" "$CMB"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"   # ok, bad, cli_summary

if $MAKE --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$DEST" install \
	> "$DEST.log" 2>&1; then ok; else
	bad "make install: $(tail -5 "$DEST.log")"
fi
rm -f "$DEST.log"

# the version, from its one source
MAJOR=$(sed -n 's/^#define SHMRING_VERSION_MAJOR *\([0-9]*\).*/\1/p' "$(dirname "$0")/../../include/shmring.h")
MINOR=$(sed -n 's/^#define SHMRING_VERSION_MINOR *\([0-9]*\).*/\1/p' "$(dirname "$0")/../../include/shmring.h")
PATCH=$(sed -n 's/^#define SHMRING_VERSION_PATCH *\([0-9]*\).*/\1/p' "$(dirname "$0")/../../include/shmring.h")
for f in usr/lib/libshmring.a usr/lib/libshmring.so usr/lib/libshmring.so.$MAJOR \
	usr/include/shmring.h usr/include/shmring/layout.h usr/lib/pkgconfig/shmring.pc \
	usr/bin/shmring usr/share/man/man1/shmring.1 usr/share/man/man7/shmring.7 \
	usr/share/man/man3/shmring_create.3 usr/share/man/man3/shmring_recv.3 \
	usr/include/shmring.hpp usr/lib/cmake/shmring/shmringConfig.cmake \
	usr/lib/cmake/shmring/shmringConfigVersion.cmake; do
	[ -e "$DEST/$f" ] && ok || bad "not installed: /$f"
done
[ "$(readlink "$DEST/usr/lib/libshmring.so.$MAJOR")" = "libshmring.so.$MAJOR.$MINOR.$PATCH" ] && ok ||
	bad "soname link"

# the installed copy, found through pkg-config alone
export PKG_CONFIG_PATH="$DEST/usr/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$DEST"
export PKG_CONFIG_LIBDIR="$DEST/usr/lib/pkgconfig"
flags=$(pkg-config --cflags --libs shmring)
case $flags in
*"-I$DEST/usr/include"*"-L$DEST/usr/lib"*"-lshmring"*) ok ;;
*) bad "pkg-config flags: $flags" ;;
esac
src=$(cd "$(dirname "$0")/../../docs/examples" && pwd)
for ex in producer consumer; do
	# shellcheck disable=SC2086
	if $CC -std=gnu11 -Wall -Wextra -Werror -O2 -o "$DEST/$ex" "$src/$ex.c" $flags; then
		ok
	else
		bad "building $ex.c against the installed copy"
	fi
done
# dynamically linked against the installed libshmring.so.$MAJOR
export LD_LIBRARY_PATH="$DEST/usr/lib"
if [ -x "$DEST/producer" ] && [ -x "$DEST/consumer" ]; then
	ldd "$DEST/producer" | grep -q "$DEST/usr/lib/libshmring.so.$MAJOR" && ok ||
		bad "producer does not use the installed shared library"
	"$DEST/consumer" "$NAME" -q > "$DEST/consumer.out" &
	cpid=$!
	"$DEST/producer" "$NAME" 2000 > "$DEST/producer.out"
	prc=$?
	wait $cpid
	crc=$?
	[ $prc -eq 0 ] && [ $crc -eq 0 ] && grep -q 'received 2000 messages' "$DEST/consumer.out" &&
		ok || bad "installed examples: producer $prc consumer $crc $(cat "$DEST/consumer.out")"
fi

# C++17 through <shmring.hpp>, with the same pkg-config flags
# shellcheck disable=SC2086
if $CXX -std=c++17 -Wall -Wextra -Werror -O2 -o "$DEST/cxx_ring" "$src/cxx_ring.cc" $flags; then
	ok
	"$DEST/cxx_ring" 2000 > "$DEST/cxx.out" 2>&1 &&
		grep -q 'received 2000 messages, all in order' "$DEST/cxx.out" && ok ||
		bad "installed C++ example: $(cat "$DEST/cxx.out")"
else
	bad "building cxx_ring.cc against the installed copy"
fi

# ---- the CMake package ----
cfgdir=$DEST/usr/lib/cmake/shmring
# relocatable: no absolute path inside (only comments may name one)
if [ -f "$cfgdir/shmringConfig.cmake" ]; then
	grep -v '^#' "$cfgdir/shmringConfig.cmake" | grep -q -e '"/' -e "$DEST" &&
		bad "shmringConfig.cmake names an absolute path" || ok
fi
grep -q "PACKAGE_VERSION \"$MAJOR.$MINOR.$PATCH\"" "$cfgdir/shmringConfigVersion.cmake" && ok ||
	bad "shmringConfigVersion.cmake does not say $MAJOR.$MINOR.$PATCH"
app=$(cd "$(dirname "$0")/install_app" && pwd)
# configure the project in $CMB with PREFIX_PATH and VERSION: 0 when found
cm_configure() {
	cmake -S "$app" -B "$CMB" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
		-Ushmring_DIR -DCMAKE_PREFIX_PATH="$1" -DSHMRING_WANT="$2" > "$CMB.log" 2>&1
}
if ! command -v cmake > /dev/null; then
	bad "cmake is not installed (tools/deps.sh installs it: make deps)"
elif cm_configure "$DEST/usr" "$MAJOR"; then
	grep -q "found shmring $MAJOR.$MINOR.$PATCH in $cfgdir" "$CMB.log" && ok ||
		bad "cmake found another shmring: $(grep 'found shmring' "$CMB.log")"
	if cmake --build "$CMB" > "$CMB.log" 2>&1; then
		ok
		for exe in app app_static app_cxx; do
			"$CMB/$exe" > "$CMB/$exe.out" 2>&1 && grep -q ': ok' "$CMB/$exe.out" && ok ||
				bad "CMake-built $exe: $(cat "$CMB/$exe.out")"
		done
		# the shared one uses the installed libshmring.so.$MAJOR, even without
		# LD_LIBRARY_PATH (CMake links it by path, with its soname)
		env -u LD_LIBRARY_PATH ldd "$CMB/app" |
			grep -q "libshmring.so.$MAJOR => $DEST/usr/lib/libshmring.so.$MAJOR" && ok ||
			bad "CMake-built app does not use the installed shared library"
		readelf -d "$CMB/app_static" | grep -q 'libshmring' &&
			bad "app_static needs libshmring.so" || ok
	else
		bad "cmake --build: $(tail -20 "$CMB.log")"
	fi
	# another major version, or a newer minor one, is refused
	cm_configure "$DEST/usr" "$((MAJOR + 1))" && bad "find_package(shmring $((MAJOR + 1))) succeeded" || ok
	cm_configure "$DEST/usr" "$MAJOR.$((MINOR + 1))" &&
		bad "find_package(shmring $MAJOR.$((MINOR + 1))) succeeded" || ok
	# the installed tree moved elsewhere: found there, and it links and runs
	mv "$DEST/usr" "$DEST/moved"
	if cm_configure "$DEST/moved" "$MAJOR" && cmake --build "$CMB" >> "$CMB.log" 2>&1; then
		grep -q "found shmring $MAJOR.$MINOR.$PATCH in $DEST/moved/lib/cmake/shmring" "$CMB.log" &&
			env -u LD_LIBRARY_PATH ldd "$CMB/app_cxx" | grep -q "$DEST/moved/lib/libshmring.so" &&
			env -u LD_LIBRARY_PATH "$CMB/app_cxx" > /dev/null 2>&1 && ok ||
			bad "the moved tree: $(grep 'found shmring' "$CMB.log")"
	else
		bad "cmake with the installed tree moved: $(tail -20 "$CMB.log")"
	fi
	mv "$DEST/moved" "$DEST/usr"
else
	bad "cmake could not configure $app: $(tail -20 "$CMB.log")"
fi
rm -f "$CMB.log"

"$DEST/usr/bin/shmring" --help > /dev/null && ok || bad "installed shmring --help"
# `shmring bench` works where the benchmark was built before the install
# (make bench; installed as shmring-ipc-bench beside the tool), and says
# exactly that (exit 12) where it was not
if [ -x "$BUILD/bench/ipc_bench" ]; then
	[ -x "$DEST/usr/bin/shmring-ipc-bench" ] && ok || bad "shmring-ipc-bench not installed"
	env PATH=/usr/bin:/bin "$DEST/usr/bin/shmring" bench -- --help > "$DEST/bench.out" 2>&1 &&
		grep -q -- '--transports' "$DEST/bench.out" && ok ||
		bad "installed shmring bench -- --help: $(head -3 "$DEST/bench.out")"
	mv "$DEST/usr/bin/shmring-ipc-bench" "$DEST/ipc_bench.away"
fi
env PATH=/usr/bin:/bin "$DEST/usr/bin/shmring" bench > "$DEST/bench.out" 2>&1
rc=$?
[ $rc -eq 12 ] && grep -q "not built" "$DEST/bench.out" && ok ||
	bad "shmring bench without the benchmark: exit $rc, $(head -3 "$DEST/bench.out")"
[ -f "$DEST/ipc_bench.away" ] && mv "$DEST/ipc_bench.away" "$DEST/usr/bin/shmring-ipc-bench"
rm -f "$DEST/bench.out"
for fn in shmring_send_burst shmring_arm shmring_open_fd; do
	MANPATH="$DEST/usr/share/man" man -w "$fn" > /dev/null 2>&1 ||
		[ ! -x /usr/bin/man ] && ok || bad "man -w finds $fn(3)"
done
# every public function has its page installed (lint-man checks the pages)
for fn in $(perl -0777 -ne 's{/\*.*?\*/}{}gs;
	print "$1\n" while /\b(shmring_[a-z0-9][a-z0-9_]*)\s*\(/g' "$DEST/usr/include/shmring.h" | sort -u); do
	[ -f "$DEST/usr/share/man/man3/$fn.3" ] || bad "no man page installed for $fn"
done
rm -f "$DEST/producer" "$DEST/consumer" "$DEST/cxx_ring" "$DEST"/*.out

if $MAKE --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$DEST" uninstall \
	> /dev/null 2>&1; then ok; else bad "make uninstall"; fi
left=$(find "$DEST" ! -type d)
[ -z "$left" ] && ok || bad "left after uninstall: $left"

cli_summary test-install
