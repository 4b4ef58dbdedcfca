/* SPDX-License-Identifier: MIT */
/*
 * memfd_share.c - an anonymous, sealed ring handed to another process by
 * its descriptor: to a forked child, or to an unrelated process over a
 * Unix socket (SCM_RIGHTS). Nobody can open it by name, and nobody holding
 * it can truncate it under the others.
 *
 *   memfd_share fork [COUNT]          producer here, consumer in a child
 *   memfd_share serve SOCKET [COUNT]  make the ring, hand it to the first
 *                                     client of SOCKET, produce COUNT
 *   memfd_share client SOCKET         receive the ring, consume to the end
 *
 * Build: cc -o memfd_share memfd_share.c $(pkg-config --cflags --libs shmring)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <shmring.h>

static int die(const char *what, int err)
{
	fprintf(stderr, "memfd_share: %s: %s\n", what, shmring_strerror(err));
	return 1;
}

/* receive until end of stream; prints the count */
static int consume(struct shmring *c)
{
	char buf[64];
	long n = 0;
	ssize_t len;
	while ((len = shmring_recv(c, buf, sizeof(buf), -1)) >= 0)
		n++;
	shmring_close(c);
	if (len != -EPIPE)
		return die("recv", (int)len);
	printf("consumer: received %ld messages\n", n);
	fflush(stdout);   /* a forked child leaves with _exit() */
	return 0;
}

static int produce(struct shmring *p, long count)
{
	char msg[64];
	for (long i = 0; i < count; i++) {
		int len = snprintf(msg, sizeof(msg), "message %ld", i);
		int rc = shmring_send(p, msg, (size_t)len, -1);
		if (rc < 0)
			return die("send", rc);
	}
	shmring_shutdown(p);
	return 0;
}

static int send_fd(int sock, int fd)
{
	char byte = 'r', ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	                    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	                    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int unix_socket(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	strcpy(a->sun_path, path);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int main(int argc, char **argv)
{
	struct shmring_config cfg = { .kind = SHMRING_SPSC, .slot_size = 64, .slots = 256 };
	struct shmring *r;
	struct sockaddr_un a;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "fork")) {
		long count = argc > 2 ? atol(argv[2]) : 10000;
		if ((rc = shmring_create_memfd(&cfg, SHMRING_PRODUCER, &r)))
			return die("create_memfd", rc);
		pid_t child = fork();
		if (child == 0) {
			/* the child's copy of our handle holds nothing: it
			 * attaches afresh through the inherited descriptor */
			struct shmring *c;
			if ((rc = shmring_open_fd(shmring_fd(r), SHMRING_CONSUMER, &c)))
				_exit(die("open_fd", rc));
			_exit(consume(c));
		}
		rc = produce(r, count);
		shmring_close(r);
		int st;
		waitpid(child, &st, 0);
		return rc || !WIFEXITED(st) || WEXITSTATUS(st);
	}
	if (argc >= 3 && !strcmp(argv[1], "serve")) {
		long count = argc > 3 ? atol(argv[3]) : 10000;
		int ls = unix_socket(argv[2], &a);
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
			perror("memfd_share: socket");
			return 1;
		}
		if ((rc = shmring_create_memfd(&cfg, SHMRING_PRODUCER, &r)))
			return die("create_memfd", rc);
		int s = accept(ls, NULL, NULL);
		unlink(argv[2]);
		if (s < 0 || send_fd(s, shmring_fd(r)) < 0) {
			perror("memfd_share: handing the ring over");
			return 1;
		}
		close(s);
		close(ls);
		rc = produce(r, count);
		shmring_close(r);
		return rc;
	}
	if (argc >= 3 && !strcmp(argv[1], "client")) {
		int s = unix_socket(argv[2], &a);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("memfd_share: connect");
			return 1;
		}
		int fd = recv_fd(s);
		close(s);
		if (fd < 0) {
			fprintf(stderr, "memfd_share: no descriptor received\n");
			return 1;
		}
		rc = shmring_open_fd(fd, SHMRING_CONSUMER, &r);
		close(fd);   /* the handle has its own copy */
		if (rc)
			return die("open_fd", rc);
		return consume(r);
	}
	fprintf(stderr, "usage: memfd_share fork [COUNT] | serve SOCKET [COUNT] | client SOCKET\n");
	return 2;
}
