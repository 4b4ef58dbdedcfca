/* SPDX-License-Identifier: MIT */
/*
 * tests/cli/swap_shim.c - an LD_PRELOAD shim for tests/cli/test_cli.sh: it
 * replaces a file while the tool looks at it, at a point that does not
 * depend on timing.
 *
 * With SHMRING_TEST_SWAP_AT=PATH and SHMRING_TEST_SWAP_FROM=OTHER set, the
 * first fstat() of a descriptor that refers to the file PATH names renames
 * OTHER over PATH (once): the tool then holds the file it opened, and PATH
 * names another one. `shmring rm --stale DIR` must not remove that other
 * one (issue 22, item 10). Without the variables it only passes fstat on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int fstat(int fd, struct stat *st);
int fstat64(int fd, struct stat64 *st);

static int swapped;

static void maybe_swap(dev_t dev, ino_t ino)
{
	const char *at = getenv("SHMRING_TEST_SWAP_AT");
	const char *from = getenv("SHMRING_TEST_SWAP_FROM");
	struct stat t;

	if (swapped || !at || !from || lstat(at, &t) < 0 || t.st_dev != dev || t.st_ino != ino)
		return;
	swapped = 1;
	if (rename(from, at) < 0)
		perror("swap_shim: rename");
}

int fstat(int fd, struct stat *st)
{
	static int (*real)(int, struct stat *);
	if (!real)
		real = (int (*)(int, struct stat *))dlsym(RTLD_NEXT, "fstat");
	int rc = real(fd, st);
	if (rc == 0)
		maybe_swap(st->st_dev, st->st_ino);
	return rc;
}

int fstat64(int fd, struct stat64 *st)
{
	static int (*real)(int, struct stat64 *);
	if (!real)
		real = (int (*)(int, struct stat64 *))dlsym(RTLD_NEXT, "fstat64");
	int rc = real(fd, st);
	if (rc == 0)
		maybe_swap(st->st_dev, st->st_ino);
	return rc;
}
