/*
 * daemon_lookup.c: names missing from a mount's namespace (MS_MSG_LOOKUP, asked by the shim when
 * a stat or open of a virtual path finds nothing). One HEAD to the origin per name at a time
 * (clients asking meanwhile wait on it); a name the store does not have is remembered for
 * [cache] lookup_ttl and answered ENOENT without asking again; a name it has is imported into
 * the namespace as an import would (its size, Last-Modified and ETag), under the mount's import
 * lock. Keys were checked by the caller (invariant 8); never reads or writes object bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "cache.h"
#include "keys.h"
#include "daemon.h"
#include "log.h"
#include "namespace.h"

#define NEGATIVE_MAX 4096 /* names remembered as missing, the oldest replaced first */
#define PENDING_MAX 256u  /* HEADs in flight; past that a lookup fails with EAGAIN */

struct lookup_waiter {
	struct lookup_waiter *next;
	struct client *cl; /* held with client_ref */
	uint64_t id;
};

/* One HEAD in flight, and the clients that wait for it. */
struct lookup {
	TAILQ_ENTRY(lookup) link;
	struct daemon *d;
	unsigned mount_idx;
	uint64_t hash;
	char *key;
	struct store_xfer *xfer;
	struct lookup_waiter *waiters;
};

struct lookups {
	TAILQ_HEAD(, lookup) pending;
	unsigned npending;
	struct {
		uint64_t hash, until_ms;
	} negative[NEGATIVE_MAX];
	unsigned negative_next;
};

static uint64_t
name_hash(unsigned mount_idx, const char *key)
{
	char id[MS_KEY_PATH_MAX + 16];
	int n = snprintf(id, sizeof id, "%u|%s", mount_idx, key);

	return XXH3_64bits(id, n < (int)sizeof id ? (size_t)n : sizeof id - 1);
}

static bool
negative_fresh(const struct lookups *ls, uint64_t hash, uint64_t now)
{
	for (unsigned i = 0; i < NEGATIVE_MAX; i++)
		if (ls->negative[i].hash == hash && ls->negative[i].until_ms > now)
			return true;
	return false;
}

static void
negative_add(struct daemon *d, uint64_t hash)
{
	struct lookups *ls = d->lookups;

	ls->negative[ls->negative_next].hash = hash;
	ls->negative[ls->negative_next].until_ms = ms_now_ms() + d->cfg.lookup_ttl_ms;
	ls->negative_next = (ls->negative_next + 1) % NEGATIVE_MAX;
}

static void
lookup_free(struct daemon *d, struct lookup *l, int status, const char *msg)
{
	struct lookup_waiter *w;

	while ((w = l->waiters) != NULL) {
		l->waiters = w->next;
		client_reply(d, w->cl, w->id, status, msg);
		client_unref(d, w->cl);
		free(w);
	}
	TAILQ_REMOVE(&d->lookups->pending, l, link);
	d->lookups->npending--;
	free(l->key);
	free(l);
}

/* True if KEY of mount M is in the namespace (its tree file exists). */
static bool
in_namespace(const struct daemon *d, const struct ms_mount *m, const char *key)
{
	char path[MS_OBJECT_PATH_MAX];
	struct stat st;

	return ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, path, sizeof path) == 0 &&
	    lstat(path, &st) == 0;
}

/*
 * The store has KEY (R): into the namespace, under the mount's import lock (not waited for: an
 * import that runs now lists the name itself). 0 or -errno with MSG.
 */
static int
import_found(struct daemon *d, const struct lookup *l, const struct store_lookup *r, char *msg,
    size_t msglen)
{
	const struct ms_mount *m = &d->cfg.mounts[l->mount_idx];
	char path[MS_DIR_FILE_PATH_MAX];
	int fd, rc;

	rc = ms_cache_import_lock_path(&d->cfg, m, path, sizeof path);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		snprintf(msg, msglen, "%s/%s is in the store, but %s", m->path, l->key,
		    rc == -EWOULDBLOCK ? "an import of the mount runs now: it will list it" :
		    strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc == -EWOULDBLOCK ? -EAGAIN : rc;
	}
	rc = in_namespace(d, m, l->key) ? 0 :
	    ms_import_object(&d->cfg, m, l->key, r->size, r->mtime, r->etag);
	close(fd);
	if (rc < 0)
		snprintf(msg, msglen, "%s/%s is in the store, but importing it failed: %s", m->path,
		    l->key, strerror(-rc));
	else
		ms_info("%s/%s: found in the store after import (%llu bytes, ETag %s): imported",
		    m->path, l->key, (unsigned long long)r->size, r->etag);
	return rc;
}

static void
on_looked_up(void *arg, const struct store_lookup *r)
{
	struct lookup *l = arg;
	struct daemon *d = l->d;
	const struct ms_mount *m = &d->cfg.mounts[l->mount_idx];
	char msg[512];
	int rc = r->err;

	l->xfer = NULL;
	if (rc == 0) {
		rc = import_found(d, l, r, msg, sizeof msg);
	} else if (rc == -ENOENT) {
		negative_add(d, l->hash);
		snprintf(msg, sizeof msg, "%s/%s: not in the store either (asked again after %u ms)",
		    m->path, l->key, d->cfg.lookup_ttl_ms);
	} else {
		snprintf(msg, sizeof msg, "%s/%s: looking it up in the store: %s", m->path, l->key,
		    r->what[0] != '\0' ? r->what : strerror(-rc));
		ms_warn("%s", msg);
	}
	lookup_free(d, l, rc, rc == 0 ? NULL : msg);
}

/* Starts the HEAD of KEY: 0 and *OUT (no waiter yet), or -errno with MSG. */
static int
lookup_start(struct daemon *d, unsigned mount_idx, const char *key, uint64_t hash,
    struct lookup **out, char *msg, size_t msglen)
{
	struct lookup *l;
	int rc;

	if (d->lookups->npending >= PENDING_MAX) {
		snprintf(msg, msglen, "too many lookups in flight (%u)", PENDING_MAX);
		return -EAGAIN;
	}
	l = calloc(1, sizeof *l);
	if (l == NULL || (l->key = strdup(key)) == NULL) {
		free(l);
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	l->d = d;
	l->mount_idx = mount_idx;
	l->hash = hash;
	TAILQ_INSERT_TAIL(&d->lookups->pending, l, link);
	d->lookups->npending++;
	rc = d->store->ops->lookup(d->store, mount_idx, l->key, on_looked_up, l, &l->xfer);
	if (rc < 0) {
		snprintf(msg, msglen, "%s/%s: cannot ask the store: %s", d->cfg.mounts[mount_idx].path,
		    key, strerror(-rc));
		lookup_free(d, l, rc, msg);
		return rc;
	}
	*out = l;
	return 0;
}

void
lookup_request(struct daemon *d, struct client *cl, uint64_t id, unsigned mount_idx,
    const char *key)
{
	const struct ms_mount *m = &d->cfg.mounts[mount_idx];
	char path[MS_OBJECT_PATH_MAX], msg[512];
	uint64_t hash = name_hash(mount_idx, key);
	struct lookup_waiter *w;
	struct lookup *l;
	int rc;

	if (!d->cfg.lookup || d->store->ops->lookup == NULL) {
		client_reply(d, cl, id, -ENOENT, "lookups are off ([cache] lookup = off)");
		return;
	}
	if (strcmp(key, m->snapshot) == 0) { /* the namespace snapshot is never a file */
		client_reply(d, cl, id, -ENOENT, "the mount's namespace_snapshot, not one of its files");
		return;
	}
	if (ms_cache_object_path(&d->cfg, m, MS_AREA_TREE, key, path, sizeof path) < 0) {
		client_reply(d, cl, id, -ENAMETOOLONG, "name too long for the cache dir");
		return;
	}
	if (in_namespace(d, m, key)) {
		client_reply(d, cl, id, 0, NULL);
		return;
	}
	if (d->lookups == NULL && (d->lookups = calloc(1, sizeof *d->lookups)) != NULL)
		TAILQ_INIT(&d->lookups->pending);
	if (d->lookups == NULL) {
		client_reply(d, cl, id, -ENOMEM, "out of memory");
		return;
	}
	if (negative_fresh(d->lookups, hash, ms_now_ms())) {
		client_reply(d, cl, id, -ENOENT, "not in the store (asked less than lookup_ttl ago)");
		return;
	}
	TAILQ_FOREACH(l, &d->lookups->pending, link)
		if (l->hash == hash && l->mount_idx == mount_idx && strcmp(l->key, key) == 0)
			break;
	if (l == NULL && (rc = lookup_start(d, mount_idx, key, hash, &l, msg, sizeof msg)) < 0) {
		client_reply(d, cl, id, rc, msg);
		return;
	}
	w = calloc(1, sizeof *w);
	if (w == NULL) { /* the HEAD goes on, for whoever asks next */
		client_reply(d, cl, id, -ENOMEM, "out of memory");
		return;
	}
	w->cl = cl;
	w->id = id;
	w->next = l->waiters;
	l->waiters = w;
	client_ref(cl);
}

void
lookups_fini(struct daemon *d)
{
	struct lookup *l;

	if (d->lookups == NULL)
		return;
	while ((l = TAILQ_FIRST(&d->lookups->pending)) != NULL) {
		if (l->xfer != NULL)
			d->store->ops->abort(d->store, l->xfer);
		lookup_free(d, l, -ESHUTDOWN, "the modelshim daemon is stopping");
	}
	free(d->lookups);
	d->lookups = NULL;
}
