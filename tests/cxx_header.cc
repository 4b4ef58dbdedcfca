// SPDX-License-Identifier: MIT
// tests/cxx_header.cc - the public header compiles as C++ and its inline
// fast paths work from C++ (Google Benchmark code includes it).
#include <shmring.h>
#include <cstdio>
#include <cstring>
#include <unistd.h>

int main()
{
	char name[64];
	std::snprintf(name, sizeof(name), "/shmring-test-cxx-%d", (int)getpid());
	shmring_config cfg{};
	cfg.kind = SHMRING_SPSC;
	cfg.slot_size = 32;
	cfg.slots = 8;
	shmring *r = nullptr;
	int rc = shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r);
	if (rc) {
		std::fprintf(stderr, "cxx_header: create: %s\n", shmring_strerror(rc));
		return 1;
	}
	const char msg[] = "from C++";
	char buf[32];
	rc = shmring_send(r, msg, sizeof(msg), 0);
	ssize_t n = shmring_recv(r, buf, sizeof(buf), 0);
	shmring_close(r);
	shmring_unlink(name);
	if (rc || n != (ssize_t)sizeof(msg) || std::memcmp(buf, msg, sizeof(msg))) {
		std::fprintf(stderr, "cxx_header: round trip failed (%d, %zd)\n", rc, n);
		return 1;
	}
	std::printf("cxx_header: the header builds and runs as C++\n");
	return 0;
}
