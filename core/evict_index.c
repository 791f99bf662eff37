/*
 * evict_index.c: the index of cached objects (evict_index.h): a red-black tree by key, and per
 * mount a binary min-heap of pickable entries plus a FIFO of parked ones. Never does I/O, never
 * reads a clock; an entry is in exactly one of its mount's heap and parked FIFO.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef __unused
#define __unused __attribute__((__unused__)) /* for libbsd's RB_GENERATE_STATIC */
#endif
#include "array.h"
#include "evict_index.h"
#include "keys.h"

static int
key_cmp(const struct ms_evict_entry *a, const struct ms_evict_entry *b)
{
	return ms_key_order(a->mount, a->key, b->mount, b->key);
}
RB_GENERATE_STATIC(ms_evict_keys, ms_evict_entry, by_key, key_cmp)

bool
ms_evict_entry_older(const struct ms_evict_entry *a, const struct ms_evict_entry *b)
{
	if (a->atime != b->atime)
		return a->atime < b->atime;
	return a->seq < b->seq;
}

static void
heap_set(struct ms_evict_mount *m, size_t i, struct ms_evict_entry *e)
{
	m->heap[i] = e;
	e->slot = i;
}

static void
sift_up(struct ms_evict_mount *m, size_t i)
{
	struct ms_evict_entry *e = m->heap[i];

	while (i > 0 && ms_evict_entry_older(e, m->heap[(i - 1) / 2])) {
		heap_set(m, i, m->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(m, i, e);
}

static void
sift_down(struct ms_evict_mount *m, size_t i)
{
	struct ms_evict_entry *e = m->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < m->n) {
		if (c + 1 < m->n && ms_evict_entry_older(m->heap[c + 1], m->heap[c]))
			c++;
		if (!ms_evict_entry_older(m->heap[c], e))
			break;
		heap_set(m, i, m->heap[c]);
		i = c;
	}
	heap_set(m, i, e);
}

/* Puts E back in its place after its key changed, or after another entry took its slot. */
static void
heap_fix(struct ms_evict_mount *m, size_t i)
{
	if (i > 0 && ms_evict_entry_older(m->heap[i], m->heap[(i - 1) / 2]))
		sift_up(m, i);
	else
		sift_down(m, i);
}

static int
heap_push(struct ms_evict_mount *m, struct ms_evict_entry *e)
{
	int rc = ms_array_room(&m->heap, m->n, &m->cap, sizeof *m->heap, 64, 0);

	if (rc < 0)
		return rc;
	heap_set(m, m->n++, e);
	sift_up(m, e->slot);
	return 0;
}

static void
heap_delete(struct ms_evict_mount *m, struct ms_evict_entry *e)
{
	size_t i = e->slot;

	e->slot = MS_EVICT_PARKED;
	if (--m->n == i)
		return;
	heap_set(m, i, m->heap[m->n]);
	heap_fix(m, i);
}

void
ms_evict_index_init(struct ms_evict_index *ix)
{
	unsigned i;

	memset(ix, 0, sizeof *ix);
	RB_INIT(&ix->keys);
	for (i = 0; i < MS_MAX_MOUNTS; i++)
		TAILQ_INIT(&ix->mounts[i].parked);
}

void
ms_evict_index_fini(struct ms_evict_index *ix)
{
	struct ms_evict_entry *e, *next;
	unsigned i;

	RB_FOREACH_SAFE(e, ms_evict_keys, &ix->keys, next) {
		RB_REMOVE(ms_evict_keys, &ix->keys, e);
		free(e->key);
		free(e);
	}
	for (i = 0; i < MS_MAX_MOUNTS; i++)
		free(ix->mounts[i].heap);
	ms_evict_index_init(ix);
}

int
ms_evict_index_add(struct ms_evict_index *ix, unsigned mount, const char *key, uint64_t ino,
    uint64_t bytes, int64_t atime, struct ms_evict_entry **out)
{
	struct ms_evict_entry *e;

	if (mount >= MS_MAX_MOUNTS)
		return -EINVAL;
	if (ms_evict_index_find(ix, mount, key) != NULL)
		return -EEXIST;
	e = calloc(1, sizeof *e);
	if (e == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->mount = mount;
	e->ino = ino;
	e->bytes = bytes;
	e->atime = atime;
	e->seq = ++ix->seq;
	if (heap_push(&ix->mounts[mount], e) < 0) {
		free(e->key);
		free(e);
		return -ENOMEM;
	}
	RB_INSERT(ms_evict_keys, &ix->keys, e);
	ix->n++;
	if (out != NULL)
		*out = e;
	return 0;
}

struct ms_evict_entry *
ms_evict_index_find(struct ms_evict_index *ix, unsigned mount, const char *key)
{
	struct ms_evict_entry find = { .mount = mount, .key = (char *)key };

	return RB_FIND(ms_evict_keys, &ix->keys, &find);
}

void
ms_evict_index_touch(struct ms_evict_index *ix, struct ms_evict_entry *e, int64_t atime)
{
	e->atime = atime;
	e->seq = ++ix->seq;
	if (e->slot != MS_EVICT_PARKED)
		heap_fix(&ix->mounts[e->mount], e->slot);
}

void
ms_evict_index_remove(struct ms_evict_index *ix, struct ms_evict_entry *e)
{
	struct ms_evict_mount *m = &ix->mounts[e->mount];

	if (e->slot == MS_EVICT_PARKED) {
		TAILQ_REMOVE(&m->parked, e, parked_link);
		m->nparked--;
	} else {
		heap_delete(m, e);
	}
	RB_REMOVE(ms_evict_keys, &ix->keys, e);
	ix->n--;
	free(e->key);
	free(e);
}

void
ms_evict_index_park(struct ms_evict_index *ix, struct ms_evict_entry *e)
{
	struct ms_evict_mount *m = &ix->mounts[e->mount];

	if (e->slot == MS_EVICT_PARKED)
		return;
	heap_delete(m, e);
	TAILQ_INSERT_TAIL(&m->parked, e, parked_link);
	m->nparked++;
}

size_t
ms_evict_index_unpark(struct ms_evict_index *ix, uint64_t mounts, size_t max)
{
	struct ms_evict_entry *e;
	struct ms_evict_mount *m;
	size_t done = 0;
	unsigned i;

	/* Round-robin over the mounts, so that one mount's parked entries do not hide another's. */
	for (;;) {
		size_t before = done;

		for (i = 0; i < MS_MAX_MOUNTS && done < max; i++) {
			m = &ix->mounts[i];
			if ((mounts & MS_EVICT_MOUNT_BIT(i)) == 0 || (e = TAILQ_FIRST(&m->parked)) == NULL)
				continue;
			if (heap_push(m, e) < 0)
				return done; /* out of memory: it stays parked */
			TAILQ_REMOVE(&m->parked, e, parked_link);
			m->nparked--;
			done++;
		}
		if (done == before || done == max)
			return done;
	}
}

size_t
ms_evict_index_count(const struct ms_evict_index *ix, uint64_t mounts)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < MS_MAX_MOUNTS; i++)
		if ((mounts & MS_EVICT_MOUNT_BIT(i)) != 0)
			n += ix->mounts[i].n;
	return n;
}

struct ms_evict_entry *
ms_evict_index_oldest(const struct ms_evict_index *ix, uint64_t mounts)
{
	struct ms_evict_entry *best = NULL, *e;
	unsigned i;

	for (i = 0; i < MS_MAX_MOUNTS; i++) {
		if ((mounts & MS_EVICT_MOUNT_BIT(i)) == 0 || ix->mounts[i].n == 0)
			continue;
		e = ix->mounts[i].heap[0];
		if (best == NULL || ms_evict_entry_older(e, best))
			best = e;
	}
	return best;
}

struct ms_evict_entry *
ms_evict_index_nth(const struct ms_evict_index *ix, uint64_t mounts, size_t i)
{
	unsigned k;

	for (k = 0; k < MS_MAX_MOUNTS; k++) {
		if ((mounts & MS_EVICT_MOUNT_BIT(k)) == 0)
			continue;
		if (i < ix->mounts[k].n)
			return ix->mounts[k].heap[i];
		i -= ix->mounts[k].n;
	}
	return NULL;
}
