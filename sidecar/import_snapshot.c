/*
 * import_snapshot.c: fetch of a namespace snapshot for `modelshim import` (import_snapshot.h).
 * The HEAD goes to the origin with the mount's credentials: it proves they may read the
 * snapshot at that ETag before any tier byte is taken (a tier hit checks no signature). Each
 * block then goes to the tier nodes in rendezvous order (the same node every daemon's fills
 * would use) and, after them, to the origin; an answer is kept only if it is a 206 of exactly
 * that range of an object of that size and ETag. Blocking: a CLI, never the daemon's loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "errmsg.h"
#include "import_snapshot.h"
#include "log.h"
#include "tier.h"

#define ORIGIN_BLOCK (64ull << 20) /* the request size without a tier */

struct block_get {
	char *dst;              /* where the block goes */
	uint64_t len, got;
	bool overflow;
	struct ms_s3_answer ans;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct block_get *b = arg;
	size_t n = size * nmemb;

	if (n > b->len - b->got) {
		b->overflow = true;
		return 0;
	}
	memcpy(b->dst + b->got, ptr, n);
	b->got += n;
	return n;
}

/*
 * One GET of [OFF, OFF + LEN) of the snapshot (SIZE bytes at ETAG) into DST, via node VIA of
 * tier T or (both NULL) the origin. 0 when the answer is exactly that range of that object; else -errno with
 * what was wrong in WHY.
 */
static int
get_block(struct ms_s3 *s3, CURL *easy, const struct ms_mount *m, const char *etag, uint64_t size,
    uint64_t off, uint64_t len, const struct ms_tier *t, const char *via, char *dst, int *tier_hit,
    char *why, size_t whylen)
{
	struct block_get b = { .dst = dst, .len = len };
	struct curl_slist *hdrs = NULL;
	long http = 0;
	CURLcode cc;
	int rc;

	ms_s3_answer_reset(&b.ans);
	rc = ms_s3_prepare_get(s3, easy, m->snapshot, off, len, etag, via, &hdrs);
	if (rc < 0) {
		snprintf(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, ms_s3_answer_curl_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &b.ans);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
	if (t != NULL) {
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, MS_TIER_CONNECT_MS);
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)(t->timeout_ms + 999) / 1000);
	}
	cc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	*tier_hit = b.ans.tier_hit;
	if (cc != CURLE_OK && !b.overflow) {
		snprintf(why, whylen, "%s", curl_easy_strerror(cc));
		return -EIO;
	}
	if (http == 412) {
		snprintf(why, whylen, "it changed while it was fetched (HTTP 412)");
		return -ESTALE;
	}
	if (http != 206) {
		snprintf(why, whylen, "HTTP %ld", http);
		return http == 401 || http == 403 ? -EACCES : -EIO;
	}
	if (b.overflow || b.got != len || !b.ans.have_range || b.ans.range_start != off ||
	    b.ans.range_end != off + len - 1 || b.ans.range_total != size ||
	    (b.ans.etag[0] != '\0' && strcmp(b.ans.etag, etag) != 0)) {
		snprintf(why, whylen, "the answer is not bytes %llu-%llu/%llu of ETag %s",
		    (unsigned long long)off, (unsigned long long)(off + len - 1),
		    (unsigned long long)size, etag);
		return -EBADMSG;
	}
	return 0;
}

/* Block OFF into DST: its tier nodes in rendezvous order, then the origin. */
static int
fetch_block(struct ms_s3 *s3, CURL *easy, const struct ms_config *cfg, const struct ms_mount *m,
    const char *etag, uint64_t size, uint64_t off, uint64_t len, char *dst,
    struct import_snapshot *out, char *err, size_t errlen)
{
	unsigned order[MS_MAX_TIER_NODES], n = 0;
	const struct ms_tier *t = m->tier >= 0 ? &cfg->tiers[m->tier] : NULL;
	char why[256];
	int rc, hit;

	if (t != NULL)
		n = ms_tier_order(m, t, m->snapshot, etag, off, order);
	out->blocks++;
	for (unsigned i = 0; i < n; i++) {
		rc = get_block(s3, easy, m, etag, size, off, len, t, t->nodes[order[i]], dst, &hit,
		    why, sizeof why);
		if (rc == 0) {
			out->tier_blocks++;
			out->tier_hits += hit == 1;
			return 0;
		}
		ms_warn("snapshot %s: block at %llu from tier node %s: %s; trying the next", m->snapshot,
		    (unsigned long long)off, t->nodes[order[i]], why);
		if (rc == -ESTALE)
			break; /* the origin's answer says what to do */
	}
	rc = get_block(s3, easy, m, etag, size, off, len, NULL, NULL, dst, &hit, why, sizeof why);
	if (rc < 0)
		ms_errf(err, errlen, "snapshot s3://%s/%s%s: block at %llu: %s", m->bucket, m->prefix,
		    m->snapshot, (unsigned long long)off, why);
	return rc;
}

int
import_snapshot_fetch(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 *s3,
    struct import_snapshot *out, char *err, size_t errlen)
{
	const struct ms_tier *t = m->tier >= 0 ? &cfg->tiers[m->tier] : NULL;
	uint64_t block = t != NULL ? t->block : ORIGIN_BLOCK, off, len;
	struct ms_s3_object head;
	CURL *easy;
	int rc;

	memset(out, 0, sizeof *out);
	rc = ms_s3_head(s3, m->snapshot, &head, err, errlen);
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return rc;
	out->age_s = head.mtime >= 0 ? (int64_t)time(NULL) - head.mtime : INT64_MAX;
	if (out->age_s > (int64_t)(m->snapshot_max_age_ms / 1000)) {
		ms_errf(err, errlen, "snapshot s3://%s/%s%s is %s (namespace_snapshot_max_age is %u s)",
		    m->bucket, m->prefix, m->snapshot, head.mtime >= 0 ? "older" : "of unknown age",
		    m->snapshot_max_age_ms / 1000);
		return 1;
	}
	if (head.size == 0 || head.size > IMPORT_SNAPSHOT_MAX) {
		ms_errf(err, errlen, "snapshot s3://%s/%s%s has %llu bytes (from 1 to %llu taken)",
		    m->bucket, m->prefix, m->snapshot, (unsigned long long)head.size,
		    (unsigned long long)IMPORT_SNAPSHOT_MAX);
		return -EFBIG;
	}
	memcpy(out->etag, head.etag, sizeof out->etag);
	out->xml = malloc(head.size);
	easy = curl_easy_init();
	if (out->xml == NULL || easy == NULL) {
		curl_easy_cleanup(easy);
		free(out->xml);
		out->xml = NULL;
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (off = 0; off < head.size && rc == 0; off += len) {
		len = head.size - off < block ? head.size - off : block;
		rc = fetch_block(s3, easy, cfg, m, head.etag, head.size, off, len, out->xml + off, out,
		    err, errlen);
	}
	curl_easy_cleanup(easy);
	if (rc < 0) {
		free(out->xml);
		out->xml = NULL;
		return rc;
	}
	out->len = head.size;
	return 0;
}
