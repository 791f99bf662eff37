/*
 * cmd_status.c: `modelshim status`: what the cache holds per mount (objects complete and
 * partial, bytes cached of bytes imported), read from the maps on disk, and the daemon's
 * counters when one is running. Read-only: never starts the daemon, never changes the cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libutil.h>

#include "cache.h"
#include "client.h"
#include "cmd.h"
#include "map.h"

struct usage {
	uint64_t objects, complete, partial, bytes, cached;
};

static void
count_map(const char *path, struct usage *u)
{
	struct ms_map map;
	uint32_t i;

	if (ms_map_open(&map, path, false) < 0)
		return;
	u->objects++;
	u->bytes += map.hdr.size;
	if (ms_map_complete(&map))
		u->complete++;
	else if (map.present > 0)
		u->partial++;
	for (i = 0; i < map.hdr.nchunks; i++)
		if (ms_map_has(&map, i))
			u->cached += ms_map_chunk_len(&map.hdr, i);
	ms_map_close(&map);
}

/* Bounded depth: keys have at most 512 components. */
static void
walk(const char *dirpath, struct usage *u, int depth)
{
	char child[2 * MS_PATH_MAX + 64];
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (depth > 512 || (dir = opendir(dirpath)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof child, "%s/%s", dirpath, de->d_name) >= (int)sizeof child)
			continue;
		if (lstat(child, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(child, u, depth + 1);
		else if (S_ISREG(st.st_mode))
			count_map(child, u);
	}
	closedir(dir);
}

static void
human(uint64_t v, char *out, size_t len)
{
	/* At most 4 digits and a unit: "4.8M", "512K". */
	humanize_number(out, len < 6 ? len : 6, (int64_t)v, "", HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE | HN_B);
}

static int
cmd_status_exec(int argc, char **argv)
{
	struct ms_msg_status_reply r;
	struct ms_config cfg;
	struct ms_client cl;
	char area[MS_PATH_MAX + 128], a[16], b[16];
	unsigned i;

	if (cmd_load_config(&cmd_status_entry, &argc, argv, &cfg) < 0)
		return 1;
	if (argc != 1)
		return cmd_usage(&cmd_status_entry);
	printf("cache %s, chunk %u bytes\n", cfg.cache_dir, cfg.chunk_size);
	printf("%-16s %-10s %-24s %8s %8s %8s %10s %10s\n", "MOUNT", "TENANT", "PATH", "OBJECTS",
	    "COMPLETE", "PARTIAL", "CACHED", "IMPORTED");
	for (i = 0; i < cfg.nmounts; i++) {
		struct usage u = { 0 };

		if (ms_cache_area(&cfg, &cfg.mounts[i], MS_AREA_STATE, area, sizeof area) == 0)
			walk(area, &u, 0);
		human(u.cached, a, sizeof a);
		human(u.bytes, b, sizeof b);
		printf("%-16s %-10s %-24s %8llu %8llu %8llu %10s %10s\n", cfg.mounts[i].name,
		    cfg.mounts[i].tenant, cfg.mounts[i].path, (unsigned long long)u.objects,
		    (unsigned long long)u.complete, (unsigned long long)u.partial, a, b);
	}
	if (ms_client_connect(&cl, &cfg) < 0) {
		printf("daemon: not running\n");
		return 0;
	}
	if (ms_client_status(&cl, &r) < 0) {
		ms_client_close(&cl);
		printf("daemon: not answering\n");
		return 1;
	}
	ms_client_close(&cl);
	human(r.bytes_fetched, a, sizeof a);
	printf("daemon: up %llus, %llu clients, %llu requests, %llu chunks filled, %s fetched in "
	    "%llu GETs, %llu retries, %llu errors, %llu chunks in flight\n",
	    (unsigned long long)r.uptime_s, (unsigned long long)r.clients,
	    (unsigned long long)r.requests, (unsigned long long)r.fills, a,
	    (unsigned long long)r.gets, (unsigned long long)r.retries, (unsigned long long)r.errors,
	    (unsigned long long)r.inflight);
	printf("daemon-counters: requests=%llu fills=%llu bytes_fetched=%llu gets=%llu retries=%llu "
	    "errors=%llu\n", (unsigned long long)r.requests, (unsigned long long)r.fills,
	    (unsigned long long)r.bytes_fetched, (unsigned long long)r.gets,
	    (unsigned long long)r.retries, (unsigned long long)r.errors);
	return 0;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--config FILE]",
	.summary = "cached objects and bytes per mount, and the daemon's counters",
	.exec = cmd_status_exec,
};
