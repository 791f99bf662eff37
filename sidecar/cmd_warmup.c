/*
 * cmd_warmup.c: `modelshim warmup PATH... | --from FILE | --prefix DIR`: makes virtual files (or
 * byte ranges of them) present before traffic arrives. The daemon fetches them with its
 * parallelism but behind any program's demand reads. Resumable: what is present is skipped.
 * --wait (default) shows progress on a terminal and a summary otherwise, and exits non-zero
 * naming each file that failed; --no-wait queues the work and returns. --tier warms the mounts'
 * cluster cache tier instead of this node's cache: one request per aligned tier block, which the
 * daemon asks of the block's tier node and discards (daemon_warm_tier.c); nothing is cached here.
 * A checkpoint index (*.index.json) warms the shards it names too (warmup_model.c), and each
 * checkpoint's layout (safetensors header, zip directory) is asked for before any tensor bytes.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "cache.h"
#include "client.h"
#include "clock.h"
#include "cmd.h"
#include "model_layout.h"
#include "walk.h"
#include "warmup_model.h"

#define MAX_INFLIGHT 64

struct target {
	unsigned mount;
	char *key;
	uint64_t off, len; /* len 0: to the end */
	uint64_t bytes;    /* what it adds to the total */
	uint64_t id;       /* request id while in flight */
	bool done, failed;
};

struct warm {
	const struct ms_config *cfg;
	struct target *t;
	size_t n, cap;
	size_t skipped, failed, done;
	uint64_t total, bytes_done;
	bool tty, quiet;
	bool tier;       /* --tier: targets are tier blocks */
	size_t nfiles;   /* --tier: the files those blocks are of */
	unsigned shown_tenth; /* --tier without a terminal: the last tenth of the bytes reported */
};

static int
add(struct warm *w, unsigned mount, const char *key, uint64_t off, uint64_t len)
{
	struct target *t;
	int rc = ms_array_room(&w->t, w->n, &w->cap, sizeof *w->t, 64, 0);

	if (rc < 0)
		return rc;
	t = &w->t[w->n];
	memset(t, 0, sizeof *t);
	t->key = strdup(key);
	if (t->key == NULL)
		return -ENOMEM;
	t->mount = mount;
	t->off = off;
	t->len = len;
	w->n++;
	return 0;
}

/* For ms_walk: one file of a tree directory being added. */
struct warm_dir {
	struct warm *w;
	unsigned mount;
};

static int
add_walked(void *arg, const char *path, const char *key)
{
	struct warm_dir *wd = arg;

	(void)path;
	return add(wd->w, wd->mount, key, 0, 0);
}

/* Adds every file under the tree directory DIR, whose key is REL. */
static int
add_dir(struct warm *w, unsigned mount, const char *dir, const char *rel)
{
	const struct ms_walk_ops ops = { .file = add_walked };
	struct warm_dir wd = { w, mount };

	return ms_walk(dir, rel, &ops, &wd);
}

/* A virtual path: one file, or every file below a directory. */
static int
add_path(struct warm *w, const char *vpath, uint64_t off, uint64_t len)
{
	char tree[MS_OBJECT_PATH_MAX];
	const struct ms_mount *m;
	const char *key;
	struct stat st;
	unsigned mount;

	m = ms_config_mount_for_path(w->cfg, vpath, &key);
	if (m == NULL) {
		fprintf(stderr, "modelshim warmup: %s: not under any mount of %s\n", vpath, w->cfg->file);
		return -ENOENT;
	}
	mount = (unsigned)(m - w->cfg->mounts);
	if (ms_cache_object_path(w->cfg, m, MS_AREA_TREE, key, tree, sizeof tree) < 0 ||
	    stat(tree, &st) < 0) {
		fprintf(stderr, "modelshim warmup: %s: not in the imported namespace (run 'modelshim "
		    "import')\n", vpath);
		return -ENOENT;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(w, mount, tree, key);
	return add(w, mount, key, off, len);
}

/* warm_index_shards' callback: a shard, unless it is a target already. */
static int
add_shard(void *arg, unsigned mount, const char *key)
{
	struct warm *w = arg;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->t[i].mount == mount && strcmp(w->t[i].key, key) == 0 && w->t[i].len == 0)
			return 0;
	return add(w, mount, key, 0, 0);
}

/* Each index among the targets adds its shards (read through CL). */
static int
add_index_shards(struct warm *w, struct ms_client *cl)
{
	size_t i, n = w->n;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		if (warm_is_index(w->t[i].key))
			rc = warm_index_shards(w->cfg, cl, w->t[i].mount, w->t[i].key, add_shard, w);
	return rc;
}

/*
 * The layout of each checkpoint to warm first: an open's notice makes the daemon fetch a
 * safetensors header or a zip's central directory before the bulk (daemon_model.c), so a loader
 * starting during the warm-up finds it present.
 */
static int
touch_checkpoints(struct warm *w, struct ms_client *cl)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < w->n && rc == 0; i++)
		if (!w->t[i].done && ms_model_format_of(w->t[i].key) != MS_MODEL_NONE)
			rc = ms_client_touch(cl, w->cfg->mounts[w->t[i].mount].name, w->t[i].key, 0);
	return rc;
}

static int
add_from_file(struct warm *w, const char *file)
{
	char line[MS_PATH_MAX + 64], path[MS_PATH_MAX];
	unsigned long long off, len;
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	int rc = 0, n;

	if (f == NULL) {
		fprintf(stderr, "modelshim warmup: %s: %s\n", file, strerror(errno));
		return -errno;
	}
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		/* "PATH" or "PATH OFFSET LENGTH" (paths with spaces: the whole line is the path). */
		n = sscanf(line, "%1023s %llu %llu", path, &off, &len);
		if (n == 3 && strchr(line, ' ') == line + strlen(path))
			rc = add_path(w, path, off, len);
		else
			rc = add_path(w, line, 0, 0);
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Drops what is present already (resumable runs) and sums what is left. */
static void
size_targets(struct warm *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		struct target *t = &w->t[i];
		struct ms_cached c;
		uint64_t len;

		if (ms_cached_open(&c, w->cfg, &w->cfg->mounts[t->mount], t->key) < 0)
			continue; /* the daemon will say what is wrong */
		len = t->len == 0 || t->off + t->len > c.map.hdr.size ?
		    (t->off < c.map.hdr.size ? c.map.hdr.size - t->off : 0) : t->len;
		if (ms_map_range_present(&c.map, t->off, len)) {
			t->done = true;
			w->skipped++;
		} else {
			t->bytes = len;
			w->total += len;
		}
		ms_cached_close(&c);
	}
}

/*
 * --tier: every target file becomes the aligned blocks of its mount's tier that it covers (a
 * range only those it touches), each one request. -EINVAL naming a file whose mount has no tier.
 */
static int
tier_blocks(struct warm *w)
{
	struct target *files = w->t;
	size_t nfiles = w->n, i;
	int rc = 0;

	w->t = NULL;
	w->n = w->cap = 0;
	for (i = 0; i < nfiles && rc == 0; i++) {
		const struct ms_mount *m = &w->cfg->mounts[files[i].mount];
		uint64_t block, size, off, end;
		struct ms_cached c;

		if (m->tier < 0) {
			fprintf(stderr, "modelshim warmup: %s/%s: mount %s has no cluster tier (tier = NAME)\n",
			    m->path, files[i].key, m->name);
			rc = -EINVAL;
			break;
		}
		block = w->cfg->tiers[m->tier].block;
		rc = ms_cached_open(&c, w->cfg, m, files[i].key);
		if (rc < 0) {
			fprintf(stderr, "modelshim warmup: %s/%s: %s\n", m->path, files[i].key,
			    rc == -ENOENT ? "not in the imported namespace (run 'modelshim import')" :
			    strerror(-rc));
			break;
		}
		size = c.map.hdr.size;
		ms_cached_close(&c);
		off = files[i].off < size ? files[i].off : size;
		end = files[i].len == 0 || files[i].len > size - off ? size : off + files[i].len;
		w->nfiles += off < end;
		for (off -= off % block; off < end && rc == 0; off += block) {
			rc = add(w, files[i].mount, files[i].key, off, size - off < block ? size - off : block);
			if (rc == 0) {
				w->t[w->n - 1].bytes = w->t[w->n - 1].len;
				w->total += w->t[w->n - 1].len;
			}
		}
	}
	for (i = 0; i < nfiles; i++)
		free(files[i].key);
	free(files);
	return rc;
}

static double
now_s(void)
{
	return (double)ms_now_ns() / 1e9;
}

static void
progress(struct warm *w, double t0, bool last)
{
	char a[16], b[16], r[16];
	double dt = now_s() - t0;
	uint64_t rate = dt > 0 ? (uint64_t)((double)w->bytes_done / dt) : 0;
	uint64_t eta = rate > 0 ? (w->total - w->bytes_done) / rate : 0;

	if (w->quiet || (!w->tty && !w->tier))
		return;
	cmd_human(w->bytes_done, a, sizeof a);
	cmd_human(w->total, b, sizeof b);
	cmd_human(rate, r, sizeof r);
	if (!w->tty) {
		/* --tier in a log: a line per tenth of the bytes. */
		unsigned tenth = w->total > 0 ? (unsigned)(w->bytes_done * 10 / w->total) : 10;

		if (tenth <= w->shown_tenth && !last)
			return;
		w->shown_tenth = tenth;
		fprintf(stderr, "warmup --tier: %zu/%zu blocks, %s/%s, %s/s\n", w->done + w->failed,
		    w->n, a, b, r);
		return;
	}
	fprintf(stderr, "\rwarmup: %zu/%zu %s, %s/%s, %s/s, ETA %llus   ", w->done + w->failed,
	    w->n - w->skipped, w->tier ? "tier blocks" : "files", a, b, r, (unsigned long long)eta);
	if (last)
		fputc('\n', stderr);
}

static int
run(struct warm *w, struct ms_client *cl, bool wait)
{
	char buf[MS_MSG_MAX], *err;
	struct ms_msg msg;
	size_t next = 0, inflight = 0, i;
	double t0 = now_s(), shown = 0;
	int rc;

	while (next < w->n || inflight > 0) {
		while (next < w->n && inflight < MAX_INFLIGHT) {
			struct target *t = &w->t[next++];
			const char *mount = w->cfg->mounts[t->mount].name;

			if (t->done)
				continue;
			if (!wait) {
				rc = ms_client_prefetch(cl, mount, t->key, t->off, t->len, 0);
				t->done = rc == 0;
			} else {
				rc = ms_client_send_fill(cl, w->tier ? MS_FILL_TIER : MS_FILL_WARM, mount,
				    t->key, t->off, t->len, 0, &t->id);
				inflight += rc == 0;
			}
			if (rc < 0)
				return rc;
		}
		if (inflight == 0)
			break;
		rc = ms_client_recv(cl, buf, &msg);
		if (rc < 0)
			return rc;
		for (i = 0; i < w->n; i++) {
			struct target *t = &w->t[i];

			if (t->id != msg.hdr.id || t->done || t->failed || msg.hdr.type != MS_MSG_FILL_DONE)
				continue;
			inflight--;
			if (msg.u.done.status < 0) {
				t->failed = true;
				w->failed++;
				err = strndup(msg.text, msg.u.done.msg_len);
				if (w->tty && !w->quiet)
					fputc('\n', stderr);
				fprintf(stderr, "modelshim warmup: %s/%s: %s\n", w->cfg->mounts[t->mount].path,
				    t->key, err != NULL ? err : "failed");
				free(err);
			} else {
				t->done = true;
				w->done++;
				w->bytes_done += t->bytes;
			}
			break;
		}
		if (now_s() - shown > 0.2) {
			progress(w, t0, false);
			shown = now_s();
		}
	}
	progress(w, t0, true);
	if (!w->quiet && w->tier) {
		char a[16];

		cmd_human(w->bytes_done, a, sizeof a);
		printf("warmup --tier: %zu blocks (%s) of %zu files now in the tier, %zu failed, in "
		    "%.1fs\n", w->done, a, w->nfiles, w->failed, now_s() - t0);
	} else if (!w->quiet) {
		char a[16];
		double dt = now_s() - t0;

		cmd_human(w->bytes_done, a, sizeof a);
		printf("warmup: %zu files warmed (%s), %zu already present, %zu failed, in %.1fs%s\n",
		    w->done, a, w->skipped, w->failed, dt, wait ? "" : " (queued, not waited for)");
	}
	return 0;
}

static int
cmd_warmup_exec(int argc, char **argv)
{
	struct ms_config cfg;
	struct ms_client cl;
	struct warm w;
	bool wait = true, connected = false;
	int i, rc = 0;

	if (cmd_load_config(&cmd_warmup_entry, &argc, argv, &cfg) < 0)
		return 1;
	memset(&w, 0, sizeof w);
	w.cfg = &cfg;
	w.tty = isatty(STDERR_FILENO);
	for (i = 1; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			wait = true;
		else if (strcmp(argv[i], "--no-wait") == 0)
			wait = false;
		else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			w.quiet = true;
		else if (strcmp(argv[i], "--tier") == 0)
			w.tier = true;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			rc = add_from_file(&w, argv[++i]);
		else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
			rc = add_path(&w, argv[++i], 0, 0);
		else if (argv[i][0] == '/')
			rc = add_path(&w, argv[i], 0, 0);
		else
			return cmd_usage(&cmd_warmup_entry);
	}
	if (rc == 0 && w.n == 0)
		return cmd_usage(&cmd_warmup_entry);
	if (rc == 0 && w.tier && !wait) {
		fprintf(stderr, "modelshim warmup: --tier waits for every block: not with --no-wait\n");
		rc = -EINVAL;
	}
	if (rc == 0) {
		rc = cmd_connect(&cl, &cfg);
		if (rc < 0)
			fprintf(stderr, "modelshim warmup: cannot reach or start the daemon for %s: %s\n",
			    cfg.cache_dir, strerror(-rc));
		else
			connected = true;
	}
	if (rc == 0)
		rc = add_index_shards(&w, &cl);
	if (rc == 0 && w.tier)
		rc = tier_blocks(&w);
	else if (rc == 0)
		size_targets(&w);
	if (rc == 0 && !w.tier && (rc = touch_checkpoints(&w, &cl)) < 0)
		fprintf(stderr, "modelshim warmup: lost the daemon: %s\n", strerror(-rc));
	if (rc == 0) {
		rc = run(&w, &cl, wait);
		if (rc < 0)
			fprintf(stderr, "modelshim warmup: lost the daemon: %s\n", strerror(-rc));
	}
	if (connected)
		ms_client_close(&cl);
	for (i = 0; i < (int)w.n; i++)
		free(w.t[i].key);
	free(w.t);
	return rc < 0 || w.failed > 0 ? 1 : 0;
}

const struct cmd_entry cmd_warmup_entry = {
	.name = "warmup",
	.usage = "[--config FILE] [--wait | --no-wait | --tier] [-q] [--from FILE] [--prefix DIR] [PATH...]",
	.summary = "fetch files into the cache before they are read (behind demand reads)",
	.exec = cmd_warmup_exec,
};
