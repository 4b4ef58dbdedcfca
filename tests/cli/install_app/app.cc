// SPDX-License-Identifier: MIT
//
// tests/cli/install_app/app.cc - C++17 against an installed shmring, through
// <shmring.hpp> (CMake target shmring::shmring): a missing ring throws
// std::system_error, one message goes through copying calls and one through
// zero-copy views, and the handles close themselves.
// Prints "NAME: ok" and exits 0, or says what failed and exits 1.
#include <shmring.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unistd.h>

int main(int argc, char **argv)
{
	using namespace std::literals;
	const char *me = argc > 0 ? argv[0] : "app_cxx";
	std::string name = "/shmring-install-app-cxx-" + std::to_string(getpid());
	try {
		shmring::ring::open(name, shmring::consumer);
		std::fprintf(stderr, "%s: opening a missing ring did not throw\n", me);
		return 1;
	} catch (const std::system_error &e) {
		if (e.code() != std::errc::no_such_file_or_directory) {
			std::fprintf(stderr, "%s: %s\n", me, e.what());
			return 1;
		}
	}
	int bad = 0;
	try {
		shmring::config cfg{};
		cfg.kind = shmring::spsc;
		cfg.slot_size = 64;
		cfg.slots = 16;
		shmring::ring tx = shmring::ring::create(name, cfg, shmring::producer);
		shmring::ring rx = shmring::ring::open(name, shmring::consumer);
		shmring::unlink(name);

		bad += tx.send("copied"sv, shmring::no_wait) != 0;
		char buf[64];
		ssize_t n = rx.recv(buf, shmring::no_wait);
		bad += n != 6 || std::memcmp(buf, "copied", 6) != 0;

		shmring::write_slot ws;
		bad += tx.reserve(ws, shmring::no_wait) != 0;
		bad += ws.bytes().size() != 64;
		std::memcpy(ws.bytes().data(), "in place", 8);
		bad += tx.commit(ws, 8) != 0;
		shmring::read_slot rs;
		bad += rx.acquire(rs, shmring::no_wait) != 0;
		bad += rs.bytes().chars() != "in place"sv;
		bad += rx.release(rs) != 0;
		bad += rx.recv(buf, shmring::no_wait) != -EAGAIN;
	} catch (const std::system_error &e) {
		std::fprintf(stderr, "%s: %s\n", me, e.what());
		shmring::unlink(name);
		return 1;
	}
	if (bad) {
		std::fprintf(stderr, "%s: %d checks failed\n", me, bad);
		return 1;
	}
	std::printf("%s: ok\n", me);
	return 0;
}
