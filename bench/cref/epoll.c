/*
 * The C reference for netprog's epoll model (bench/): one thread, one
 * level-triggered epoll_wait loop, nonblocking sockets, read and write back
 * what came. Not a lesson: the yardstick the Go model is measured against,
 * as small as the design allows. Replies that a full socket buffer does not
 * take are not kept: the benchmark's clients wait for each echo before
 * sending again, so a 16 KiB read is answered by one write.
 *
 *   cc -O2 -o cref-epoll bench/cref/epoll.c
 *   ./cref-epoll PORT [BACKLOG]        (PORT 0: any; prints "listening on ADDR")
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(2); }

/* SIGINT or SIGTERM (the benchmark's stop) ends it, even where the shell
 * that started it ignores SIGINT (a background job). */
static void sig_stop(int signo) { (void)signo; _exit(0); }

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int one = 1, backlog = argc > 2 ? atoi(argv[2]) : SOMAXCONN;
	sa.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
	if (listen(lfd, backlog) < 0) die("listen");
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	signal(SIGINT, sig_stop);
	signal(SIGTERM, sig_stop);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll");
	static char buf[16384];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (c < 0) continue;
				ev.events = EPOLLIN, ev.data.fd = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0) close(c);
				continue;
			}
			ssize_t r = read(fd, buf, sizeof buf);
			if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
			if (r <= 0 || write(fd, buf, r) != r) close(fd); /* EOF, error, or a full buffer */
		}
	}
}
