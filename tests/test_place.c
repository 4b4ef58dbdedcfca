/* SPDX-License-Identifier: MIT */
/*
 * tests/test_place.c - where a ring lives: files on any filesystem,
 * anonymous sealed memfds shared by fork or over a Unix socket, rings
 * opened from a descriptor, huge pages and mlock.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static char dir[] = "/tmp/shmring-place-XXXXXX";

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(place, .init = make_dir, .fini = remove_dir);

static const struct shmring_config small = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 8 };

/* a child that receives count messages "m<i>" on r's ring, opened by open() */
static pid_t consumer_child(int (*open)(const void *arg, struct shmring **r), const void *arg,
                            int count)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	struct shmring *c;
	char buf[64], want[16];
	if (open(arg, &c))
		_exit(2);
	for (int i = 0; i < count; i++) {
		ssize_t n = shmring_recv(c, buf, sizeof(buf), 5000000000);
		snprintf(want, sizeof(want), "m%d", i);
		if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n))
			_exit(3);
	}
	_exit(shmring_recv(c, buf, sizeof(buf), 5000000000) == -EPIPE ? 0 : 4);
}

static void send_count(struct shmring *p, int count)
{
	char msg[64];
	for (int i = 0; i < count; i++) {
		int len = snprintf(msg, sizeof(msg), "m%d", i);
		cr_assert_eq(shmring_send(p, msg, (size_t)len, 5000000000), 0);
	}
	cr_assert_eq(shmring_shutdown(p), 0);
}

static int open_path_consumer(const void *arg, struct shmring **r)
{
	return shmring_open_file(arg, SHMRING_CONSUMER, r);
}

Test(place, file_ring_streams_and_outlives_its_processes, .timeout = 20)
{
	char path[128];
	struct shmring *p, *obs;
	struct shmring_info in;
	snprintf(path, sizeof(path), "%s/ring", dir);
	cr_assert_eq(shmring_create_file(path, &small, SHMRING_PRODUCER, &p), 0);
	pid_t c = consumer_child(open_path_consumer, path, 100);
	send_count(p, 100);
	cr_assert_eq(test_wait_child(c, 10000), 0);
	shmring_close(p);
	/* nobody attached any more: the file and its ring are still there */
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(shmring_open_file(path, 0, &obs), 0);
	cr_assert_eq(shmring_info(obs, &in), 0);
	cr_assert_eq(in.prod_idx, 100);
	cr_assert_eq(in.cons_idx, 100);
	cr_assert_eq(in.shutdowns, 1);
	shmring_close(obs);
	cr_assert_eq(unlink(path), 0);
}

Test(place, file_ring_errors)
{
	char path[128], other[128];
	struct shmring *r;
	snprintf(path, sizeof(path), "%s/ring", dir);
	snprintf(other, sizeof(other), "%s/not-a-ring", dir);
	cr_assert_eq(shmring_create_file(path, &small, 0, &r), 0);
	shmring_close(r);
	cr_assert_eq(shmring_create_file(path, &small, 0, &r), -EEXIST);
	cr_assert_eq(shmring_open_file(other, SHMRING_CONSUMER, &r), -ENOENT);
	cr_assert_eq(shmring_create_file("", &small, 0, &r), -EINVAL);
	cr_assert_eq(shmring_create_file(NULL, &small, 0, &r), -EINVAL);
	FILE *f = fopen(other, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 3000; i++)
		fputs("not a ring ", f);
	fclose(f);
	cr_assert_eq(shmring_open_file(other, SHMRING_CONSUMER, &r), -EPROTO);
	cr_assert_eq(shmring_open_file(dir, SHMRING_CONSUMER, &r), -EISDIR);
	/* a failed create leaves nothing behind */
	struct shmring_config bad = small;
	bad.flags = SHMRING_HUGEPAGES;   /* /tmp is not hugetlbfs */
	snprintf(other, sizeof(other), "%s/huge", dir);
	cr_assert_eq(shmring_create_file(other, &bad, 0, &r), -EINVAL);
	cr_assert_eq(access(other, F_OK), -1);
	unlink(path);
}

/*
 * A path (or shm name) that names something other than a regular file is
 * refused at once (issue 22, item 10): a FIFO, a symlink to one, a
 * character device or a socket with -EPROTO, a directory with -EISDIR (as
 * open(2) says). Before, the observer's read-only retry opened a FIFO
 * without O_NONBLOCK and waited for a writer for ever (a process that may
 * not write the FIFO: here nobody), and a socket gave -ENXIO. Each open
 * runs in a child that reports its result; -1000: it did not return
 * within 3 s (it hung; the child is killed).
 */
static int open_in_child(int as_nobody, const char *path, const char *shm, int roles)
{
	int p[2], rc = -1000;
	cr_assert_eq(pipe(p), 0);
	pid_t kid = fork();
	cr_assert_geq(kid, 0);
	if (kid == 0) {
		struct shmring *r = NULL;
		if (as_nobody && (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)))
			_exit(1);
		int got = path ? shmring_open_file(path, roles, &r) : shmring_open(shm, roles, &r);
		_exit(write(p[1], &got, sizeof(got)) == (ssize_t)sizeof(got) ? 0 : 2);
	}
	close(p[1]);
	int st = test_wait_child(kid, 3000);
	if (st != 0 || read(p[0], &rc, sizeof(rc)) != (ssize_t)sizeof(rc))
		rc = st == -1 ? -1000 : -1001;
	close(p[0]);
	return rc;
}

Test(place, open_refuses_what_is_not_a_regular_file, .timeout = 60)
{
	char fifo[128], link[128], sub[128], sock[128], shm[64], shm_path[96];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(link, sizeof(link), "%s/fifo-link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	test_name(shm, sizeof(shm), "fifo");
	snprintf(shm_path, sizeof(shm_path), "/dev/shm%s", shm);
	cr_assert_eq(chmod(dir, 0755), 0);   /* nobody may look inside */
	cr_assert_eq(mkfifo(fifo, 0444), 0);
	cr_assert_eq(chmod(fifo, 0444), 0);  /* whatever the umask: nobody may not write */
	cr_assert_eq(symlink(fifo, link), 0);
	cr_assert_eq(mkdir(sub, 0755), 0);
	cr_assert_eq(mkfifo(shm_path, 0444), 0);
	cr_assert_eq(chmod(shm_path, 0444), 0);
	int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cr_assert_lt(strlen(sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	cr_assert_eq(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	for (int nobody = 0; nobody < 2; nobody++) {
		const char *who = nobody ? "as nobody" : "as root";
		int rc;
		rc = open_in_child(nobody, fifo, NULL, 0);
		cr_expect_eq(rc, -EPROTO, "%s: open_file(FIFO), observer: %d", who, rc);
		rc = open_in_child(nobody, link, NULL, 0);
		cr_expect_eq(rc, -EPROTO, "%s: open_file(symlink to a FIFO), observer: %d", who, rc);
		rc = open_in_child(nobody, fifo, NULL, SHMRING_CONSUMER);
		cr_expect_eq(rc, nobody ? -EACCES : -EPROTO, "%s: open_file(FIFO), consumer: %d",
		             who, rc);
		rc = open_in_child(nobody, NULL, shm, 0);
		cr_expect_eq(rc, -EPROTO, "%s: open(a FIFO in /dev/shm), observer: %d", who, rc);
		rc = open_in_child(nobody, sub, NULL, 0);
		cr_expect_eq(rc, -EISDIR, "%s: open_file(directory): %d", who, rc);
		rc = open_in_child(nobody, "/dev/null", NULL, 0);
		cr_expect_eq(rc, -EPROTO, "%s: open_file(/dev/null): %d", who, rc);
		rc = open_in_child(nobody, sock, NULL, 0);
		cr_expect_eq(rc, -EPROTO, "%s: open_file(a socket): %d", who, rc);
	}
	close(sfd);
	unlink(shm_path);
}

/*
 * A descriptor received from elsewhere that is a memfd must carry
 * F_SEAL_SHRINK | F_SEAL_GROW (issue 22, item 10): whoever else holds an
 * unsealed one can truncate it under our mapping (SIGBUS). Every memfd ring
 * has them (shmring_create_memfd seals it). A shm_open object or a file
 * cannot be sealed at all: accepted, with the risk documented.
 */
Test(place, open_fd_requires_a_sealed_memfd)
{
	char name[64];
	static unsigned char image[65536];
	struct shmring *r0, *r;
	test_name(name, sizeof(name), "seals");
	cr_assert_eq(shmring_create(name, &small, 0, &r0), 0);
	struct stat st;
	cr_assert_eq(fstat(shmring_fd(r0), &st), 0);
	size_t size = (size_t)st.st_size;
	cr_assert_leq(size, sizeof(image));
	cr_assert_eq(pread(shmring_fd(r0), image, size, 0), (ssize_t)size);
	static const struct { unsigned mfd; int seals; int want; const char *what; } cases[] = {
		{ MFD_ALLOW_SEALING, 0, -EPROTO, "unsealed" },
		{ 0, -1, -EPROTO, "made without MFD_ALLOW_SEALING" },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK, -EPROTO, "sealed against shrinking only" },
		{ MFD_ALLOW_SEALING, F_SEAL_SEAL, -EPROTO, "sealed against new seals only" },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_GROW, 0, "shrink and grow sealed" },
		{ MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, 0, "as create_memfd" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int mfd = memfd_create("ring-image", MFD_CLOEXEC | cases[i].mfd);
		cr_assert_geq(mfd, 0);
		cr_assert_eq(write(mfd, image, size), (ssize_t)size);
		if (cases[i].seals > 0)
			cr_assert_eq(fcntl(mfd, F_ADD_SEALS, cases[i].seals), 0);
		for (int roles = 0; roles <= SHMRING_CONSUMER; roles += SHMRING_CONSUMER) {
			int rc = shmring_open_fd(mfd, roles, &r);
			cr_expect_eq(rc, cases[i].want, "a memfd %s, roles %d: %d", cases[i].what,
			             roles, rc);
			if (rc == 0)
				shmring_close(r);
		}
		close(mfd);
	}
	/* a shm_open object cannot be sealed: accepted */
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(shmring_open_fd(fd, SHMRING_CONSUMER, &r), 0);
	shmring_close(r);
	close(fd);
	shmring_close(r0);
	shmring_unlink(name);
}

static int open_fd_consumer(const void *arg, struct shmring **r)
{
	return shmring_open_fd(*(const int *)arg, SHMRING_CONSUMER, r);
}

/* a forked child attaches through the descriptor it inherited */
Test(place, memfd_ring_shared_with_a_forked_child, .timeout = 20)
{
	struct shmring *p;
	cr_assert_eq(shmring_create_memfd(&small, SHMRING_PRODUCER, &p), 0);
	int fd = shmring_fd(p);
	cr_assert_geq(fd, 0);
	pid_t c = consumer_child(open_fd_consumer, &fd, 50);
	send_count(p, 50);
	cr_assert_eq(test_wait_child(c, 10000), 0);
	shmring_close(p);
}

/* ... and an unrelated process gets it over a Unix socket (SCM_RIGHTS) */
static int recv_fd(int sock)
{
	char data;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	                    .msg_controllen = sizeof(ctl) };
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

static void send_fd(int sock, int fd)
{
	char data = 'f';
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	                    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	cr_assert_eq(sendmsg(sock, &m, 0), 1);
}

static int open_received_consumer(const void *arg, struct shmring **r)
{
	int fd = recv_fd(*(const int *)arg);
	if (fd < 0)
		return -EBADF;
	int rc = shmring_open_fd(fd, SHMRING_CONSUMER, r);
	close(fd);   /* open_fd dup'ed it */
	return rc;
}

Test(place, memfd_ring_passed_over_a_unix_socket, .timeout = 20)
{
	int sv[2];
	struct shmring *p;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* the consumer exists before the ring does: it can only get it by fd */
	pid_t c = consumer_child(open_received_consumer, &sv[1], 50);
	cr_assert_eq(shmring_create_memfd(&small, SHMRING_PRODUCER, &p), 0);
	send_fd(sv[0], shmring_fd(p));
	send_count(p, 50);
	cr_assert_eq(test_wait_child(c, 10000), 0);
	shmring_close(p);
	close(sv[0]);
	close(sv[1]);
}

/* whoever holds the descriptor cannot truncate the ring under the others:
 * the SIGBUS attack on a named ring is refused by the seals */
Test(place, memfd_ring_cannot_be_truncated)
{
	struct shmring *p;
	char buf[8];
	cr_assert_eq(shmring_create_memfd(&small, SHMRING_PRODUCER | SHMRING_CONSUMER, &p), 0);
	int fd = shmring_fd(p);
	int seals = fcntl(fd, F_GET_SEALS);
	cr_assert_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	             F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	cr_assert_eq(ftruncate(fd, 4096), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, 0), -1);   /* sealed for good */
	/* and through another descriptor of it just the same */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int other = open(proc, O_RDWR);
	cr_assert_geq(other, 0);
	cr_assert_eq(ftruncate(other, 0), -1);
	close(other);
	cr_assert_eq(shmring_send(p, "x", 1, 0), 0);
	cr_assert_eq(shmring_recv(p, buf, sizeof(buf), 0), 1);
	shmring_close(p);
}

Test(place, open_fd_refuses_what_is_not_a_ring)
{
	struct shmring *r;
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	cr_assert_eq(shmring_open_fd(pipefd[0], SHMRING_CONSUMER, &r), -EACCES);   /* read-only */
	cr_assert_eq(shmring_open_fd(pipefd[1], SHMRING_PRODUCER, &r), -EPROTO);
	close(pipefd[0]);
	close(pipefd[1]);
	int mfd = memfd_create("garbage", MFD_CLOEXEC);
	cr_assert_geq(mfd, 0);
	char junk[16384];
	memset(junk, 0x5a, sizeof(junk));
	cr_assert_eq(write(mfd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	cr_assert_eq(shmring_open_fd(mfd, SHMRING_CONSUMER, &r), -EPROTO);
	close(mfd);
	cr_assert_eq(shmring_open_fd(mfd, SHMRING_CONSUMER, &r), -EBADF);
	cr_assert_eq(shmring_open_fd(-1, SHMRING_CONSUMER, &r), -EBADF);
	cr_assert_eq(shmring_fd(NULL), -EINVAL);
}

/* huge pages: a shm name cannot have them; a memfd can when the system has
 * some (as root this test reserves a few and puts the old count back) */
Test(place, hugepages, .timeout = 30)
{
	struct shmring *r;
	struct shmring_config cfg = small;
	char name[64], buf[8];
	cfg.flags = SHMRING_HUGEPAGES;
	test_name(name, sizeof(name), "huge");
	cr_assert_eq(shmring_create(name, &cfg, 0, &r), -EINVAL);

	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long old = -1;
	if (f) {
		if (fscanf(f, "%ld", &old) != 1)
			old = -1;
		fclose(f);
	}
	f = old >= 0 ? fopen("/proc/sys/vm/nr_hugepages", "w") : NULL;
	if (!f) {
		cr_log_info("SKIP: huge pages: cannot change /proc/sys/vm/nr_hugepages");
		printf("SKIP: place::hugepages: cannot change /proc/sys/vm/nr_hugepages\n");
		return;
	}
	/* none reserved: a clear -ENOMEM, no SIGBUS later */
	fprintf(f, "0\n");
	fclose(f);
	cr_assert_eq(shmring_create_memfd(&cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r), -ENOMEM);
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	fprintf(f, "%ld\n", old + 2);
	fclose(f);
	int rc = shmring_create_memfd(&cfg, SHMRING_PRODUCER | SHMRING_CONSUMER, &r);
	if (rc == 0) {
		cr_expect_eq(shmring_send(r, "h", 1, 0), 0);
		cr_expect_eq(shmring_recv(r, buf, sizeof(buf), 0), 1);
		struct shmring_info in;
		shmring_info(r, &in);
		cr_expect_eq(in.mem_size % (2u << 20), 0, "mem_size %llu", (unsigned long long)in.mem_size);
		shmring_close(r);
	}
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	fprintf(f, "%ld\n", old);
	fclose(f);
	if (rc == -ENOMEM) {   /* the kernel could not find contiguous memory */
		printf("SKIP: place::hugepages: no huge page could be reserved\n");
		return;
	}
	cr_assert_eq(rc, 0, "create_memfd(HUGEPAGES) with pages reserved: %d", rc);
}

/* mlock: fine within RLIMIT_MEMLOCK; refused beyond it, cleanly */
Test(place, mlock, .timeout = 20)
{
#if defined(__SANITIZE_ADDRESS__)
	/* ASan replaces mlock with a no-op: nothing would be refused */
	printf("SKIP: place::mlock: AddressSanitizer build (mlock is a no-op there)\n");
	return;
#endif
	struct shmring *r;
	struct shmring_config cfg = small;
	char name[64];
	cfg.flags = SHMRING_MLOCK;
	test_name(name, sizeof(name), "mlock");
	cr_assert_eq(shmring_create(name, &cfg, SHMRING_PRODUCER, &r), 0);
	shmring_close(r);
	shmring_unlink(name);
	pid_t child = fork();
	if (child == 0) {
		/* 16 MiB to lock with 1 MiB allowed, as an unprivileged user */
		struct rlimit rl = { 1 << 20, 1 << 20 };
		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(77);
		struct shmring_config big = { .kind = SHMRING_SPSC, .slot_size = 4096,
		                              .slots = 4096, .flags = SHMRING_MLOCK };
		test_name(name, sizeof(name), "mlockbig");
		int rc = shmring_create(name, &big, SHMRING_PRODUCER, &r);
		struct stat st;
		char path[128];
		snprintf(path, sizeof(path), "/dev/shm%s", name);
		int left = stat(path, &st) == 0;
		shmring_unlink(name);
		_exit((rc == -ENOMEM || rc == -EPERM) && !left ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("SKIP: place::mlock: cannot drop privileges\n");
		return;
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mlock beyond the limit was not refused cleanly");
}
