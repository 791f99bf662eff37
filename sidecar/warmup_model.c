/*
 * warmup_model.c: a sharded checkpoint's index for `modelshim warmup`: the index file is filled
 * through the daemon, read from the cache, its weight_map parsed with json-c (untrusted: every
 * shard name is held to the import's key rules) and each shard named once. Never fetches a shard
 * itself: cmd_warmup.c warms what this names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cache.h"
#include "io.h"
#include "keys.h"
#include "warmup_model.h"

#define INDEX_MAX (16u << 20)

bool
warm_is_index(const char *key)
{
	size_t n = strlen(key), m = strlen(".index.json");

	return n > m && strcmp(key + n - m, ".index.json") == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The index's bytes, made present through CL and read from the cache. */
static int
read_index(const struct ms_config *cfg, struct ms_client *cl, const struct ms_mount *m,
    const char *key, char **out, size_t *len)
{
	struct ms_cached c;
	char err[256];
	int rc;

	rc = ms_client_fill(cl, m->name, key, 0, 0, 0, 0, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "modelshim warmup: %s/%s: %s\n", m->path, key, rc == MS_CLIENT_LOST ?
		    "lost the daemon" : err[0] != '\0' ? err : strerror(-rc));
		return rc == MS_CLIENT_LOST ? -EIO : rc;
	}
	if ((rc = ms_cached_open(&c, cfg, m, key)) < 0) {
		fprintf(stderr, "modelshim warmup: %s/%s: %s\n", m->path, key, strerror(-rc));
		return rc;
	}
	if (c.map.hdr.size > INDEX_MAX) {
		fprintf(stderr, "modelshim warmup: %s/%s: an index over %u MiB is not read\n", m->path,
		    key, INDEX_MAX >> 20);
		ms_cached_close(&c);
		return -EFBIG;
	}
	*len = (size_t)c.map.hdr.size;
	*out = malloc(*len + 1);
	rc = *out == NULL ? -ENOMEM : ms_pread_full(c.data_fd, *out, *len, 0);
	ms_cached_close(&c);
	if (rc < 0) {
		fprintf(stderr, "modelshim warmup: %s/%s: reading it: %s\n", m->path, key, strerror(-rc));
		free(*out);
	}
	return rc;
}

/* The shard names of weight_map, sorted, in *NAMES (each a json-c string of ROOT). */
static int
shard_names(json_object *root, const char ***names, size_t *n)
{
	json_object *map;
	size_t i = 0;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "weight_map", &map) ||
	    !json_object_is_type(map, json_type_object))
		return -EINVAL;
	*names = calloc((size_t)json_object_object_length(map) + 1, sizeof **names);
	if (*names == NULL)
		return -ENOMEM;
	json_object_object_foreach(map, tensor, shard) {
		(void)tensor;
		if (!json_object_is_type(shard, json_type_string))
			return -EINVAL;
		(*names)[i++] = json_object_get_string(shard);
	}
	qsort(*names, i, sizeof **names, cmp_str);
	*n = i;
	return 0;
}

int
warm_index_shards(const struct ms_config *cfg, struct ms_client *cl, unsigned mount,
    const char *key, int (*add)(void *arg, unsigned mount, const char *key), void *arg)
{
	const struct ms_mount *m = &cfg->mounts[mount];
	const char *slash = strrchr(key, '/'), **names = NULL;
	size_t dirlen = slash != NULL ? (size_t)(slash - key + 1) : 0, len, n = 0, i;
	char shard[MS_KEY_PATH_MAX + 1], *text;
	struct json_tokener *tok;
	json_object *root = NULL;
	int rc;

	if ((rc = read_index(cfg, cl, m, key, &text, &len)) < 0)
		return rc;
	if ((tok = json_tokener_new()) != NULL) {
		root = json_tokener_parse_ex(tok, text, (int)len);
		json_tokener_free(tok);
	}
	free(text);
	rc = root == NULL ? -EINVAL : shard_names(root, &names, &n);
	if (rc < 0)
		fprintf(stderr, "modelshim warmup: %s/%s: not a checkpoint index (a JSON object with a "
		    "weight_map of tensor names to shard file names)\n", m->path, key);
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if (dirlen + strlen(names[i]) > MS_KEY_PATH_MAX ||
		    snprintf(shard, sizeof shard, "%.*s%s", (int)dirlen, key, names[i]) < 0 ||
		    ms_key_check(shard, strlen(shard)) != MS_KEY_OK) {
			fprintf(stderr, "modelshim warmup: %s/%s: refused shard name '%.200s'\n", m->path,
			    key, names[i]);
			rc = -EINVAL;
			break;
		}
		rc = add(arg, mount, shard);
	}
	free(names);
	json_object_put(root);
	return rc;
}
