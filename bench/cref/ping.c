/*
 * The C reference for flood ping (bench/ping.sh): iputils' loop and nothing
 * else. A raw ICMP socket with ICMP_FILTER and SO_TIMESTAMPNS, as netprog's;
 * then per request one sendto, and recvmsg until its reply is in (on
 * loopback it is queued before sendto returns). No name lookup, no
 * capabilities, no output per packet. Not a lesson: the floor that both
 * netprog and iputils are measured against.
 *
 *   cc -O2 -o cref-ping bench/cref/ping.c -lpthread -lm
 *   ./cref-ping [-t THREADS] [-u] -q -f -c COUNT 127.0.0.1     (as root)
 *
 * -t starts THREADS idle threads first. The threads of a process share one
 * file table, and then every system call on a descriptor takes and drops a
 * reference to its file (fdget's slow path) where a process of one thread
 * only borrows it: the Go runtime runs ping on 7 threads. -u then gives the
 * pinging thread a table of its own (unshare(CLONE_FILES)), as netprog's
 * flood does. -q and -f are accepted for ping's command line and change
 * nothing. It prints iputils' two summary lines.
 */
#define _GNU_SOURCE /* unshare */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ICMP_FILTER 1 /* linux/icmp.h; its header clashes with netinet's */

static void die(const char *what) { perror(what); exit(2); }

static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }

/* RFC 1071 */
static unsigned short checksum(const unsigned char *b, int n)
{
	unsigned long sum = 0;
	for (; n > 1; n -= 2, b += 2)
		sum += (unsigned)b[0] << 8 | b[1];
	if (n)
		sum += (unsigned)b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static double us_between(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
}

int main(int argc, char **argv)
{
	int count = 0, threads = 0, private = 0, opt;
	while ((opt = getopt(argc, argv, "qfuc:t:")) != -1) {
		if (opt == 'c') count = atoi(optarg);
		else if (opt == 't') threads = atoi(optarg);
		else if (opt == 'u') private = 1;
		else if (opt != 'q' && opt != 'f') exit(2);
	}
	struct sockaddr_in to = { .sin_family = AF_INET };
	if (count <= 0 || optind != argc - 1 || inet_pton(AF_INET, argv[optind], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: cref-ping [-t THREADS] [-u] -q -f -c COUNT IPV4\n");
		exit(2);
	}
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle, NULL) != 0) die("pthread_create");
	}
	if (private && unshare(CLONE_FILES) < 0) die("unshare");

	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0) die("socket");
	unsigned int keep = ~(1u << 0 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 11 | 1u << 12);
	int one = 1;
	if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &keep, sizeof keep) < 0) die("ICMP_FILTER");
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) die("SO_TIMESTAMPNS");

	unsigned short id = getpid() & 0xffff;
	unsigned char out[64] = { 8, 0, 0, 0, id >> 8, id & 0xff };
	for (int i = 24; i < 64; i++) out[i] = i - 8;
	unsigned char in[4160];
	union { char buf[512]; struct cmsghdr align; } control;
	int received = 0;
	double sum = 0, sum2 = 0, min = 1e18, max = 0;
	struct timespec start, end;
	clock_gettime(CLOCK_REALTIME, &start);

	for (int seq = 1; seq <= count; seq++) {
		struct timespec sent;
		clock_gettime(CLOCK_REALTIME, &sent);
		out[6] = seq >> 8 & 0xff, out[7] = seq & 0xff;
		memcpy(out + 8, &sent, sizeof sent);
		out[2] = out[3] = 0;
		unsigned short c = checksum(out, sizeof out);
		out[2] = c >> 8, out[3] = c & 0xff;
		if (sendto(fd, out, sizeof out, 0, (struct sockaddr *)&to, sizeof to) < 0) die("sendto");
		for (;;) {
			struct sockaddr_in from;
			struct iovec iov = { in, sizeof in };
			struct msghdr m = {
				.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
				.msg_control = control.buf, .msg_controllen = sizeof control.buf,
			};
			ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
			if (n < 0) {
				/* Not there yet: iputils' flood waits at most 10 ms. */
				struct pollfd p = { fd, POLLIN, 0 };
				if (poll(&p, 1, 10) == 0) break;
				continue;
			}
			int hlen = (in[0] & 0x0f) * 4;
			if (n < hlen + 24 || checksum(in + hlen, n - hlen) != 0) continue;
			unsigned char *h = in + hlen;
			if (h[0] != 0 || (h[4] << 8 | h[5]) != id || (h[6] << 8 | h[7]) != (seq & 0xffff)) continue;
			struct timespec at;
			clock_gettime(CLOCK_REALTIME, &at);
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS)
					memcpy(&at, CMSG_DATA(cm), sizeof at);
			double rtt = us_between(sent, at);
			received++, sum += rtt, sum2 += rtt * rtt;
			if (rtt < min) min = rtt;
			if (rtt > max) max = rtt;
			break;
		}
	}

	clock_gettime(CLOCK_REALTIME, &end);
	printf("%d packets transmitted, %d received, %d%% packet loss, time %.0fms\n",
	       count, received, (count - received) * 100 / count, us_between(start, end) / 1000);
	if (received > 0) {
		double avg = sum / received, mdev = sum2 / received - avg * avg;
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", min / 1000, avg / 1000, max / 1000,
		       (mdev > 0 ? sqrt(mdev) : 0) / 1000);
	}
	return received > 0 ? 0 : 1; /* iputils: 1 when nothing came back */
}
