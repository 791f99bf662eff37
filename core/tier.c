/*
 * tier.c: rendezvous hashing of tier blocks onto tier nodes (tier.h). Must never depend on
 * anything a node knows alone (its time, its down marks): every daemon computes the same order.
 */
#include <stdio.h>

#include <xxhash.h>

#include "tier.h"

uint64_t
ms_tier_weight(const struct ms_mount *m, const struct ms_tier *t, unsigned node, const char *key,
    const char *etag, uint64_t off)
{
	char id[MS_NAME_MAX + 3 * MS_PATH_MAX + MS_ETAG_MAX + 64];
	int n;

	n = snprintf(id, sizeof id, "%s|%s|%s|%s%s|%s|%llu", t->nodes[node], m->endpoint, m->bucket,
	    m->prefix, key, etag, (unsigned long long)(off / t->block));
	return XXH3_64bits(id, n < (int)sizeof id ? (size_t)n : sizeof id - 1);
}

unsigned
ms_tier_order(const struct ms_mount *m, const struct ms_tier *t, const char *key,
    const char *etag, uint64_t off, unsigned *order)
{
	uint64_t w[MS_MAX_TIER_NODES];

	/* Insertion sort by weight, highest first: a handful of nodes. */
	for (unsigned i = 0; i < t->nnodes; i++) {
		unsigned j = i;

		w[i] = ms_tier_weight(m, t, i, key, etag, off);
		while (j > 0 && w[order[j - 1]] < w[i]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return t->nnodes;
}
