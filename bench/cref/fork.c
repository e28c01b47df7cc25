/*
 * The C reference for netprog's fork model (bench/): UNP's serv01, a child
 * per connection. The parent accepts and forks; the child closes the
 * listening socket, echoes until end of file and exits; a SIGCHLD handler
 * reaps with waitpid(WNOHANG) in a loop. Not a lesson: the yardstick the Go
 * model is measured against.
 *
 *   cc -O2 -o cref-fork bench/cref/fork.c
 *   ./cref-fork PORT [BACKLOG [MAPPINGS ANON_KB PAGETABLE_KB]]
 *
 * With the last three the server first grows its address space to the Go
 * server's size: that many mappings, that much resident anonymous
 * memory (pages written once), that many kilobytes of page tables. What a
 * fork then costs beyond the plain C server's is the price of the
 * footprint, not of the language.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(2); }

static void sig_chld(int signo)
{
	int saved = errno, status;
	(void)signo;
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	errno = saved;
}

/* On SIGINT or SIGTERM (the benchmark's stop) end the children too: the
 * server runs in a process group of its own, and a child, which inherits
 * this handler, exits the same way. */
static void sig_stop(int signo)
{
	(void)signo;
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	_exit(0);
}

/* status reads a "Name:   123 kB" line of /proc/self/status. */
static long status(const char *name)
{
	char line[256];
	long v = 0;
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') v = atol(line + n + 1);
	if (f) fclose(f);
	return v;
}

/* grow makes the address space as big as another process's: about `maps`
 * mappings, `kb` kilobytes of resident anonymous memory and `pte_kb`
 * kilobytes of page tables in all. The pages are written once, spread over
 * as many 2 MB stretches as it takes one page-table page each to reach
 * pte_kb, and the stretch is cut into areas whose protections alternate
 * (read-write, read-only), so that the kernel cannot merge them. */
static void grow(int maps, long kb, long pte_kb)
{
	int have = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f)) have++;
	if (f) fclose(f);
	const long page = sysconf(_SC_PAGESIZE), span = 2L << 20;
	long pages = (kb - status("RssAnon")) * 1024 / page, chunks = (pte_kb - status("VmPTE")) / (page / 1024);
	int areas = maps > have + 1 ? maps - have - 1 : 1;
	if (chunks < 1) chunks = 1;
	if (pages < chunks) chunks = pages > 0 ? pages : 1;
	char *p = mmap(NULL, chunks * span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) die("mmap");
	for (long i = 0; i < pages; i++) p[(i % chunks) * span + (i / chunks) * page] = 1;
	long per = chunks * span / areas / page * page;
	for (int a = 1; a < areas; a += 2)
		mprotect(p + a * per, per, PROT_READ);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int one = 1, backlog = argc > 2 ? atoi(argv[2]) : SOMAXCONN;
	if (argc > 5) grow(atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	sa.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
	if (listen(lfd, backlog) < 0) die("listen");
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	struct sigaction act = { .sa_handler = sig_chld, .sa_flags = SA_RESTART };
	sigemptyset(&act.sa_mask);
	sigaction(SIGCHLD, &act, NULL);
	signal(SIGINT, sig_stop);
	signal(SIGTERM, sig_stop);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			die("accept");
		}
		pid_t pid = fork();
		if (pid == 0) {
			static char buf[16384];
			ssize_t n;
			close(lfd);
			while ((n = read(c, buf, sizeof buf)) > 0)
				if (write(c, buf, n) != n) break;
			_exit(0);
		}
		close(c); /* the child has its own copy (and if fork failed, the client sees a close) */
	}
}
