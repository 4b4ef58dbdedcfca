/* SPDX-License-Identifier: MIT */
/* tests/test_lifecycle.c - create, open, close, unlink, and their errors */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "common.h"

static struct shmring_config spsc_cfg(uint32_t slot_size, uint64_t slots)
{
	struct shmring_config c = { .kind = SHMRING_SPSC, .slot_size = slot_size, .slots = slots };
	return c;
}

Test(lifecycle, create_open_close_unlink)
{
	char name[64];
	struct shmring *c, *p, *o;
	struct shmring_config cfg = spsc_cfg(100, 16);
	test_name(name, sizeof(name), "life");

	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_not_null(c);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, 0, &o), 0);   /* observer */
	struct shmring_info info;
	cr_assert_eq(shmring_info(o, &info), 0);
	cr_assert_eq(info.kind, SHMRING_SPSC);
	cr_assert_eq(info.slot_size, 100);
	cr_assert_eq(info.slots, 16);
	cr_assert_eq(info.mem_size, 8192 + 16 * 112);   /* 8-byte slot header, 8-aligned */
	cr_assert_eq(info.nproducers, 1);
	cr_assert_eq(info.nconsumers, 1);
	cr_assert_eq(info.producers[0].pid, getpid());
	cr_assert(info.producers[0].alive);
	shmring_close(o);
	shmring_close(p);
	shmring_close(c);
	cr_assert_eq(shmring_unlink(name), 0);
	cr_assert_eq(shmring_unlink(name), -ENOENT);
	cr_assert_eq(shmring_open(name, 0, &o), -ENOENT);
	cr_assert_null(o);
	shmring_close(NULL);   /* ignored */
}

Test(lifecycle, default_mode_is_0600_and_mode_is_exact)
{
	char name[64], path[128];
	struct shmring *r;
	struct stat st;
	struct shmring_config cfg = spsc_cfg(8, 2);
	test_name(name, sizeof(name), "mode");
	snprintf(path, sizeof(path), "/dev/shm%s", name);

	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	shmring_close(r);
	shmring_unlink(name);

	mode_t old = umask(077);
	cfg.mode = 0664;
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0664, "umask must not narrow the requested mode");
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, bad_names_are_einval)
{
	struct shmring *r = (struct shmring *)1;
	struct shmring_config cfg = spsc_cfg(8, 2);
	char longname[400];
	memset(longname, 'a', sizeof(longname));
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	const char *bad[] = { "noslash", "/a/b", "/", "", "//x", "/.", "/..", longname };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(shmring_create(bad[i], &cfg, 0, &r), -EINVAL, "create %s", bad[i]);
		cr_assert_null(r);
		cr_assert_eq(shmring_open(bad[i], 0, &r), -EINVAL, "open %s", bad[i]);
		cr_assert_eq(shmring_unlink(bad[i]), -EINVAL, "unlink %s", bad[i]);
	}
	cr_assert_eq(shmring_create(NULL, &cfg, 0, &r), -EINVAL);
	cr_assert_eq(shmring_open(NULL, 0, &r), -EINVAL);
	cr_assert_eq(shmring_unlink(NULL), -EINVAL);
}

Test(lifecycle, bad_configs_are_einval)
{
	char name[64];
	struct shmring *r;
	test_name(name, sizeof(name), "cfg");
	struct shmring_config bad[] = {
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 0 },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 1 },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 3 },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 1000 },
		{ .kind = SHMRING_SPSC, .slot_size = 0, .slots = 8 },
		{ .kind = SHMRING_SPSC, .slot_size = SHMRING_MAX_SLOT_SIZE + 1, .slots = 8 },
		{ .kind = 0, .slot_size = 8, .slots = 8 },
		{ .kind = 7, .slot_size = 8, .slots = 8 },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 8, .mode = 01777 },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = 8, .flags = 0x100 },
		{ .kind = SHMRING_SPSC, .slot_size = SHMRING_MAX_SLOT_SIZE, .slots = SHMRING_MAX_SLOTS },
		{ .kind = SHMRING_SPSC, .slot_size = 8, .slots = SHMRING_MAX_SLOTS * 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(shmring_create(name, &bad[i], 0, &r), -EINVAL, "config %zu", i);
	cr_assert_eq(shmring_create(name, NULL, 0, &r), -EINVAL);
	struct shmring_config ok = spsc_cfg(8, 2);
	cr_assert_eq(shmring_create(name, &ok, 4, &r), -EINVAL, "unknown role bit");
	cr_assert_eq(shmring_create(name, &ok, 0, NULL), -EINVAL);
	cr_assert_eq(shmring_open(name, 0, &r), -ENOENT, "nothing was left behind");
}

Test(lifecycle, create_existing_is_eexist)
{
	char name[64];
	struct shmring *r, *r2;
	struct shmring_config cfg = spsc_cfg(8, 4);
	test_name(name, sizeof(name), "exist");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	cr_assert_eq(shmring_create(name, &cfg, 0, &r2), -EEXIST);
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, open_bad_roles_is_einval)
{
	char name[64];
	struct shmring *r, *r2;
	struct shmring_config cfg = spsc_cfg(8, 4);
	test_name(name, sizeof(name), "roles");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	cr_assert_eq(shmring_open(name, 8, &r2), -EINVAL);
	cr_assert_eq(shmring_open(name, -1, &r2), -EINVAL);
	cr_assert_eq(shmring_open(name, 0, NULL), -EINVAL);
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, spsc_roles_are_exclusive)
{
	char name[64];
	struct shmring *c, *p, *p2, *c2, *both;
	struct shmring_config cfg = spsc_cfg(8, 4);
	test_name(name, sizeof(name), "excl");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_CONSUMER, &c), 0);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p2), -EBUSY);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c2), -EBUSY);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER | SHMRING_CONSUMER, &both), -EBUSY);
	shmring_close(p);   /* a closed holder's role is free again */
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p2), 0);
	shmring_close(p2);
	shmring_close(c);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER | SHMRING_CONSUMER, &both), 0);
	/* a failed second role must not leave the first one held */
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c2), -EBUSY);
	shmring_close(both);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &c2), 0);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &p), 0);
	shmring_close(c2);
	shmring_close(p);
	shmring_unlink(name);
}

/* write raw bytes as a shm object */
static void make_object(const char *name, const void *data, size_t len, size_t size)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

Test(lifecycle, empty_object_is_eproto)
{
	char name[64];
	struct shmring *r;
	test_name(name, sizeof(name), "empty");
	make_object(name, NULL, 0, 0);
	int64_t t0 = test_now_ns();
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &r), -EPROTO);
	cr_assert_lt(test_now_ns() - t0, 2000000000LL, "retries briefly, then gives up");
	shm_unlink(name);
}

Test(lifecycle, garbage_object_is_eproto)
{
	char name[64];
	struct shmring *r;
	unsigned char junk[8192];
	test_name(name, sizeof(name), "junk");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)test_mix(i);
	make_object(name, junk, sizeof(junk), sizeof(junk));
	cr_assert_eq(shmring_open(name, 0, &r), -EPROTO);
	cr_assert_eq(shmring_open(name, SHMRING_PRODUCER, &r), -EPROTO);
	shm_unlink(name);
}

/* a valid ring, then one header field changed */
static void tamper(const char *name, size_t off, const void *val, size_t len)
{
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, val, len, (off_t)off), (ssize_t)len);
	close(fd);
}

Test(lifecycle, wrong_version_and_inconsistent_header_are_eproto)
{
	char name[64];
	struct shmring *r;
	struct shmring_config cfg = spsc_cfg(64, 8);
	struct { size_t off; uint64_t val; size_t len; } cases[] = {
		{ offsetof(struct shmring__hdr, version), 1, 4 },   /* the previous layouts */
		{ offsetof(struct shmring__hdr, version), 2, 4 },
		{ offsetof(struct shmring__hdr, version), 3, 4 },
		{ offsetof(struct shmring__hdr, version), 5, 4 },
		{ offsetof(struct shmring__hdr, version), 0, 4 },
		{ offsetof(struct shmring__hdr, kind), 9, 4 },
		{ offsetof(struct shmring__hdr, slot_size), 1u << 20, 4 },   /* larger than the object */
		{ offsetof(struct shmring__hdr, slot_size), 0, 4 },
		{ offsetof(struct shmring__hdr, slot_stride), 13, 4 },
		{ offsetof(struct shmring__hdr, slots), 6, 8 },
		{ offsetof(struct shmring__hdr, slots), UINT64_C(1) << 40, 8 },
		{ offsetof(struct shmring__hdr, total_size), 1, 8 },
		{ offsetof(struct shmring__hdr, magic), 0x1234, 8 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_name(name, sizeof(name), "ver");
		cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
		shmring_close(r);
		tamper(name, cases[i].off, &cases[i].val, cases[i].len);
		cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &r), -EPROTO, "case %zu", i);
		shmring_unlink(name);
	}
}

Test(lifecycle, truncated_object_is_eproto_not_sigbus)
{
	char name[64];
	struct shmring *r;
	struct shmring_config cfg = spsc_cfg(64, 1024);
	test_name(name, sizeof(name), "trunc");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	shmring_close(r);
	int fd = shm_open(name, O_RDWR, 0);
	cr_assert_eq(ftruncate(fd, 8192 + 100), 0);
	close(fd);
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &r), -EPROTO);
	fd = shm_open(name, O_RDWR, 0);
	cr_assert_eq(ftruncate(fd, 100), 0);   /* smaller than the header */
	close(fd);
	cr_assert_eq(shmring_open(name, 0, &r), -EPROTO);
	shmring_unlink(name);
}

Test(lifecycle, opener_waits_for_a_creator_in_progress)
{
	char name[64];
	struct shmring *r;
	struct shmring_config cfg = spsc_cfg(64, 8);
	test_name(name, sizeof(name), "race");
	/* an object with the right size and no magic yet: the creator is
	 * "between ftruncate and the magic"; finish it 50 ms later */
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	shmring_close(r);
	uint64_t zero = 0, magic = SHMRING__MAGIC;
	tamper(name, 0, &zero, 8);
	pid_t pid = fork();
	if (pid == 0) {
		test_sleep_ms(50);
		int fd = shm_open(name, O_RDWR, 0);
		if (pwrite(fd, &magic, 8, 0) != 8)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(shmring_open(name, SHMRING_CONSUMER, &r), 0);
	cr_assert_eq(test_wait_child(pid, 5000), 0);
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, no_permission_is_eacces)
{
	char name[64];
	struct shmring *r;
	struct shmring_config cfg = spsc_cfg(8, 4);
	test_name(name, sizeof(name), "acces");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);   /* mode 0600, owner root */
	struct passwd *nobody = getpwnam("nobody");
	cr_assert_not_null(nobody);
	pid_t pid = fork();
	if (pid == 0) {
		/* root ignores modes: become nobody first */
		if (setgroups(0, NULL) || setresgid(nobody->pw_gid, nobody->pw_gid, nobody->pw_gid) ||
		    setresuid(nobody->pw_uid, nobody->pw_uid, nobody->pw_uid))
			_exit(10);
		struct shmring *x;
		if (shmring_open(name, SHMRING_CONSUMER, &x) != -EACCES)
			_exit(1);
		if (shmring_open(name, 0, &x) != -EACCES)
			_exit(2);
		if (shmring_unlink(name) != -EACCES)
			_exit(3);
		_exit(0);
	}
	cr_assert_eq(test_wait_child(pid, 5000), 0, "child checks (10 = could not drop privileges)");
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, role_takeover_after_the_holder_dies, .timeout = 20)
{
	char name[64];
	struct shmring *r, *p;
	struct shmring_config cfg = spsc_cfg(8, 4);
	test_name(name, sizeof(name), "takeover");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), 0);
	for (int side = 0; side < 2; side++) {
		const char *role = side ? "consumer" : "producer";
		int bit = side ? SHMRING_CONSUMER : SHMRING_PRODUCER;
		int fds[2];
		cr_assert_eq(pipe(fds), 0);
		pid_t pid = fork();
		if (pid == 0) {
			dup2(fds[1], 1);
			char *args[] = { "hold", name, (char *)role, NULL };
			const char *peer = getenv("SHMRING_PEER");
			execl(peer ? peer : "build/tests/peer", "peer", args[0], args[1], args[2], NULL);
			_exit(127);
		}
		close(fds[1]);
		char buf[16] = { 0 };
		cr_assert_gt(read(fds[0], buf, sizeof(buf) - 1), 0, "holder started");
		close(fds[0]);
		cr_assert_eq(shmring_open(name, bit, &p), -EBUSY, "%s held by a live process", role);
		kill(pid, SIGKILL);
		/* not reaped yet: a zombie counts as dead */
		test_sleep_ms(20);
		cr_assert_eq(shmring_open(name, bit, &p), 0, "%s taken over from a dead holder", role);
		shmring_close(p);
		waitpid(pid, NULL, 0);
	}
	shmring_close(r);
	shmring_unlink(name);
}

Test(lifecycle, prefault_and_large_slots)
{
	char name[64];
	struct shmring *r;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 65536, .slots = 64,
	                              .flags = SHMRING_PREFAULT };
	test_name(name, sizeof(name), "big");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r), 0);
	static unsigned char in[65536], out[65536];
	test_msg_fill(in, sizeof(in), 1, 2);
	cr_assert_eq(shmring_send(r, in, sizeof(in), 0), 0);
	cr_assert_eq(shmring_recv(r, out, sizeof(out), 0), (ssize_t)sizeof(in));
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	shmring_close(r);
	shmring_unlink(name);
}
