/*
 * cmd_gc.c: `modelshim gc`: one eviction pass now, run by the daemon (started if needed) under
 * the node-wide GC lock (DIR/gc.lock), so only one GC runs at a time; a second one waits, or
 * with --no-wait answers "busy" (exit 75).
 *   --target SIZE           evict down to SIZE cached bytes (default: the low watermark)
 *   --free SIZE             make SIZE bytes of room under the quota and on the disk
 *   --tenant T              only tenant T's objects
 *   --before-start T --need SIZE   room for tenant T's job: other tenants' cold data first
 * With [gc] lock = etcd the whole command runs under a cluster-wide lock first (gc_lock.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"
#include "clock.h"
#include "cmd.h"
#include "gc_lock.h"

#define EXIT_BUSY 75

static int
parse_size_arg(const char *opt, const char *v, uint64_t *out)
{
	if (v == NULL || ms_parse_size(v, out) < 0) {
		fprintf(stderr, "modelshim gc: %s needs a size like 10G, got '%s'\n", opt, v ? v : "");
		return -1;
	}
	return 0;
}

static int
cmd_gc_exec(int argc, char **argv)
{
	struct ms_msg_gc gc = { .target = UINT64_MAX, .need = 0, .mode = MS_GC_ALL };
	char lockpath[MS_DIR_FILE_PATH_MAX], text[256];
	const char *tenant = NULL;
	struct ms_msg_gc_done out;
	struct ms_config cfg;
	struct ms_client cl;
	bool wait = true;
	uint64_t start_ns;
	int i, fd, rc;

	if (cmd_load_config(&cmd_gc_entry, &argc, argv, &cfg) < 0)
		return 1;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--target") == 0) {
			if (parse_size_arg("--target", v, &gc.target) < 0)
				return 2;
			i++;
		} else if (strcmp(argv[i], "--free") == 0 || strcmp(argv[i], "--need") == 0) {
			if (parse_size_arg(argv[i], v, &gc.need) < 0)
				return 2;
			i++;
		} else if (strcmp(argv[i], "--tenant") == 0 && v != NULL) {
			tenant = v;
			gc.mode = MS_GC_TENANT;
			i++;
		} else if (strcmp(argv[i], "--before-start") == 0 && v != NULL) {
			tenant = v;
			gc.mode = MS_GC_BEFORE_START;
			i++;
		} else if (strcmp(argv[i], "--no-wait") == 0) {
			wait = false;
		} else if (strcmp(argv[i], "--wait") == 0) {
			wait = true;
		} else {
			return cmd_usage(&cmd_gc_entry);
		}
	}
	if (gc.target == UINT64_MAX && gc.need == 0 && cfg.cache_size == 0) {
		fprintf(stderr, "modelshim gc: %s sets no quota: give --target or --free\n", cfg.file);
		return 2;
	}
	if (gc_lock_take(&cfg, argc, argv) < 0)
		return 1;
	if ((rc = ms_cache_init(&cfg)) < 0 ||
	    (rc = ms_cache_file_path(&cfg, "gc.lock", lockpath, sizeof lockpath)) < 0) {
		fprintf(stderr, "modelshim gc: cache dir %s: %s\n", cfg.cache_dir, strerror(-rc));
		return 1;
	}
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "modelshim gc: %s: %s\n", lockpath, strerror(errno));
		return 1;
	}
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		close(fd);
		if (errno == EWOULDBLOCK) {
			printf("busy: another gc runs on %s\n", cfg.cache_dir);
			return EXIT_BUSY;
		}
		fprintf(stderr, "modelshim gc: locking %s: %s\n", lockpath, strerror(errno));
		return 1;
	}
	start_ns = ms_now_ns();
	rc = cmd_connect(&cl, &cfg);
	if (rc == 0) {
		rc = ms_client_gc(&cl, &gc, tenant, &out, text, sizeof text);
		ms_client_close(&cl);
	}
	gc_lock_test_hooks(start_ns);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "modelshim gc: the daemon for %s: %s\n", cfg.cache_dir, strerror(-rc));
		return 1;
	}
	printf("gc: evicted %llu objects (%llu bytes); cache holds %llu bytes of a %llu-byte quota%s%s\n",
	    (unsigned long long)out.evicted_objects, (unsigned long long)out.evicted_bytes,
	    (unsigned long long)out.cached_bytes, (unsigned long long)out.quota,
	    out.status < 0 ? ": " : "", out.status < 0 ? text : "");
	return out.status < 0 ? 1 : 0;
}

const struct cmd_entry cmd_gc_entry = {
	.name = "gc",
	.usage = "[--config FILE] [--target SIZE | --free SIZE] [--tenant T | --before-start T "
	    "--need SIZE] [--wait | --no-wait]",
	.summary = "evict now: down to a target, or room for a tenant's job (one GC per node at a time)",
	.exec = cmd_gc_exec,
};
