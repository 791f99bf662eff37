/*
 * bench.h: helpers shared by the benchmark's small readers in bench/: a monotonic clock, a
 * fatal-error exit, and the page checksum every reader computes the same way, so that a peer
 * that returned wrong bytes shows up as a checksum that differs from the local file's.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 4096u

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define die(...)                                                                                   \
	do {                                                                                       \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		exit(1);                                                                           \
	} while (0)

/*
 * Page checksum: the byte at the start of every 4 KiB page of the file, weighted by the page's
 * index, plus the file's last byte. BUF holds the file's bytes [POS, POS+N); add what it covers.
 */
static inline uint64_t
page_sum(const unsigned char *buf, uint64_t pos, uint64_t n, uint64_t size)
{
	uint64_t s = 0, p = (pos + PAGE - 1) / PAGE * PAGE;

	for (; p < pos + n; p += PAGE)
		s += (uint64_t)buf[p - pos] * (p / PAGE + 1);
	if (size > 0 && pos <= size - 1 && size - 1 < pos + n)
		s += (uint64_t)buf[size - 1 - pos] << 32;
	return s;
}

#endif
