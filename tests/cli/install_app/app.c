/* SPDX-License-Identifier: MIT */
/*
 * tests/cli/install_app/app.c - built by CMake against an installed
 * shmring (target shmring::shmring or shmring::shmring_static): one
 * message through a ring between a producer and a consumer handle, checked.
 * Prints "NAME: ok" and exits 0, or says what failed and exits 1.
 */
#include <shmring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *me = argc > 0 ? argv[0] : "app";
	char name[64];
	snprintf(name, sizeof(name), "/shmring-install-app-%d", (int)getpid());
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 16 };
	struct shmring *tx = NULL, *rx = NULL;
	int rc = shmring_create(name, &cfg, SHMRING_PRODUCER, &tx);
	if (rc == 0)
		rc = shmring_open(name, SHMRING_CONSUMER, &rx);
	if (rc != 0) {
		fprintf(stderr, "%s: attach: %s\n", me, shmring_strerror(rc));
		shmring_close(tx);
		shmring_unlink(name);
		return 1;
	}
	const char msg[] = "through an installed shmring";
	char buf[64];
	rc = shmring_send(tx, msg, sizeof(msg), 0);
	shmring_shutdown(tx);
	ssize_t n = shmring_recv(rx, buf, sizeof(buf), -1);
	ssize_t end = shmring_recv(rx, buf + 32, sizeof(buf) - 32, -1);
	shmring_close(tx);
	shmring_close(rx);
	shmring_unlink(name);
	if (rc != 0 || n != (ssize_t)sizeof(msg) || memcmp(buf, msg, sizeof(msg)) != 0 ||
	    end != -EPIPE) {
		fprintf(stderr, "%s: send %d, recv %zd, then %zd\n", me, rc, n, end);
		return 1;
	}
	printf("%s: ok (shmring %d.%d.%d)\n", me, SHMRING_VERSION_MAJOR, SHMRING_VERSION_MINOR,
	       SHMRING_VERSION_PATCH);
	return 0;
}
