/* SPDX-License-Identifier: MIT */
/*
 * repro_membarrier.c - reproducer: one failed membarrier() call must not
 * switch the fence-free handshake off for the rest of the process.
 *
 * A sleeper issues MEMBARRIER_CMD_GLOBAL_EXPEDITED before it re-checks the
 * ring (W2 in src/wait.c). The library used to latch "unavailable" after
 * the first failure of that call, whatever the error, so one transient
 * failure (ENOMEM) made every later sleep fall back to 1 ms sleep slices
 * for the life of the process. Only a kernel that lacks the command (or
 * forbids it: ENOSYS, EINVAL, EPERM) may be latched.
 *
 * syscall() is wrapped (-Wl,--wrap=syscall): the first GLOBAL_EXPEDITED
 * call fails with ENOMEM; the later ones are counted. A consumer then
 * sleeps five times on an empty ring; each sleep must try membarrier again.
 * Prints "membarrier-latch: PASS|FAIL (...)" for tests/stress/run.sh.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <shmring.h>

long __real_syscall(long n, ...);

static int failed_once, calls_after;

long __wrap_syscall(long n, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_membarrier && a[0] == MEMBARRIER_CMD_GLOBAL_EXPEDITED) {
		if (!failed_once) {
			failed_once = 1;
			errno = ENOMEM;   /* transient: the kernel could not allocate */
			return -1;
		}
		calls_after++;
	}
	return __real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int main(void)
{
	const char *name = "/shmring-repro-membarrier";
	struct shmring *c, *p;
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 8, .slots = 4 };
	char buf[8];

	shmring_unlink(name);
	if (shmring_create(name, &cfg, SHMRING_CONSUMER, &c) ||
	    shmring_open(name, SHMRING_PRODUCER, &p)) {
		printf("membarrier-latch: FAIL (cannot create the ring)\n");
		return 1;
	}
	shmring_set_spin(c, 0);   /* sleep at once */
	for (int i = 0; i < 6; i++)
		shmring_recv(c, buf, sizeof(buf), 5000000);   /* empty: sleeps */
	shmring_close(p);
	shmring_close(c);
	shmring_unlink(name);
	int ok = failed_once && calls_after >= 5;
	printf("membarrier-latch: %s (first call failed with ENOMEM: %s; calls after it in "
	       "6 sleeps: %d, want >= 5)\n", ok ? "PASS" : "FAIL", failed_once ? "yes" : "no",
	       calls_after);
	return !ok;
}
