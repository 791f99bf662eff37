/*
 * lookup.c: a virtual path whose cache file is missing (a stat, access or open found nothing)
 * may name an object uploaded after the import: the daemon is asked once (it asks the store and
 * imports what it finds), and the call is made again. A name the daemon said is missing is not
 * asked again by this process for [cache] lookup_ttl, so loaders that probe many missing names
 * pay one round trip per name, not one per call. Names the namespace could never hold (checked
 * as listings are) are never asked. Never writes, never prints.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <xxhash.h>

#include "clock.h"
#include "keys.h"
#include "shim.h"

#define REMEMBERED 64 /* names this process was told are missing, the oldest replaced first */

static struct {
	uint64_t hash, until_ms;
} missing[REMEMBERED];
static unsigned missing_next;
static pthread_mutex_t missing_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
name_hash(const struct shim_path *p)
{
	return XXH3_64bits_withSeed(p->key, strlen(p->key), p->mount);
}

static bool
remembered_missing(uint64_t hash, uint64_t now)
{
	bool found = false;

	pthread_mutex_lock(&missing_lock);
	for (unsigned i = 0; i < REMEMBERED && !found; i++)
		found = missing[i].hash == hash && missing[i].until_ms > now;
	pthread_mutex_unlock(&missing_lock);
	return found;
}

static void
remember_missing(uint64_t hash, uint64_t now)
{
	pthread_mutex_lock(&missing_lock);
	missing[missing_next].hash = hash;
	missing[missing_next].until_ms = now + shim.cfg.lookup_ttl_ms;
	missing_next = (missing_next + 1) % REMEMBERED;
	pthread_mutex_unlock(&missing_lock);
}

bool
shim_lookup_found(int c, int rc, const struct shim_path *p)
{
	uint64_t hash, now;
	int saved = errno;

	if (c != 1 || rc >= 0 || saved != ENOENT || !shim.cfg.lookup || p->key[0] == '\0' ||
	    ms_key_check(p->key, strlen(p->key)) != MS_KEY_OK)
		return false;
	hash = name_hash(p);
	now = ms_now_ms();
	if (remembered_missing(hash, now))
		return false;
	rc = shim_conn_lookup(p->mount, p->key);
	if (rc == -ENOENT)
		remember_missing(hash, now);
	errno = saved;
	return rc == 0;
}
