/*
 * probe.c: the daemon loop's latency, seen from outside: sends `status` requests one at a time
 * (one every millisecond) and times each round trip, until STOPFILE exists (or 600 s). The
 * daemon answers status inside its single-threaded loop, so a round trip is at least as long as
 * whatever the loop was busy with when the request came (an eviction pass, say). Prints
 * "requests N p50_ms P p99_ms P max_ms M". For benchmarks only.
 *   usage: probe CONFIG STOPFILE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "start.h"

#define MAX_SAMPLES 600000

static double
now_ms(void)
{
	return (double)ms_now_ns() / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct ms_msg_status_reply st;
	struct timespec gap = { 0, 1000000 };
	struct ms_client cl;
	struct ms_config cfg;
	double *rtt, t0, start;
	size_t n = 0;
	int rc;

	if ((rc = bench_start(argc, argv, 2, "probe", "CONFIG STOPFILE", &cfg)) != 0)
		return rc;
	rtt = malloc(MAX_SAMPLES * sizeof *rtt);
	if (rtt == NULL)
		return 1;
	if ((rc = ms_client_connect(&cl, &cfg)) < 0) {
		fprintf(stderr, "probe: connecting to the daemon: %s\n", strerror(-rc));
		return 1;
	}
	start = now_ms();
	while (n < MAX_SAMPLES && access(argv[2], F_OK) < 0 && now_ms() - start < 600e3) {
		t0 = now_ms();
		if ((rc = ms_client_status(&cl, &st)) < 0) {
			fprintf(stderr, "probe: status: %s\n", strerror(-rc));
			return 1;
		}
		rtt[n++] = now_ms() - t0;
		nanosleep(&gap, NULL);
	}
	ms_client_close(&cl);
	if (n == 0)
		return 1;
	qsort(rtt, n, sizeof *rtt, cmp_double);
	printf("requests %zu p50_ms %.3f p99_ms %.3f max_ms %.3f\n", n, rtt[n / 2], rtt[n * 99 / 100],
	    rtt[n - 1]);
	free(rtt);
	return 0;
}
