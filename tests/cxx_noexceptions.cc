// SPDX-License-Identifier: MIT
//
// tests/cxx_noexceptions.cc - <shmring.hpp> in a program built with
// -fno-exceptions: the std::error_code factories are there (the throwing
// ones are not), and the ring works. Part of make test (test-cxx).
#include <shmring.hpp>
#include <cstdio>

int main()
{
	shmring::config cfg{};
	cfg.kind = shmring::spsc;
	cfg.slot_size = 16;
	cfg.slots = 4;
	std::error_code ec;
	shmring::ring r = shmring::ring::create_memfd(cfg, shmring::producer | shmring::consumer, ec);
	char buf[16];
	bool ok = !ec && r && r.send("abc", 3, shmring::no_wait) == 0 &&
	          r.recv(buf, sizeof(buf), shmring::no_wait) == 3;
	shmring::ring none = shmring::ring::open("/shmring-test-cxx-no-such-ring", 0, ec);
	ok = ok && ec == std::errc::no_such_file_or_directory && !none;
	std::printf("cxx_noexceptions: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
