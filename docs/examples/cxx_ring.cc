// SPDX-License-Identifier: MIT
//
// cxx_ring.cc - shmring from C++17 with <shmring.hpp>: a parent produces
// numbered records, a child process consumes them, and both handles close
// themselves (RAII). Attaching throws std::system_error; the calls on the
// stream return 0 / a length or a negative errno, as in C. Half of the
// records are copied in with send(), half are built in place in the shared
// slot with reserve()/commit(); the consumer reads each in place with
// acquire()/release() and checks it.
//
// Build: c++ -std=c++17 -O2 -o cxx_ring cxx_ring.cc $(pkg-config --cflags --libs shmring)
// Run:   ./cxx_ring [COUNT]
#include <shmring.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct record {
	uint64_t seq;
	uint64_t square;   // seq * seq: what the consumer checks
	char note[16];
};

int consume(const std::string &name, uint64_t count)
{
	shmring::ring rx = shmring::ring::open(name, shmring::consumer);
	uint64_t got = 0;
	for (;;) {
		shmring::read_slot slot;
		int rc = rx.acquire(slot, shmring::forever);
		if (rc == -EPIPE)               // drained, and the producer shut down
			break;
		if (rc < 0) {
			std::fprintf(stderr, "cxx_ring: acquire: %s\n", shmring::strerror(rc));
			return 1;
		}
		shmring::bytes_view msg = slot.bytes();   // the record in place
		record r;
		if (msg.size() != sizeof(r)) {
			std::fprintf(stderr, "cxx_ring: record of %zu bytes\n", msg.size());
			return 1;
		}
		std::memcpy(&r, msg.data(), sizeof(r));
		rx.release(slot);
		if (r.seq != got || r.square != got * got) {
			std::fprintf(stderr, "cxx_ring: record %llu out of order or damaged\n",
			             (unsigned long long)got);
			return 1;
		}
		got++;
	}
	std::printf("consumer: received %llu messages, all in order\n", (unsigned long long)got);
	return got == count ? 0 : 1;
}

int produce(shmring::ring &tx, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++) {
		record r{i, i * i, {}};
		std::snprintf(r.note, sizeof(r.note), "record %u", (unsigned)(i % 1000000));
		int rc;
		if (i % 2 == 0) {
			// copied in: any contiguous bytes make a bytes_view
			rc = tx.send(shmring::bytes_view(&r, sizeof(r)), shmring::forever);
		} else {
			// built in the shared slot, then published
			shmring::write_slot slot;
			rc = tx.reserve(slot, shmring::forever);
			if (rc == 0) {
				shmring::mutable_bytes_view room = slot.bytes();   // slot_size bytes
				std::memcpy(room.data(), &r, sizeof(r));
				rc = tx.commit(slot, sizeof(r));
			}
		}
		if (rc < 0) {
			std::fprintf(stderr, "cxx_ring: send %llu: %s\n", (unsigned long long)i,
			             shmring::strerror(rc));
			return 1;
		}
	}
	return tx.shutdown() < 0;
}

} // namespace

int main(int argc, char **argv)
{
	uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 100000;
	std::string name = "/cxx-ring-example-" + std::to_string(getpid());

	shmring::config cfg{};
	cfg.kind = shmring::spsc;
	cfg.slot_size = sizeof(record);
	cfg.slots = 256;
	try {
		shmring::ring tx = shmring::ring::create(name, cfg, shmring::producer);
		pid_t child = fork();
		if (child < 0) {
			std::perror("fork");
			shmring::unlink(name);
			return 1;
		}
		if (child == 0) {
			// the parent's handle is not the child's to use: give it up
			// here without touching the parent's role (the library's
			// fork handler already left it holding nothing), then attach
			tx.close();
			int rc;
			try {
				rc = consume(name, count);
			} catch (const std::system_error &e) {
				std::fprintf(stderr, "cxx_ring: consumer: %s\n", e.what());
				rc = 1;
			}
			std::fflush(stdout);   // _exit() does not flush
			_exit(rc);
		}
		int rc = produce(tx, count);
		tx.close();                     // or let it go out of scope
		int status = 0;
		waitpid(child, &status, 0);
		shmring::unlink(name);
		if (rc == 0)
			std::printf("producer: sent %llu messages\n", (unsigned long long)count);
		return rc || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	} catch (const std::system_error &e) {
		// e.code() is the errno: std::errc::file_exists, permission_denied ...
		std::fprintf(stderr, "cxx_ring: %s\n", e.what());
		shmring::unlink(name);
		return 1;
	}
}
