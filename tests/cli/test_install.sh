#!/bin/sh
# tests/cli/test_install.sh - install into a temporary DESTDIR with
# PREFIX=/usr, build the examples against the installed copy using only
# `pkg-config --cflags --libs shmring`, run them, then uninstall and check
# that nothing is left behind.
#   tests/cli/test_install.sh MAKE BUILD CC      (run by `make test-install`)
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u

MAKE=${1:-make}
BUILD=${2:-build}
CC=${3:-cc}
DEST=$(mktemp -d "${TMPDIR:-/tmp}/shmring-install.XXXXXX")
NAME=/example-install-$$
pass=0
fail=0

cleanup() {
	rm -f "/dev/shm/${NAME#/}"
	rm -rf "$DEST"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

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
	usr/share/man/man3/shmring_create.3 usr/share/man/man3/shmring_recv.3; do
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
"$DEST/usr/bin/shmring" --help > /dev/null && ok || bad "installed shmring --help"
MANPATH="$DEST/usr/share/man" man -w shmring_send_burst > /dev/null 2>&1 ||
	[ ! -x /usr/bin/man ] && ok || bad "man -w finds shmring_send_burst(3)"
rm -f "$DEST/producer" "$DEST/consumer" "$DEST"/*.out

if $MAKE --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$DEST" uninstall \
	> /dev/null 2>&1; then ok; else bad "make uninstall"; fi
left=$(find "$DEST" ! -type d)
[ -z "$left" ] && ok || bad "left after uninstall: $left"

echo "test-install: $pass passed, $fail failed"
[ $fail -eq 0 ]
