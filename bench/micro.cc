// SPDX-License-Identifier: MIT
//
// micro.cc - Google Benchmark microbenchmarks: the per-operation cost of the
// shmring fast paths, threads of one process. This is where a regression in
// the inline fast path shows first; compare two builds with compare.py
// (docs/benchmarks.md).
//
//   SendRecv/size      one thread: send then recv, SPSC (the round trip through
//                      one slot; no waiting, no cross-core traffic)
//   CxxSendRecv/size   the same through include/shmring.hpp (shmring::ring's
//                      send/recv with byte views): should cost what SendRecv does
//   Burst/n            one thread: send_burst + recv_burst of n 64-byte messages
//   ZeroCopy/size      one thread: reserve + build in place + commit, acquire +
//                      read in place + release (compare with SendRecv/size)
//   SPSC2T/size        producer thread + consumer thread, SPSC, blocking calls
//   MPMC2T/size        the same on an MPMC ring
//   MPMC/threads:N     N threads, each with its own handle (both roles), each
//                      iteration a send and a recv on one shared MPMC ring
//   RefFF/size         the FastForward-style reference ring (bench/ref_ff.h),
//                      one thread: send then recv (compare SendRecv/size)
//   RefFF2T/size       the same ring, producer thread + consumer thread
//                      (compare SPSC2T/size)
// (ref-ring's header, bench/ref_ring.h, is C only: it is measured by ipc_bench.)
//
// The public header compiles as C++ (extern "C", no _Atomic). The C++
// header comes first: it includes <shmring.h> with the C handle named
// shmring_handle, since namespace shmring takes the name shmring.
#include <benchmark/benchmark.h>
#include <shmring.hpp>
#include "ref_ff.h"

#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string ring_name(const char *what)
{
	static std::atomic<unsigned> serial{0};
	char buf[96];
	std::snprintf(buf, sizeof(buf), "/shmring-bench-micro-%d-%s-%u", (int)getpid(), what,
	              serial.fetch_add(1));
	return buf;
}

// creates (and always unlinks) a ring; the creator's handle holds `roles`
struct Ring {
	std::string name;
	shmring_handle *r = nullptr;
	Ring(const char *what, unsigned kind, uint32_t size, uint64_t slots, int roles)
	    : name(ring_name(what))
	{
		struct shmring_config cfg = {};
		cfg.kind = kind;
		cfg.slot_size = size;
		cfg.slots = slots;
		cfg.mode = 0600;
		cfg.flags = SHMRING_PREFAULT;
		int rc = shmring_create(name.c_str(), &cfg, roles, &r);
		if (rc) {
			std::fprintf(stderr, "shmring_create: %s\n", shmring_strerror(rc));
			r = nullptr;
		}
	}
	~Ring()
	{
		shmring_close(r);
		shmring_unlink(name.c_str());
	}
	Ring(const Ring &) = delete;
	Ring &operator=(const Ring &) = delete;
};

uint64_t slots_for(size_t size)
{
	uint64_t want = (4u << 20) / (size + 8), s = 16;
	while (s < want && s < 4096)
		s <<= 1;
	return s;
}

void counters(benchmark::State &st, size_t msgs_per_iter, size_t size)
{
	st.SetItemsProcessed((int64_t)(st.iterations() * msgs_per_iter));
	st.SetBytesProcessed((int64_t)(st.iterations() * msgs_per_iter * size));
}

void BM_SendRecv(benchmark::State &st)
{
	size_t size = (size_t)st.range(0);
	Ring ring("sr", SHMRING_SPSC, (uint32_t)size, 64, SHMRING_PRODUCER | SHMRING_CONSUMER);
	if (!ring.r) {
		st.SkipWithError("shmring_create failed");
		return;
	}
	std::vector<unsigned char> in(size, 1), out(size);
	uint64_t n = 0;
	for (auto _ : st) {
		std::memcpy(in.data(), &n, sizeof(n));
		if (shmring_send(ring.r, in.data(), size, -1) != 0 ||
		    shmring_recv(ring.r, out.data(), size, -1) != (ssize_t)size) {
			st.SkipWithError("send/recv failed");
			break;
		}
		benchmark::DoNotOptimize(out.data());
		n++;
	}
	counters(st, 1, size);
}
BENCHMARK(BM_SendRecv)->Name("SendRecv")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536);

// SendRecv through the C++ header: the same ring, the same loop
void BM_CxxSendRecv(benchmark::State &st)
{
	size_t size = (size_t)st.range(0);
	shmring::config cfg{};
	cfg.kind = shmring::spsc;
	cfg.slot_size = (uint32_t)size;
	cfg.slots = 64;
	cfg.mode = 0600;
	cfg.flags = shmring::prefault;
	std::string name = ring_name("cxx");
	std::error_code ec;
	shmring::ring r = shmring::ring::create(name, cfg, shmring::producer | shmring::consumer, ec);
	shmring::unlink(name);
	if (ec) {
		st.SkipWithError("shmring::ring::create failed");
		return;
	}
	std::vector<unsigned char> in(size, 1), out(size);
	uint64_t n = 0;
	for (auto _ : st) {
		std::memcpy(in.data(), &n, sizeof(n));
		if (r.send(in, shmring::forever) != 0 ||
		    r.recv(out, shmring::forever) != (ssize_t)size) {
			st.SkipWithError("send/recv failed");
			break;
		}
		benchmark::DoNotOptimize(out.data());
		n++;
	}
	counters(st, 1, size);
}
BENCHMARK(BM_CxxSendRecv)->Name("CxxSendRecv")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536);

void BM_Burst(benchmark::State &st)
{
	unsigned k = (unsigned)st.range(0);
	const size_t size = 64;
	Ring ring("burst", SHMRING_SPSC, size, 256, SHMRING_PRODUCER | SHMRING_CONSUMER);
	if (!ring.r) {
		st.SkipWithError("shmring_create failed");
		return;
	}
	std::vector<unsigned char> in(k * size, 1), out(k * size);
	std::vector<struct iovec> siov(k), riov(k);
	for (unsigned i = 0; i < k; i++)
		siov[i] = {in.data() + i * size, size};
	for (auto _ : st) {
		for (unsigned i = 0; i < k; i++)
			riov[i] = {out.data() + i * size, size};
		int s = shmring_send_burst(ring.r, siov.data(), k, -1);
		int r = shmring_recv_burst(ring.r, riov.data(), k, -1);
		if (s != (int)k || r != (int)k) {
			st.SkipWithError("burst failed");
			break;
		}
		benchmark::DoNotOptimize(out.data());
	}
	counters(st, k, size);
}
BENCHMARK(BM_Burst)->Name("Burst")->Arg(1)->Arg(8)->Arg(32);

void BM_ZeroCopy(benchmark::State &st)
{
	size_t size = (size_t)st.range(0);
	Ring ring("zc", SHMRING_SPSC, (uint32_t)size, 64, SHMRING_PRODUCER | SHMRING_CONSUMER);
	if (!ring.r) {
		st.SkipWithError("shmring_create failed");
		return;
	}
	std::vector<unsigned char> in(size, 1);
	uint64_t n = 0, sum = 0;
	for (auto _ : st) {
		struct shmring_slot s, a;
		if (shmring_reserve(ring.r, &s, -1) != 0) {
			st.SkipWithError("reserve failed");
			break;
		}
		std::memcpy(s.data, in.data(), size);      // build the message in place
		std::memcpy(s.data, &n, sizeof(n));
		shmring_commit(ring.r, &s, size);
		if (shmring_acquire(ring.r, &a, -1) != 0) {
			st.SkipWithError("acquire failed");
			break;
		}
		uint64_t w;
		std::memcpy(&w, a.data, sizeof(w));        // read in place, no copy out
		sum += w;
		shmring_release(ring.r, &a);
		n++;
	}
	benchmark::DoNotOptimize(sum);
	counters(st, 1, size);
}
BENCHMARK(BM_ZeroCopy)->Name("ZeroCopy")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536);

// one producer (the benchmark thread) and one consumer thread
void two_threads(benchmark::State &st, unsigned kind)
{
	size_t size = (size_t)st.range(0);
	Ring ring("2t", kind, (uint32_t)size, slots_for(size), 0);
	shmring_handle *p = nullptr, *c = nullptr;
	if (!ring.r || shmring_open(ring.name.c_str(), SHMRING_PRODUCER, &p) ||
	    shmring_open(ring.name.c_str(), SHMRING_CONSUMER, &c)) {
		st.SkipWithError("create/open failed");
		shmring_close(p);
		return;
	}
	std::atomic<uint64_t> got{0};
	std::atomic<bool> bad{false};
	std::thread consumer([&] {
		std::vector<unsigned char> buf(size);
		uint64_t n = 0;
		ssize_t len;
		while ((len = shmring_recv(c, buf.data(), size, -1)) >= 0) {
			uint64_t w;
			std::memcpy(&w, buf.data(), sizeof(w));
			if (w != n)
				bad = true;
			n++;
		}
		got = n;
	});
	std::vector<unsigned char> msg(size, 1);
	uint64_t n = 0;
	for (auto _ : st) {
		std::memcpy(msg.data(), &n, sizeof(n));
		if (shmring_send(p, msg.data(), size, -1) != 0) {
			st.SkipWithError("send failed");
			break;
		}
		n++;
	}
	shmring_shutdown(p);
	consumer.join();
	shmring_close(p);
	shmring_close(c);
	if (bad || got != n)
		st.SkipWithError("sequence mismatch");
	counters(st, 1, size);
}

void BM_SPSC2T(benchmark::State &st) { two_threads(st, SHMRING_SPSC); }
void BM_MPMC2T(benchmark::State &st) { two_threads(st, SHMRING_MPMC); }
BENCHMARK(BM_SPSC2T)->Name("SPSC2T")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536)
	->UseRealTime();
BENCHMARK(BM_MPMC2T)->Name("MPMC2T")->Arg(8)->Arg(64)->Arg(4096)->UseRealTime();

// N threads on one MPMC ring, each with its own handle: send, then recv
std::string mpmc_name;
void mpmc_setup(const benchmark::State &)
{
	mpmc_name = ring_name("mpmc");
	struct shmring_config cfg = {};
	cfg.kind = SHMRING_MPMC;
	cfg.slot_size = 64;
	cfg.slots = 1024;
	cfg.flags = SHMRING_PREFAULT;
	shmring_handle *r;
	if (shmring_create(mpmc_name.c_str(), &cfg, 0, &r) == 0)
		shmring_close(r);
}
void mpmc_teardown(const benchmark::State &)
{
	shmring_unlink(mpmc_name.c_str());
}

void BM_MPMC(benchmark::State &st)
{
	const size_t size = 64;
	shmring_handle *r = nullptr;
	if (shmring_open(mpmc_name.c_str(), SHMRING_PRODUCER | SHMRING_CONSUMER, &r)) {
		st.SkipWithError("open failed");
		return;
	}
	unsigned char in[size] = {1}, out[size];
	for (auto _ : st) {
		if (shmring_send(r, in, size, -1) != 0 ||
		    shmring_recv(r, out, size, -1) != (ssize_t)size) {
			st.SkipWithError("send/recv failed");
			break;
		}
		benchmark::DoNotOptimize(out);
	}
	shmring_close(r);
	counters(st, 1, size);
}
BENCHMARK(BM_MPMC)->Name("MPMC")->Setup(mpmc_setup)->Teardown(mpmc_teardown)
	->ThreadRange(1, 4)->UseRealTime();

// the reference ring in zeroed memory of its own (threads of one process)
struct FF {
	void *mem = nullptr;
	explicit FF(uint64_t slots, size_t size)
	{
		size_t len = ref_ff_bytes(slots, size);
		mem = std::aligned_alloc(128, (len + 127) / 128 * 128);
		if (mem)
			std::memset(mem, 0, len);
	}
	~FF() { std::free(mem); }
	FF(const FF &) = delete;
	FF &operator=(const FF &) = delete;
};

void BM_RefFF(benchmark::State &st)
{
	size_t size = (size_t)st.range(0);
	FF ff(64, size);
	if (!ff.mem) {
		st.SkipWithError("out of memory");
		return;
	}
	struct ref_ff r;
	ref_ff_attach(&r, ff.mem, 64, size);
	std::vector<unsigned char> in(size, 1), out(size);
	uint64_t n = 0;
	for (auto _ : st) {
		std::memcpy(in.data(), &n, sizeof(n));
		ref_ff_send(&r, in.data(), (uint32_t)size);   // r.pos is shared by both ends:
		r.pos--;                                        // one thread, one slot in flight
		if (ref_ff_recv(&r, out.data()) != (ssize_t)size) {
			st.SkipWithError("recv failed");
			break;
		}
		benchmark::DoNotOptimize(out.data());
		n++;
	}
	counters(st, 1, size);
}
BENCHMARK(BM_RefFF)->Name("RefFF")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536);

void BM_RefFF2T(benchmark::State &st)
{
	size_t size = (size_t)st.range(0);
	uint64_t slots = slots_for(size);
	FF ff(slots, size);
	if (!ff.mem) {
		st.SkipWithError("out of memory");
		return;
	}
	std::atomic<uint64_t> got{0};
	std::atomic<bool> bad{false};
	std::thread consumer([&] {
		struct ref_ff c;
		ref_ff_attach(&c, ff.mem, slots, size);
		std::vector<unsigned char> buf(size);
		uint64_t n = 0;
		while (ref_ff_recv(&c, buf.data()) >= 0) {
			uint64_t w;
			std::memcpy(&w, buf.data(), sizeof(w));
			if (w != n)
				bad = true;
			n++;
		}
		got = n;
	});
	struct ref_ff p;
	ref_ff_attach(&p, ff.mem, slots, size);
	std::vector<unsigned char> msg(size, 1);
	uint64_t n = 0;
	for (auto _ : st) {
		std::memcpy(msg.data(), &n, sizeof(n));
		ref_ff_send(&p, msg.data(), (uint32_t)size);
		n++;
	}
	ref_ff_finish(&p);
	consumer.join();
	if (bad || got != n)
		st.SkipWithError("sequence mismatch");
	counters(st, 1, size);
}
BENCHMARK(BM_RefFF2T)->Name("RefFF2T")->Arg(8)->Arg(64)->Arg(512)->Arg(4096)->Arg(65536)
	->UseRealTime();

} // namespace

BENCHMARK_MAIN();
