/*
 * cmd_verify.c: `modelshim verify [--check-only] [MOUNT...]`: reads every chunk the cache holds
 * as present, compares it with the checksum recorded when it was filled, and repairs the ones
 * that differ (bytes flipped on disk behind the daemon's back): the daemon re-checks and drops
 * them, then they are refetched and checked again. Exit 0 when nothing bad is left, 1 otherwise.
 * Never writes the cache itself: dropping and refilling are the daemon's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"
#include "cmd.h"
#include "map.h"
#include "verify.h"
#include "walk.h"

struct verify {
	const struct ms_config *cfg;
	const struct ms_mount *m;
	bool check_only;
	struct ms_client cl;
	bool connected;
	uint8_t *buf;
	uint32_t chunk_size; /* of the object checked last */
	uint64_t objects, chunks, bytes, bad, repaired, failed;
};

/* Checks the present chunks of KEY; their indexes that fail go into *BAD (malloc'd). */
static int
check_object(struct verify *v, const char *key, uint64_t *ino, uint32_t **bad, uint32_t *nbad)
{
	char path[MS_OBJECT_PATH_MAX];
	struct ms_map map = { .fd = -1 };
	struct stat st;
	uint32_t i;
	int fd, rc;

	*nbad = 0;
	*bad = NULL;
	if ((rc = ms_cache_object_path(v->cfg, v->m, MS_AREA_TREE, key, path, sizeof path)) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0)
		rc = ms_cache_object_path(v->cfg, v->m, MS_AREA_STATE, key, path, sizeof path);
	if (rc == 0)
		rc = ms_map_open(&map, path, false);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* Evicted or re-imported between the two opens: nothing of ours to check. */
	if (!ms_map_names(&map, (uint64_t)st.st_ino, (uint64_t)st.st_size))
		goto out;
	*ino = (uint64_t)st.st_ino;
	v->chunk_size = map.hdr.chunk_size;
	v->objects++;
	*bad = calloc(map.present + 1, sizeof **bad);
	if (*bad == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < map.hdr.nchunks; i++) {
		if (!ms_map_has(&map, i))
			continue;
		v->chunks++;
		v->bytes += ms_map_chunk_len(&map.hdr, i);
		rc = ms_verify_chunk(fd, &map, i, v->buf, MS_VERIFY_BUF);
		if (rc == -EBADMSG || rc == -EIO) {
			(*bad)[(*nbad)++] = i;
			rc = 0;
		} else if (rc < 0) {
			break;
		}
	}
out:
	ms_map_close(&map);
	close(fd);
	return rc;
}

/* Has the daemon drop KEY's bad chunks, refetches them and checks them again. */
static int
repair_object(struct verify *v, const char *key, uint64_t ino, const uint32_t *bad, uint32_t nbad)
{
	char err[512];
	uint64_t counted[3];
	uint32_t i, nagain;
	uint32_t *again;
	int rc;

	if (!v->connected) {
		rc = cmd_connect(&v->cl, v->cfg);
		if (rc < 0) {
			fprintf(stderr, "modelshim verify: the daemon could not be reached or started "
			    "(%s); see %s/daemon.log\n", strerror(-rc), v->cfg->cache_dir);
			return rc;
		}
		v->connected = true;
	}
	rc = ms_client_verify(&v->cl, v->m->name, key, ino, err, sizeof err);
	if (rc < 0 && rc != -EBADMSG) {
		fprintf(stderr, "modelshim verify: %s/%s: %s\n", v->m->path, key, err);
		return rc;
	}
	for (i = 0; i < nbad; i++) {
		uint64_t off = (uint64_t)bad[i] * v->chunk_size;

		rc = ms_client_fill(&v->cl, v->m->name, key, off, 1, ino, 0, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "modelshim verify: %s/%s: refetching chunk %u: %s\n",
			    v->m->path, key, bad[i], err);
			return rc;
		}
	}
	/* What the daemon wrote back must now match (checked, not counted again). */
	counted[0] = v->objects;
	counted[1] = v->chunks;
	counted[2] = v->bytes;
	rc = check_object(v, key, &ino, &again, &nagain);
	v->objects = counted[0];
	v->chunks = counted[1];
	v->bytes = counted[2];
	free(again);
	if (rc == 0 && nagain > 0)
		rc = -EBADMSG;
	return rc;
}

static int
verify_map(void *arg, const char *path, const char *key)
{
	struct verify *v = arg;
	uint32_t *bad, nbad, i;
	uint64_t ino = 0;
	int rc;

	(void)path;
	rc = check_object(v, key, &ino, &bad, &nbad);
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "modelshim verify: %s/%s: %s\n", v->m->path, key, strerror(-rc));
		v->failed++;
	}
	if (rc == 0 && nbad > 0) {
		printf("%s/%s: %u chunk%s failed the checksum (chunk", v->m->path, key, nbad,
		    nbad == 1 ? "" : "s");
		for (i = 0; i < nbad && i < 8; i++)
			printf(" %u", bad[i]);
		printf("%s)", nbad > 8 ? " ..." : "");
		v->bad += nbad;
		if (v->check_only) {
			printf("\n");
		} else if (repair_object(v, key, ino, bad, nbad) == 0) {
			printf(": repaired\n");
			v->repaired += nbad;
		} else {
			printf(": NOT repaired\n");
		}
		fflush(stdout);
	}
	free(bad);
	return 0;
}

static int
cmd_verify_exec(int argc, char **argv)
{
	char area[MS_AREA_PATH_MAX], hb[16];
	struct ms_config cfg;
	struct verify v;
	unsigned i;
	int a, named = 0;

	if (cmd_load_config(&cmd_verify_entry, &argc, argv, &cfg) < 0)
		return 1;
	memset(&v, 0, sizeof v);
	v.cfg = &cfg;
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--check-only") == 0)
			v.check_only = true;
		else if (argv[a][0] == '-')
			return cmd_usage(&cmd_verify_entry);
		else if (ms_config_mount_by_name(&cfg, argv[a]) == NULL) {
			fprintf(stderr, "modelshim verify: no mount named '%s' in %s\n", argv[a], cfg.file);
			return 2;
		} else
			named++;
	}
	v.buf = malloc(MS_VERIFY_BUF);
	if (v.buf == NULL)
		return 1;
	for (i = 0; i < cfg.nmounts; i++) {
		bool wanted = named == 0;

		for (a = 1; a < argc && !wanted; a++)
			wanted = strcmp(argv[a], cfg.mounts[i].name) == 0;
		if (!wanted || ms_cache_area(&cfg, &cfg.mounts[i], MS_AREA_STATE, area, sizeof area) < 0)
			continue;
		v.m = &cfg.mounts[i];
		(void)ms_walk_maps(area, verify_map, &v);
	}
	if (v.connected)
		ms_client_close(&v.cl);
	free(v.buf);
	cmd_human(v.bytes, hb, sizeof hb);
	printf("verify: %llu objects, %llu chunks (%s) checked, %llu bad, %llu repaired\n",
	    (unsigned long long)v.objects, (unsigned long long)v.chunks, hb,
	    (unsigned long long)v.bad, (unsigned long long)v.repaired);
	return v.failed > 0 || v.repaired < v.bad ? 1 : 0;
}

const struct cmd_entry cmd_verify_entry = {
	.name = "verify",
	.usage = "[--config FILE] [--check-only] [MOUNT...]",
	.summary = "check cached chunks against their checksums; refetch the bad ones",
	.exec = cmd_verify_exec,
};
