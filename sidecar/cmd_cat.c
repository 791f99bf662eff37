/*
 * cmd_cat.c: `modelshim cat PATH...`: copies virtual files to stdout through the cache, asking
 * the daemon (started if absent) for every range that is not present yet. Bytes are written out
 * only after the map says their chunks are present: an unfilled range is an error, never zeros.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"
#include "cmd.h"
#include "io.h"

#define CAT_BLOCK (1u << 20)

struct cat {
	const struct ms_config *cfg;
	struct ms_client cl;
	int connected;
	char *buf;
};

static int
ensure_daemon(struct cat *c)
{
	if (c->connected)
		return 0;
	if (cmd_connect(&c->cl, c->cfg) < 0)
		return -EIO;
	c->connected = 1;
	return 0;
}

static int
make_present(struct cat *c, const struct ms_mount *m, const char *key, struct ms_cached *obj,
    uint64_t off, uint64_t len, const char *path)
{
	const struct ms_map_header *h = &obj->map.hdr;
	uint32_t first = (uint32_t)(off / h->chunk_size);
	uint32_t end = (uint32_t)((off + len - 1) / h->chunk_size + 1);
	char err[512];
	int rc;

	if (ms_map_range_present(&obj->map, off, len))
		return 0;
	/* Filled meanwhile (by the daemon for another reader)? Our map fd tells, no request. */
	if (ms_map_refresh(&obj->map, first, end) == 0 && ms_map_range_present(&obj->map, off, len))
		return 0;
	if (ensure_daemon(c) < 0) {
		fprintf(stderr, "modelshim cat: %s: cannot reach or start the modelshim daemon\n", path);
		return -EIO;
	}
	rc = ms_client_fill(&c->cl, m->name, key, off, len, obj->ino, 0, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "modelshim cat: %s: %s\n", path, err);
		return rc;
	}
	rc = ms_map_refresh(&obj->map, first, end);
	if (rc == 0 && !ms_map_range_present(&obj->map, off, len))
		rc = -EIO;
	if (rc < 0)
		fprintf(stderr, "modelshim cat: %s: bytes %llu-%llu are not present after a fill\n", path,
		    (unsigned long long)off, (unsigned long long)(off + len - 1));
	return rc;
}

static int
cat_one(struct cat *c, const char *path)
{
	const struct ms_mount *m;
	struct ms_cached obj;
	const char *key;
	uint64_t off, len;
	int rc;

	m = ms_config_mount_for_path(c->cfg, path, &key);
	if (m == NULL) {
		fprintf(stderr, "modelshim cat: %s: not under any mount of %s\n", path, c->cfg->file);
		return -ENOENT;
	}
	rc = key[0] == '\0' ? -EISDIR : ms_cached_open(&obj, c->cfg, m, key);
	if (rc < 0) {
		if (rc == -ESTALE)
			fprintf(stderr, "modelshim cat: %s: cache state does not match: run 'modelshim "
			    "import %s'\n", path, m->name);
		else
			fprintf(stderr, "modelshim cat: %s: %s\n", path, strerror(-rc));
		return rc;
	}
	for (off = 0; off < obj.map.hdr.size && rc == 0; off += len) {
		len = obj.map.hdr.size - off < CAT_BLOCK ? obj.map.hdr.size - off : CAT_BLOCK;
		rc = make_present(c, m, key, &obj, off, len, path);
		if (rc == 0)
			rc = ms_pread_full(obj.data_fd, c->buf, len, (off_t)off);
		if (rc == 0 && (rc = ms_write_full(STDOUT_FILENO, c->buf, len)) < 0)
			fprintf(stderr, "modelshim cat: writing: %s\n", strerror(-rc));
	}
	ms_cached_close(&obj);
	return rc;
}

static int
cmd_cat_exec(int argc, char **argv)
{
	struct ms_config cfg;
	struct cat c;
	int i, failed = 0;

	if (cmd_load_config(&cmd_cat_entry, &argc, argv, &cfg) < 0)
		return 1;
	if (argc < 2)
		return cmd_usage(&cmd_cat_entry);
	memset(&c, 0, sizeof c);
	c.cfg = &cfg;
	c.buf = malloc(CAT_BLOCK);
	if (c.buf == NULL)
		return 1;
	for (i = 1; i < argc; i++)
		if (cat_one(&c, argv[i]) < 0)
			failed = 1;
	if (c.connected)
		ms_client_close(&c.cl);
	free(c.buf);
	return failed;
}

const struct cmd_entry cmd_cat_entry = {
	.name = "cat",
	.usage = "[--config FILE] PATH...",
	.summary = "copy virtual files to stdout through the cache (starts the daemon if needed)",
	.exec = cmd_cat_exec,
};
