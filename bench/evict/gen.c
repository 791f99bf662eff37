/*
 * gen.c: writes a cache of COUNT objects for the eviction benchmark straight into a mount's tree
 * and state dirs, through core's cache layout and map functions: each object a sparse data file
 * of SIZE bytes (its bytes are zeros, so no disk blocks) and a map with every chunk present
 * (checksums of zeros) and a distinct last access, older for lower numbers. For benchmarks only:
 * it never talks to the object store; importing the mount afterwards would remove what it wrote.
 *   usage: gen CONFIG MOUNT COUNT SIZE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "cache.h"
#include "config.h"
#include "io.h"
#include "map.h"
#include "start.h"

#define ATIME_BASE 1000000000 /* 2001: older than any real access */

/* A sparse data file of SIZE bytes at PATH; its inode in *INO. */
static int
make_data(const char *path, uint64_t size, uint64_t *ino)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fstat(fd, &st) < 0)
		rc = -errno;
	else
		*ino = (uint64_t)st.st_ino;
	close(fd);
	return rc;
}

/* A map at PATH naming INO, every chunk present with SUMS (per chunk), last access ATIME. */
static int
make_map(const char *path, uint64_t size, uint32_t chunk, uint64_t ino, const uint64_t *sums,
    int64_t atime)
{
	struct ms_map map;
	uint32_t i;
	int rc;

	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	rc = ms_map_create(path, size, chunk, ino, 0, "\"bench\"");
	if (rc == 0)
		rc = ms_map_open(&map, path, true);
	if (rc < 0)
		return rc;
	for (i = 0; i < map.hdr.nchunks && rc == 0; i++)
		rc = ms_map_mark(&map, i, ms_map_chunk_len(&map.hdr, i) == chunk ? sums[0] : sums[1]);
	if (rc == 0)
		rc = ms_map_set_atime(&map, atime);
	ms_map_close(&map);
	return rc;
}

int
main(int argc, char **argv)
{
	char tree[MS_OBJECT_PATH_MAX], state[MS_OBJECT_PATH_MAX], key[64];
	const struct ms_mount *m;
	struct ms_config cfg;
	uint64_t size, ino = 0, sums[2];
	unsigned long count, i;
	uint8_t *zeros;
	int rc = 0;

	if ((rc = bench_start(argc, argv, 4, "gen", "CONFIG MOUNT COUNT SIZE", &cfg)) != 0)
		return rc;
	m = ms_config_mount_by_name(&cfg, argv[2]);
	count = strtoul(argv[3], NULL, 10);
	if (m == NULL || count == 0 || ms_parse_size(argv[4], &size) < 0 || size == 0) {
		fprintf(stderr, "gen: no mount '%s', or a bad count or size\n", argv[2]);
		return 2;
	}
	zeros = calloc(1, cfg.chunk_size);
	if (zeros == NULL || ms_cache_init(&cfg) < 0)
		return 1;
	sums[0] = XXH3_64bits(zeros, cfg.chunk_size);
	sums[1] = XXH3_64bits(zeros, size % cfg.chunk_size);
	for (i = 0; i < count && rc == 0; i++) {
		snprintf(key, sizeof key, "g%04lu/o%07lu.bin", i / 1000, i);
		rc = ms_cache_object_path(&cfg, m, MS_AREA_TREE, key, tree, sizeof tree);
		if (rc == 0)
			rc = ms_cache_object_path(&cfg, m, MS_AREA_STATE, key, state, sizeof state);
		if (rc == 0 && i % 1000 == 0 && (rc = ms_mkdirs(tree, 0755, 0)) == 0)
			rc = ms_mkdirs(state, 0755, 0);
		if (rc == 0)
			rc = make_data(tree, size, &ino);
		if (rc == 0)
			rc = make_map(state, size, cfg.chunk_size, ino, sums, ATIME_BASE + (int64_t)i);
	}
	free(zeros);
	if (rc < 0) {
		fprintf(stderr, "gen: object %lu: %s\n", i - 1, strerror(-rc));
		return 1;
	}
	printf("gen: %lu objects of %llu bytes in mount %s\n", count, (unsigned long long)size, m->name);
	return 0;
}
