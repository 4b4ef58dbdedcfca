// SPDX-License-Identifier: MIT
//
// shmring.hpp - a C++17 face for shmring, header-only, over the C API of
// <shmring.h> (which stays the reference: every call here is that call).
//
//   #include <shmring.hpp>     // c++ -std=c++17 app.cc $(pkg-config --cflags --libs shmring)
//
//   shmring::config cfg{};
//   cfg.kind = shmring::spsc; cfg.slot_size = 256; cfg.slots = 1024;
//   auto tx = shmring::ring::create("/demo", cfg, shmring::producer);   // throws std::system_error
//   auto rx = shmring::ring::open("/demo", shmring::consumer);
//   tx.send("hello", 5, shmring::forever);              // 0, or a negative errno
//   char buf[256];
//   ssize_t n = rx.recv(buf, sizeof(buf), shmring::forever);   // 5, or -EPIPE at the end
//   // both handles close when tx and rx go out of scope
//
// What throws and what does not:
//   - attaching (create, open, create_file, open_file, create_memfd, open_fd)
//     throws std::system_error whose code() is the positive errno in
//     std::generic_category(); each also has a noexcept overload that takes
//     a std::error_code & instead (and returns an empty ring on failure),
//     the only form there is when exceptions are off (-fno-exceptions);
//   - everything else (send, recv, bursts, reserve/commit, acquire/release,
//     shutdown, abort, poll, the event fd ...) is noexcept and returns exactly what
//     the C call returns: >= 0, or a negative errno. The hot calls are inline
//     forwarders to the inline C fast paths: no extra branch, no exception
//     machinery on the way.
//
// One name, two meanings: C declares `struct shmring` (the handle) in the
// global scope, and C++ cannot have a namespace `shmring` beside it. This
// header therefore includes <shmring.h> with the handle's tag spelled
// `shmring_handle` (a macro around the #include). In a C++ file that
// includes <shmring.hpp>, the C handle type is `shmring_handle` (or
// shmring::native_handle_type), every C function takes it, and
// <shmring.hpp> must come before any <shmring.h> (an #error says so).
// The layout and the C linkage of the functions are the same, so the
// library and C code see no difference.
//
// abort() and end_reason() (C: shmring_abort, shmring_end_reason) are
// there when <shmring.h> declares them, that is when it defines
// SHMRING_END_CLEAN.
//
// Concurrency: as in C, one handle (one shmring::ring) belongs to one thread
// at a time; a moved-from ring holds nothing and must not be used except to
// be assigned to, destroyed, or tested with operator bool.
#ifndef SHMRING_HPP
#define SHMRING_HPP

#if __cplusplus < 201703L
#error "shmring.hpp needs C++17 (-std=c++17 or later)"
#endif

#ifdef SHMRING_H
#error "include <shmring.hpp> before <shmring.h>: C's struct shmring and C++'s namespace shmring cannot share one scope"
#endif

// the system headers <shmring.h> pulls in, included first so that none of
// them is read while the macro below is defined
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sys/types.h>
#include <sys/uio.h>

#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#define shmring shmring_handle
#include "shmring.h"
#undef shmring

namespace shmring {

// -- the C types, under C++ names --
using native_handle_type = ::shmring_handle;
using config = ::shmring_config;
using info = struct ::shmring_info;
using stats = struct ::shmring_stats;
using pollitem = ::shmring_pollitem;

// kinds, roles, flags, timeouts, poll events
inline constexpr unsigned spsc = SHMRING_SPSC;
inline constexpr unsigned mpmc = SHMRING_MPMC;
#ifdef SHMRING_BROADCAST
inline constexpr unsigned broadcast = SHMRING_BROADCAST;   // since 3.2
using subscriber = struct ::shmring_subscriber;
#endif
inline constexpr int observer = 0;
inline constexpr int producer = SHMRING_PRODUCER;
inline constexpr int consumer = SHMRING_CONSUMER;
inline constexpr unsigned prefault = SHMRING_PREFAULT;
inline constexpr unsigned hugepages = SHMRING_HUGEPAGES;
inline constexpr unsigned mlock = SHMRING_MLOCK;
inline constexpr unsigned overwrite = SHMRING_OVERWRITE;
inline constexpr unsigned packed = SHMRING_PACKED;
inline constexpr int64_t no_wait = 0;     // -EAGAIN instead of waiting
inline constexpr int64_t forever = -1;    // wait as long as it takes
inline constexpr unsigned pollin = SHMRING_POLLIN;
inline constexpr unsigned pollout = SHMRING_POLLOUT;

#ifdef SHMRING_END_CLEAN
// How a stream ended (ring::end_reason(), shmring_end_reason()): none
// while it has not; a negative errno from C comes through cast to this
// type (compare static_cast<int>(reason) < 0)
enum class end_reason : int {
	none = 0,
	clean = SHMRING_END_CLEAN,       // every producer shut down
	aborted = SHMRING_END_ABORTED,   // a producer called abort(): incomplete
	died = SHMRING_END_DIED,         // a producer died, closed or exec'd first
};
#endif

// A name or path that is handed to C as is: a const char * or a
// std::string, without a copy. It does not own the characters.
class cstr {
public:
	cstr(const char *s) noexcept : s_(s) {}
	cstr(const std::string &s) noexcept : s_(s.c_str()) {}
	const char *c_str() const noexcept { return s_; }
private:
	const char *s_;
};

namespace detail {
// a contiguous container of trivially copyable elements: std::data() and
// std::size() work on it (std::string, std::vector, std::array, T[N]...)
template <class C, class = void>
struct contiguous : std::false_type {};
template <class C>
struct contiguous<C, std::void_t<decltype(std::data(std::declval<C &>())),
                                 decltype(std::size(std::declval<C &>()))>>
    : std::bool_constant<std::is_trivially_copyable_v<
                  std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>>> {};

template <class C>
using element_t = std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>;

// char arrays are string literals more often than buffers: "hi" would
// carry its terminating zero. Pass a std::string_view (or data, size).
template <class C>
inline constexpr bool is_char_array =
    std::is_array_v<std::remove_cv_t<C>> &&
    std::is_same_v<std::remove_cv_t<std::remove_extent_t<std::remove_cv_t<C>>>, char>;
} // namespace detail

// A read-only view of bytes: a pointer and a length (std::span<const
// std::byte> in C++20 terms). Built from (pointer, size) or from any
// contiguous container of trivially copyable elements except char arrays.
class bytes_view {
public:
	using element_type = const std::byte;
	using value_type = std::byte;
	using size_type = std::size_t;
	using pointer = const std::byte *;
	using iterator = const std::byte *;

	constexpr bytes_view() noexcept = default;
	constexpr bytes_view(const void *data, std::size_t size) noexcept
	    : p_(static_cast<const std::byte *>(data)), n_(size) {}
	template <class C,
	          std::enable_if_t<detail::contiguous<const C>::value &&
	                           !detail::is_char_array<C> &&
	                           !std::is_same_v<C, bytes_view> &&
	                           !std::is_same_v<C, class mutable_bytes_view>, int> = 0>
	bytes_view(const C &c) noexcept
	    : p_(reinterpret_cast<const std::byte *>(std::data(c))),
	      n_(std::size(c) * sizeof(detail::element_t<const C>)) {}

	constexpr const std::byte *data() const noexcept { return p_; }
	constexpr std::size_t size() const noexcept { return n_; }
	constexpr bool empty() const noexcept { return n_ == 0; }
	constexpr iterator begin() const noexcept { return p_; }
	constexpr iterator end() const noexcept { return p_ + n_; }
	constexpr const std::byte &operator[](std::size_t i) const noexcept { return p_[i]; }
	// the bytes as characters, e.g. to compare with a string
	std::string_view chars() const noexcept
	{
		return {reinterpret_cast<const char *>(p_), n_};
	}

private:
	const std::byte *p_ = nullptr;
	std::size_t n_ = 0;
};

// A writable view of bytes (std::span<std::byte>): built from (pointer,
// size) or from a non-const contiguous container of trivially copyable
// elements (char arrays included: here they are buffers). Converts to
// bytes_view.
class mutable_bytes_view {
public:
	using element_type = std::byte;
	using value_type = std::byte;
	using size_type = std::size_t;
	using pointer = std::byte *;
	using iterator = std::byte *;

	constexpr mutable_bytes_view() noexcept = default;
	constexpr mutable_bytes_view(void *data, std::size_t size) noexcept
	    : p_(static_cast<std::byte *>(data)), n_(size) {}
	template <class C,
	          std::enable_if_t<detail::contiguous<C>::value &&
	                           !std::is_const_v<detail::element_t<C>> &&
	                           !std::is_same_v<C, mutable_bytes_view>, int> = 0>
	mutable_bytes_view(C &c) noexcept
	    : p_(reinterpret_cast<std::byte *>(std::data(c))),
	      n_(std::size(c) * sizeof(detail::element_t<C>)) {}

	constexpr std::byte *data() const noexcept { return p_; }
	constexpr std::size_t size() const noexcept { return n_; }
	constexpr bool empty() const noexcept { return n_ == 0; }
	constexpr iterator begin() const noexcept { return p_; }
	constexpr iterator end() const noexcept { return p_ + n_; }
	constexpr std::byte &operator[](std::size_t i) const noexcept { return p_[i]; }
	constexpr operator bytes_view() const noexcept { return {p_, n_}; }

private:
	std::byte *p_ = nullptr;
	std::size_t n_ = 0;
};

// A reservation (ring::reserve): bytes() is the writable slot in shared
// memory, slot_size bytes; ring::commit(slot, len) publishes len of them.
class write_slot {
public:
	mutable_bytes_view bytes() const noexcept { return {s_.data, s_.data ? cap_ : 0}; }
	::shmring_slot *native() noexcept { return &s_; }
private:
	friend class ring;
	::shmring_slot s_{};
	std::size_t cap_ = 0;
};

// An acquisition (ring::acquire): bytes() is the message in place, valid
// until ring::release(slot).
class read_slot {
public:
	bytes_view bytes() const noexcept { return {s_.data, s_.data ? s_.len : 0}; }
	::shmring_slot *native() noexcept { return &s_; }
private:
	friend class ring;
	::shmring_slot s_{};
};

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SHMRING__CXX_EXCEPTIONS 1
// the exception the attaching calls throw: the positive errno, generic
// category, and what was being done
[[noreturn]] inline void throw_error(int rc, const char *what)
{
	throw std::system_error(rc < 0 ? -rc : rc, std::generic_category(), what);
}
#endif

// One attachment to a ring: owns a C handle and closes it when destroyed
// (shmring_close: roles released; a producer's close ends its stream).
// Move-only.
class ring {
public:
	ring() noexcept = default;
	// adopts a handle from the C API (or from release_handle())
	explicit ring(native_handle_type *h) noexcept : h_(h) {}
	ring(const ring &) = delete;
	ring &operator=(const ring &) = delete;
	ring(ring &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
	ring &operator=(ring &&o) noexcept
	{
		if (this != &o) {
			::shmring_close(h_);
			h_ = std::exchange(o.h_, nullptr);
		}
		return *this;
	}
	~ring() { ::shmring_close(h_); }

#ifdef SHMRING__CXX_EXCEPTIONS
	// -- attaching: std::system_error on failure (built without exceptions,
	// -fno-exceptions, only the std::error_code forms below exist) --
	static ring create(cstr name, const config &cfg, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_create(name.c_str(), &cfg, roles, &h), "shmring_create");
		return ring(h);
	}
	static ring open(cstr name, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_open(name.c_str(), roles, &h), "shmring_open");
		return ring(h);
	}
	static ring create_file(cstr path, const config &cfg, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_create_file(path.c_str(), &cfg, roles, &h), "shmring_create_file");
		return ring(h);
	}
	static ring open_file(cstr path, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_open_file(path.c_str(), roles, &h), "shmring_open_file");
		return ring(h);
	}
	static ring create_memfd(const config &cfg, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_create_memfd(&cfg, roles, &h), "shmring_create_memfd");
		return ring(h);
	}
	static ring open_fd(int fd, int roles)
	{
		native_handle_type *h = nullptr;
		check(::shmring_open_fd(fd, roles, &h), "shmring_open_fd");
		return ring(h);
	}

#endif

	// -- the same, without exceptions: ec is set (or cleared) --
	static ring create(cstr name, const config &cfg, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_create(name.c_str(), &cfg, roles, &h);
		return result(rc, h, ec);
	}
	static ring open(cstr name, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_open(name.c_str(), roles, &h);
		return result(rc, h, ec);
	}
	static ring create_file(cstr path, const config &cfg, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_create_file(path.c_str(), &cfg, roles, &h);
		return result(rc, h, ec);
	}
	static ring open_file(cstr path, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_open_file(path.c_str(), roles, &h);
		return result(rc, h, ec);
	}
	static ring create_memfd(const config &cfg, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_create_memfd(&cfg, roles, &h);
		return result(rc, h, ec);
	}
	static ring open_fd(int fd, int roles, std::error_code &ec) noexcept
	{
		native_handle_type *h = nullptr;
		int rc = ::shmring_open_fd(fd, roles, &h);
		return result(rc, h, ec);
	}

	// -- ownership --
	native_handle_type *native_handle() const noexcept { return h_; }
	explicit operator bool() const noexcept { return h_ != nullptr; }
	// gives the handle up without closing it (the caller closes it)
	native_handle_type *release_handle() noexcept { return std::exchange(h_, nullptr); }
	// closes now (as the destructor would); the ring is then empty
	void close() noexcept { ::shmring_close(std::exchange(h_, nullptr)); }

	// -- copying send and receive: 0 / the length, or a negative errno --
	int send(const void *msg, std::size_t len, int64_t timeout_ns) noexcept
	{
		return ::shmring_send(h_, msg, len, timeout_ns);
	}
	int send(bytes_view msg, int64_t timeout_ns) noexcept
	{
		return ::shmring_send(h_, msg.data(), msg.size(), timeout_ns);
	}
	ssize_t recv(void *buf, std::size_t cap, int64_t timeout_ns) noexcept
	{
		return ::shmring_recv(h_, buf, cap, timeout_ns);
	}
	ssize_t recv(mutable_bytes_view buf, int64_t timeout_ns) noexcept
	{
		return ::shmring_recv(h_, buf.data(), buf.size(), timeout_ns);
	}

	// -- bursts: the count moved (>= 1), or a negative errno --
	int send_burst(const struct iovec *msgs, unsigned n, int64_t timeout_ns) noexcept
	{
		return ::shmring_send_burst(h_, msgs, n, timeout_ns);
	}
	int recv_burst(struct iovec *bufs, unsigned n, int64_t timeout_ns) noexcept
	{
		return ::shmring_recv_burst(h_, bufs, n, timeout_ns);
	}

	// -- zero-copy --
	int reserve(write_slot &s, int64_t timeout_ns) noexcept
	{
		s.cap_ = h_->slot_size;   // the handle's own copy, checked at open
		return ::shmring_reserve(h_, &s.s_, timeout_ns);
	}
	int commit(write_slot &s, std::size_t len) noexcept
	{
		return ::shmring_commit(h_, &s.s_, len);
	}
	int acquire(read_slot &s, int64_t timeout_ns) noexcept
	{
		return ::shmring_acquire(h_, &s.s_, timeout_ns);
	}
	int release(read_slot &s) noexcept { return ::shmring_release(h_, &s.s_); }

	// -- stream control, policy, inspection --
	int shutdown() noexcept { return ::shmring_shutdown(h_); }
#ifdef SHMRING_END_CLEAN
	// producer: end the stream as incomplete (consumers drain, then -EPIPE,
	// and end_reason() says aborted)
	int abort() noexcept { return ::shmring_abort(h_); }
	shmring::end_reason end_reason() noexcept
	{
		return static_cast<shmring::end_reason>(::shmring_end_reason(h_));
	}
#endif
	int set_spin(int64_t spin_ns) noexcept { return ::shmring_set_spin(h_, spin_ns); }
	int get_info(info &out) const noexcept { return ::shmring_info(h_, &out); }
	int get_stats(stats &out) const noexcept { return ::shmring_stats(h_, &out); }
#ifdef SHMRING_BROADCAST
	// broadcast rings: up to cap subscribers; returns how many there are
	int get_subscribers(subscriber *out, unsigned cap) const noexcept
	{
		return ::shmring_subscriber_info(h_, out, cap);
	}
#endif
	// the largest message, from the handle's own copy (no system call)
	std::uint32_t slot_size() const noexcept { return h_->slot_size; }

	// -- event loops and descriptors --
	int event_fd() noexcept { return ::shmring_event_fd(h_); }
	int arm() noexcept { return ::shmring_arm(h_); }
	int fd() const noexcept { return ::shmring_fd(h_); }

private:
#ifdef SHMRING__CXX_EXCEPTIONS
	static void check(int rc, const char *what)
	{
		if (rc < 0)
			throw_error(rc, what);
	}
#endif
	static ring result(int rc, native_handle_type *h, std::error_code &ec) noexcept
	{
		if (rc < 0) {
			ec.assign(-rc, std::generic_category());
			return ring();
		}
		ec.clear();
		return ring(h);
	}

	native_handle_type *h_ = nullptr;
};

// -- calls on no particular handle --
// many rings, one wait: items[i].ring is a ring's native_handle()
inline int poll(pollitem *items, unsigned n, int64_t timeout_ns) noexcept
{
	return ::shmring_poll(items, n, timeout_ns);
}
// removes a POSIX shm name (0, -ENOENT, -EACCES, -EINVAL); attached
// processes keep working
inline int unlink(cstr name) noexcept { return ::shmring_unlink(name.c_str()); }
// a static description of a return code (either sign)
inline const char *strerror(int err) noexcept { return ::shmring_strerror(err); }

} // namespace shmring

#endif // SHMRING_HPP
