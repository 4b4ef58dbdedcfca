#!/bin/sh
# tools/deps.sh - check for, or install, the Debian packages shmring needs.
#   tools/deps.sh check     exit 0 if everything is present, else list what is missing
#   tools/deps.sh install   apt-get install what is missing (root, non-interactive)
set -eu

# build tools, test and benchmark libraries, sanitizer/fuzzer runtimes,
# plotting, man-page linting, JSON checks in the CLI tests, model checking,
# cmake (test-install builds a CMake project against the installed package),
# prometheus_client (the CLI test parses `info --prometheus` with it), and
# wheel + setuptools (an offline `pip install --no-build-isolation ./python`)
PKGS="
make
gcc
g++
cmake
clang
libclang-rt-14-dev
pkg-config
libcriterion-dev
liburcu-dev
libzmq3-dev
libbenchmark-dev
libbenchmark-tools
gnuplot-nox
mandoc
jq
spin
relacy-dev
python3-pytest
python3-numpy
python3-zmq
python3-prometheus-client
python3-wheel
python3-setuptools
"

missing() {
	for pkg in $PKGS; do
		st=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[ "$st" = "install ok installed" ] || printf '%s\n' "$pkg"
	done
}

case "${1:-check}" in
check)
	m=$(missing)
	if [ -n "$m" ]; then
		echo "shmring: missing packages:" $m >&2
		exit 1
	fi
	;;
install)
	m=$(missing)
	[ -z "$m" ] && { echo "shmring: all dependencies present"; exit 0; }
	echo "shmring: installing:" $m
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $m
	m=$(missing)
	if [ -n "$m" ]; then
		echo "shmring: still missing after install:" $m >&2
		exit 1
	fi
	;;
*)
	echo "usage: tools/deps.sh check|install" >&2
	exit 2
	;;
esac
