// SPDX-License-Identifier: MIT
//
// tests/test_cxx.cc - include/shmring.hpp: attaching and its exceptions,
// move semantics, RAII close as the C API sees it, copying and zero-copy
// calls with their views, bursts, the event fd and poll, file and memfd
// rings. Part of `make test` (tests/tests.mk, target test-cxx).
// A tiny harness: every CHECK counts; ends with "test_cxx: N passed, M
// failed" and exits non-zero on any failure.
#include <shmring.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <poll.h>
#include <unistd.h>

namespace {

int passed, failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			passed++;                                                    \
		} else {                                                             \
			failed++;                                                    \
			std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, \
			             #cond);                                         \
		}                                                                    \
	} while (0)

// the errno of the std::system_error that f throws, -1 when it throws
// something else, 0 when it throws nothing
template <class F>
int thrown_errno(F f)
{
	try {
		f();
	} catch (const std::system_error &e) {
		if (e.code().category() != std::generic_category())
			return -1;
		return e.code().value();
	} catch (...) {
		return -1;
	}
	return 0;
}

std::string unique_name(const char *what)
{
	return "/shmring-test-cxx-" + std::to_string(getpid()) + "-" + what;
}

shmring::config small_config(unsigned kind = shmring::spsc)
{
	shmring::config cfg{};
	cfg.kind = kind;
	cfg.slot_size = 64;
	cfg.slots = 8;
	return cfg;
}

// what the C API says about a ring's SPSC producer role: free (0) or held
// by a live handle (-EBUSY)
int c_try_producer(const std::string &name)
{
	shmring_handle *h = nullptr;
	int rc = shmring_open(name.c_str(), SHMRING_PRODUCER, &h);
	shmring_close(h);
	return rc;
}

// the class is what it says it is
static_assert(!std::is_copy_constructible_v<shmring::ring>);
static_assert(!std::is_copy_assignable_v<shmring::ring>);
static_assert(std::is_nothrow_move_constructible_v<shmring::ring>);
static_assert(std::is_nothrow_move_assignable_v<shmring::ring>);
static_assert(std::is_nothrow_destructible_v<shmring::ring>);
static_assert(noexcept(std::declval<shmring::ring &>().send(nullptr, 0, 0)));
static_assert(noexcept(std::declval<shmring::ring &>().recv(nullptr, 0, 0)));
static_assert(std::is_same_v<decltype(std::declval<shmring::ring &>().recv(nullptr, 0, 0)),
                             ssize_t>);
static_assert(std::is_same_v<shmring::native_handle_type *,
                             decltype(std::declval<shmring::ring &>().native_handle())>);
// string literals are not byte views (they would carry their zero)
static_assert(!std::is_convertible_v<const char (&)[4], shmring::bytes_view>);
static_assert(std::is_convertible_v<std::string_view, shmring::bytes_view>);
static_assert(std::is_convertible_v<std::vector<int> &, shmring::mutable_bytes_view>);
static_assert(!std::is_convertible_v<const std::vector<int> &, shmring::mutable_bytes_view>);
static_assert(std::is_convertible_v<shmring::mutable_bytes_view, shmring::bytes_view>);

void test_create_open_errors()
{
	std::string name = unique_name("errors");
	shmring::unlink(name);
	shmring::config cfg = small_config();

	// -ENOENT, as an exception and as an error_code
	CHECK(thrown_errno([&] { shmring::ring::open(name, shmring::consumer); }) == ENOENT);
	std::error_code ec;
	shmring::ring none = shmring::ring::open(name, shmring::consumer, ec);
	CHECK(ec == std::errc::no_such_file_or_directory);
	CHECK(!none && none.native_handle() == nullptr);

	shmring::ring r = shmring::ring::create(name, cfg, shmring::producer);
	CHECK(bool(r));
	// -EEXIST: the same name again; the what() names the call
	try {
		shmring::ring::create(name.c_str(), cfg, shmring::producer);
		CHECK(!"create of an existing name did not throw");
	} catch (const std::system_error &e) {
		CHECK(e.code().value() == EEXIST);
		CHECK(e.code().category() == std::generic_category());
		CHECK(e.code() == std::errc::file_exists);
		CHECK(std::strstr(e.what(), "shmring_create") != nullptr);
	}
	shmring::ring again = shmring::ring::create(name, cfg, shmring::producer, ec);
	CHECK(ec.value() == EEXIST && !again);
	// -EBUSY: a second SPSC producer
	CHECK(thrown_errno([&] { shmring::ring::open(name, shmring::producer); }) == EBUSY);
	// -EINVAL: a bad config (slots not a power of two) and a bad name
	shmring::config bad = cfg;
	bad.slots = 3;
	CHECK(thrown_errno([&] { shmring::ring::create(name + "-bad", bad, 0); }) == EINVAL);
	CHECK(thrown_errno([&] { shmring::ring::open("no-slash", 0); }) == EINVAL);
	// success clears a stale error_code
	shmring::ring obs = shmring::ring::open(name, shmring::observer, ec);
	CHECK(!ec && obs);
	CHECK(shmring::unlink(name) == 0);
	CHECK(shmring::unlink(name) == -ENOENT);
}

void test_send_recv()
{
	std::string name = unique_name("sendrecv");
	shmring::config cfg = small_config();
	shmring::ring tx = shmring::ring::create(name, cfg, shmring::producer);
	shmring::ring rx = shmring::ring::open(name, shmring::consumer);
	CHECK(tx.slot_size() == 64 && rx.slot_size() == 64);

	// pointer and length, exactly the C calls' results
	CHECK(tx.send("hello", 5, shmring::no_wait) == 0);
	char buf[64];
	CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == 5);
	CHECK(std::memcmp(buf, "hello", 5) == 0);
	CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == -EAGAIN);
	CHECK(rx.recv(buf, sizeof(buf), 1000000) == -ETIMEDOUT);

	// views: std::string_view, std::vector, std::array, a char array
	using namespace std::literals;
	CHECK(tx.send("view"sv, shmring::no_wait) == 0);
	std::vector<uint32_t> words{1, 2, 3};
	CHECK(tx.send(words, shmring::no_wait) == 0);
	std::string s = "a std::string";
	CHECK(tx.send(s, shmring::no_wait) == 0);
	ssize_t n = rx.recv(buf, shmring::no_wait);   // char[64]: a writable view
	CHECK(n == 4 && shmring::bytes_view(buf, (size_t)n).chars() == "view");
	std::array<uint32_t, 16> back{};
	CHECK(rx.recv(back, shmring::no_wait) == 12);
	CHECK(back[0] == 1 && back[1] == 2 && back[2] == 3);
	std::string into(64, '\0');
	n = rx.recv(into, shmring::forever);
	CHECK(n == (ssize_t)s.size());
	into.resize(n > 0 ? (size_t)n : 0);
	CHECK(into == s);

	// -EMSGSIZE both ways; a message that does not fit stays in the ring
	std::vector<char> big(65, 'x');
	CHECK(tx.send(big, shmring::no_wait) == -EMSGSIZE);
	CHECK(tx.send("12345678", 8, shmring::no_wait) == 0);
	char tiny[4];
	CHECK(rx.recv(tiny, shmring::no_wait) == -EMSGSIZE);
	CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == 8);

	// full: -EAGAIN with no_wait
	int sent = 0;
	while (tx.send("f", 1, shmring::no_wait) == 0)
		sent++;
	CHECK(sent == 8);
	CHECK(tx.send("f", 1, shmring::no_wait) == -EAGAIN);

	// bursts
	while (rx.recv(buf, sizeof(buf), shmring::no_wait) == 1)
		;
	struct iovec out[3] = {{(void *)"one", 3}, {(void *)"two!", 4}, {(void *)"3", 1}};
	CHECK(tx.send_burst(out, 3, shmring::no_wait) == 3);
	char b0[8], b1[8], b2[8];
	struct iovec in[3] = {{b0, sizeof(b0)}, {b1, sizeof(b1)}, {b2, sizeof(b2)}};
	CHECK(rx.recv_burst(in, 3, shmring::no_wait) == 3);
	CHECK(in[0].iov_len == 3 && in[1].iov_len == 4 && in[2].iov_len == 1);
	CHECK(std::memcmp(b1, "two!", 4) == 0);

	// end of stream: shutdown, then the consumer drains and gets -EPIPE
	CHECK(tx.send("last", 4, shmring::no_wait) == 0);
	CHECK(tx.shutdown() == 0);
	CHECK(tx.send("late", 4, shmring::no_wait) == -EPIPE);
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == 4);
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == -EPIPE);
	// a role this handle does not hold: -EINVAL, no exception
	CHECK(rx.send("x", 1, shmring::no_wait) == -EINVAL);
	CHECK(rx.shutdown() == -EINVAL);

	// the native handle works with the C API
	shmring::info inf{};
	CHECK(shmring_info(rx.native_handle(), &inf) == 0 && inf.slot_size == 64);
	CHECK(rx.get_info(inf) == 0 && inf.roles == (unsigned)shmring::consumer);
	shmring::stats st{};
	CHECK(tx.get_stats(st) == 0 && st.sent == 1 + 3 + 1 + 8 + 3 + 1);
	CHECK(rx.set_spin(0) == 0);
	shmring::unlink(name);
}

void test_zero_copy()
{
	std::string name = unique_name("zerocopy");
	shmring::ring r = shmring::ring::create(name, small_config(),
	                                        shmring::producer | shmring::consumer);
	shmring::read_slot rs;
	CHECK(rs.bytes().empty());
	CHECK(r.acquire(rs, shmring::no_wait) == -EAGAIN);

	shmring::write_slot ws;
	CHECK(ws.bytes().empty() && ws.bytes().data() == nullptr);
	CHECK(r.reserve(ws, shmring::no_wait) == 0);
	shmring::mutable_bytes_view w = ws.bytes();
	CHECK(w.size() == 64 && w.data() != nullptr);
	CHECK(w.data() == static_cast<std::byte *>(ws.native()->data));
	// the view points into the shared slot: write the message there
	const char text[] = "built in place";
	std::memcpy(w.data(), text, sizeof(text));
	for (std::byte &b : w)                 // begin()/end(): the whole slot
		(void)b;
	CHECK(w.end() - w.begin() == 64);
	shmring::write_slot second;
	CHECK(r.reserve(second, shmring::no_wait) == -EBUSY);
	CHECK(r.commit(ws, 65) == -EMSGSIZE);  // the reservation stays
	CHECK(r.commit(ws, sizeof(text)) == 0);
	CHECK(ws.bytes().empty());             // committed: no view left

	CHECK(r.acquire(rs, shmring::no_wait) == 0);
	shmring::bytes_view v = rs.bytes();
	CHECK(v.size() == sizeof(text));
	CHECK(std::memcmp(v.data(), text, sizeof(text)) == 0);
	CHECK(v[0] == std::byte{'b'});
	CHECK(v.chars() == std::string_view(text, sizeof(text)));
	std::string copy(reinterpret_cast<const char *>(v.begin()),
	                 reinterpret_cast<const char *>(v.end()));
	CHECK(copy.size() == sizeof(text));
	shmring::read_slot other;
	CHECK(r.acquire(other, shmring::no_wait) == -EBUSY);
	CHECK(r.release(rs) == 0);
	CHECK(rs.bytes().empty());
	CHECK(r.release(rs) == -EINVAL);       // not an outstanding acquisition
	r.close();
	CHECK(!r);
	shmring::unlink(name);
}

void test_move_and_raii()
{
	std::string name = unique_name("raii");
	std::string name2 = unique_name("raii2");
	shmring::config cfg = small_config();

	// destruction closes: the producer role is free again, and a consumer
	// attached through C sees the end of the stream
	shmring_handle *c_rx = nullptr;
	{
		shmring::ring tx = shmring::ring::create(name, cfg, shmring::producer);
		CHECK(shmring_open(name.c_str(), SHMRING_CONSUMER, &c_rx) == 0);
		CHECK(c_try_producer(name) == -EBUSY);
		CHECK(tx.send("bye", 3, shmring::no_wait) == 0);
	}
	CHECK(c_try_producer(name) == 0);
	char buf[64];
	CHECK(shmring_recv(c_rx, buf, sizeof(buf), 0) == 3);
	CHECK(shmring_recv(c_rx, buf, sizeof(buf), -1) == -EPIPE);
	shmring_close(c_rx);

	// move construction: the handle goes across, the source is empty
	shmring::ring a = shmring::ring::open(name, shmring::producer);
	shmring_handle *h = a.native_handle();
	shmring::ring b(std::move(a));
	CHECK(!a && a.native_handle() == nullptr);  // NOLINT: moved-from is specified
	CHECK(b && b.native_handle() == h);
	CHECK(c_try_producer(name) == -EBUSY);       // the role moved, not closed

	// move assignment: the target's old handle is closed, the source's
	// handle goes across
	shmring::ring other = shmring::ring::create(name2, cfg, shmring::producer);
	CHECK(c_try_producer(name2) == -EBUSY);
	shmring_handle *h2 = other.native_handle();
	other = std::move(b);
	CHECK(c_try_producer(name2) == 0);           // other's first ring: closed
	CHECK(c_try_producer(name) == -EBUSY);       // b's: still held, by other
	CHECK(other.native_handle() == h && h != h2 && !b);
	// self-move keeps the handle
	shmring::ring &alias = other;
	other = std::move(alias);
	CHECK(other.native_handle() == h);
	CHECK(c_try_producer(name) == -EBUSY);
	// assigning an empty ring closes too
	other = shmring::ring();
	CHECK(!other && c_try_producer(name) == 0);

	// release_handle gives up ownership; the adopting constructor takes it
	shmring::ring c = shmring::ring::open(name, shmring::producer);
	shmring_handle *raw = c.release_handle();
	CHECK(!c && raw != nullptr);
	CHECK(c_try_producer(name) == -EBUSY);       // nobody closed it
	{
		shmring::ring adopted(raw);
		CHECK(adopted.native_handle() == raw);
	}
	CHECK(c_try_producer(name) == 0);            // the adopter closed it
	// close() is idempotent, and so is destroying an empty ring
	shmring::ring d = shmring::ring::open(name, shmring::producer);
	d.close();
	d.close();
	CHECK(c_try_producer(name) == 0);

	// a ring in a container, moved around as it grows
	std::vector<shmring::ring> v;
	for (int i = 0; i < 5; i++)
		v.push_back(shmring::ring::open(name, shmring::observer));
	CHECK(v.size() == 5 && v[4]);
	v.clear();
	shmring::unlink(name);
	shmring::unlink(name2);
}

void test_places()
{
	shmring::config cfg = small_config();
	// file rings
	std::string path = "/tmp/shmring-test-cxx-" + std::to_string(getpid()) + ".ring";
	::unlink(path.c_str());
	CHECK(thrown_errno([&] { shmring::ring::open_file(path, shmring::consumer); }) == ENOENT);
	{
		shmring::ring tx = shmring::ring::create_file(path, cfg, shmring::producer);
		shmring::ring rx = shmring::ring::open_file(path.c_str(), shmring::consumer);
		CHECK(thrown_errno([&] { shmring::ring::create_file(path, cfg, 0); }) == EEXIST);
		CHECK(tx.send("file", 4, shmring::no_wait) == 0);
		char buf[8];
		CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == 4);
	}
	::unlink(path.c_str());

	// memfd rings, attached again through the descriptor
	shmring::ring tx = shmring::ring::create_memfd(cfg, shmring::producer);
	CHECK(tx.fd() >= 0);
	shmring::ring rx = shmring::ring::open_fd(tx.fd(), shmring::consumer);
	CHECK(thrown_errno([&] { shmring::ring::open_fd(-1, shmring::consumer); }) == EBADF);
	std::error_code ec;
	shmring::ring none = shmring::ring::open_fd(-1, 0, ec);
	CHECK(ec.value() == EBADF && !none);
	shmring::ring obs = shmring::ring::create_memfd(cfg, 0, ec);
	CHECK(!ec && obs);

	// the event fd, arm, and poll
	int efd = rx.event_fd();
	CHECK(efd >= 0);
	CHECK(rx.arm() == 0);                          // empty: armed
	CHECK(tx.send("memfd", 5, shmring::no_wait) == 0);
	struct pollfd pfd = {efd, POLLIN, 0};
	CHECK(::poll(&pfd, 1, 5000) == 1);             // the descriptor says so
	shmring::pollitem it{};
	it.ring = rx.native_handle();
	it.events = shmring::pollin;
	CHECK(shmring::poll(&it, 1, 1000000000) == 1 && it.revents == shmring::pollin);
	char buf[8];
	CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == 5);
	CHECK(rx.recv(buf, sizeof(buf), shmring::no_wait) == -EAGAIN);
	CHECK(tx.send("again", 5, shmring::no_wait) == 0);
	CHECK(rx.arm() == 1);                          // a message: ready
	CHECK(shmring::poll(&it, 0, 0) == -EINVAL);
	CHECK(std::string(shmring::strerror(-EPIPE)).size() > 0);
}

#ifdef SHMRING_END_CLEAN
void test_end_reason()
{
	std::string name = unique_name("end");
	shmring::ring tx = shmring::ring::create(name, small_config(), shmring::producer);
	shmring::ring rx = shmring::ring::open(name, shmring::consumer);
	CHECK(rx.end_reason() == shmring::end_reason::none);
	CHECK(tx.send("partial", 7, shmring::no_wait) == 0);
	CHECK(tx.abort() == 0);
	char buf[64];
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == 7);   // drained first
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == -EPIPE);
	CHECK(rx.end_reason() == shmring::end_reason::aborted);
	CHECK(rx.abort() < 0);                                     // not a producer
	shmring::unlink(name);

	tx = shmring::ring::create(name, small_config(), shmring::producer);
	rx = shmring::ring::open(name, shmring::consumer);
	CHECK(tx.shutdown() == 0);
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == -EPIPE);
	CHECK(rx.end_reason() == shmring::end_reason::clean);
	shmring::unlink(name);

	tx = shmring::ring::create(name, small_config(), shmring::producer);
	rx = shmring::ring::open(name, shmring::consumer);
	tx.close();                                                // no shutdown
	CHECK(rx.recv(buf, sizeof(buf), shmring::forever) == -EPIPE);
	CHECK(rx.end_reason() == shmring::end_reason::died);
	shmring::unlink(name);
}
#endif

} // namespace

#ifdef SHMRING_BROADCAST
// broadcast rings: two subscribers each get the message; get_subscribers()
void test_broadcast()
{
	std::string name = unique_name("bcast");
	shmring::config cfg = small_config();
	cfg.kind = shmring::broadcast;
	shmring::ring tx = shmring::ring::create(name, cfg, shmring::producer);
	shmring::ring a = shmring::ring::open(name, shmring::consumer);
	shmring::ring b = shmring::ring::open(name, shmring::consumer);
	CHECK(tx.send("hi", 2, shmring::no_wait) == 0);
	char buf[64];
	CHECK(a.recv(buf, sizeof(buf), shmring::no_wait) == 2);
	CHECK(b.recv(buf, sizeof(buf), shmring::no_wait) == 2);
	shmring::subscriber subs[SHMRING_MAX_PEERS];
	CHECK(tx.get_subscribers(subs, SHMRING_MAX_PEERS) == 2);
	CHECK(subs[0].delivered == 1 && subs[1].delivered == 1 && subs[0].lag == 0);
	CHECK(shmring::unlink(name) == 0);
}
#endif

int main()
{
	try {
		test_create_open_errors();
		test_send_recv();
		test_zero_copy();
		test_move_and_raii();
		test_places();
#ifdef SHMRING_BROADCAST
		test_broadcast();
#endif
#ifdef SHMRING_END_CLEAN
		test_end_reason();
#else
		std::printf("test_cxx: shmring.h has no shmring_abort/shmring_end_reason yet: "
		            "ring::abort() and ring::end_reason() are not built or tested\n");
#endif
	} catch (const std::exception &e) {
		failed++;
		std::fprintf(stderr, "FAIL: unexpected exception: %s\n", e.what());
	}
	std::printf("test_cxx: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
