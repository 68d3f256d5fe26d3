/*
 * p9bench.c - 9P read throughput, our client against our server over a
 * socketpair (no VM): one 50 MiB file read whole with p9_read_stream at
 * several msizes, with one request in flight and with several.  Prints
 * the median of 5 runs per row.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "p9suite.h"

#define FILE_SIZE (50u << 20)
#define RUNS 5

static int sink(void *arg, const void *d, size_t n)
{
	(void)d;
	*(uint64_t *)arg += n;
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One timed read of the file; seconds, or -1. */
static double one_run(const char *dir, uint32_t msize, unsigned depth)
{
	struct p9_client_config cfg = { .msize = msize, .inflight = 16 };
	struct p9_client *c = NULL;
	struct p9_attr a;
	struct srv s;
	uint32_t root, fid;
	uint64_t got = 0;
	double t0, t = -1;

	if (srv_start_ours(dir, 0, 0, 1, 0, &s))
		return -1;
	if (p9_client_new(s.fd, s.fd, &cfg, &c) == 0 &&
	    p9_attach(c, 0, NULL, &root, NULL) == 0 &&
	    suite_walk(c, root, "f", &fid) == 0 &&
	    p9_getattr(c, fid, &a) == 0 &&
	    p9_lopen(c, fid, O_RDONLY, NULL, NULL) == 0) {
		t0 = now();
		if (p9_read_stream(c, fid, 0, a.size, depth, sink, &got) ==
		    FILE_SIZE)
			t = now() - t0;
	}
	p9_client_free(c);
	srv_stop(&s);
	return t;
}

int main(void)
{
	static const uint32_t msizes[] = { 8192, 65536, 1048576 + P9_RWHDRSZ };
	static const unsigned depths[] = { 1, 8 };
	char *dir = suite_tmpdir(), path[256];
	static char buf[1 << 20];
	double t[RUNS];
	unsigned i, j, k;
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	for (i = 0; i < FILE_SIZE / sizeof(buf); i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return 1;
	close(fd);
	printf("9P read of a 50 MiB file, client vs server over a socketpair "
	       "(median of %d)\n", RUNS);
	printf("%-10s %-9s %10s\n", "msize", "inflight", "MiB/s");
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++) {
			for (k = 0; k < RUNS; k++)
				t[k] = one_run(dir, msizes[i], depths[j]);
			qsort(t, RUNS, sizeof(t[0]), cmp_double);
			printf("%-10u %-9u %10.0f\n", msizes[i], depths[j],
			       t[0] < 0 ? 0 : 50 / t[RUNS / 2]);
		}
	unlink(path);
	rmdir(dir);
	return 0;
}
