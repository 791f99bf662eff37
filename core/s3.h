/*
 * s3.h: the object-store client for one mount: canonical URLs, SigV4 through libcurl,
 * ListObjectsV2 (paginated) and the snapshots of it that imports share, HEAD, one PUT (a
 * namespace snapshot), and ranged GET set-up for the daemon's curl multi handle.
 * Keys in this API are relative to the mount's prefix; the client adds and strips the prefix.
 * It never writes to the cache and never logs credentials; it writes to the store only when asked
 * to publish a snapshot.
 */
#ifndef MS_S3_H
#define MS_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config.h"
#include "creds.h"

#define MS_KEY_MAX 1024          /* S3's own limit on key length, in bytes */
#define MS_LIST_BODY_MAX (16u << 20) /* cap on one ListObjectsV2 response body */
#define MS_URL_MAX 16384 /* fits any object URL, and list URLs with tokens under 2 KiB */

struct ms_s3;

struct ms_s3_object {
	const char *key;          /* relative to the mount prefix, valid during the callback */
	size_t key_len;           /* its length: it may hold NUL bytes (URL-decoded); over
	                           * MS_KEY_MAX only the first MS_KEY_MAX bytes are in KEY */
	uint64_t size;
	char etag[MS_ETAG_MAX];   /* as the server sent it, quotes included: opaque */
	int64_t mtime;            /* Last-Modified, seconds since the epoch (UTC) */
};

/* Called once per listed object; a non-zero return stops the walk and is returned by ms_s3_list. */
typedef int (*ms_s3_list_fn)(void *arg, const struct ms_s3_object *obj);

/* The client copies what it needs from CFG, M and C. NULL only on allocation failure. */
struct ms_s3 *ms_s3_new(const struct ms_config *cfg, const struct ms_mount *m, const struct ms_creds *c);
void ms_s3_free(struct ms_s3 *s);
/*
 * Replaces the client's credentials with C (a renewal): requests set up from now on are signed
 * with them, those set up before keep what they were signed with. Keys "" (anonymous): requests
 * go unsigned. Not thread-safe against ms_s3_prepare_get.
 */
void ms_s3_set_creds(struct ms_s3 *s, const struct ms_creds *c);

/*
 * Lists every object under the mount's prefix (ListObjectsV2, no delimiter, continuation tokens),
 * with retries on 5xx/429/resets. Keys that do not start with the prefix are skipped.
 * Returns 0, the callback's non-zero value, or -errno with "what: HTTP status, S3 code" in err;
 * on error the callback may already have seen part of the listing. The prefix's own key ("dir/"
 * for prefix "dir/") is skipped too. list and head share one easy handle: one thread at a time.
 */
int ms_s3_list(struct ms_s3 *s, ms_s3_list_fn fn, void *arg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Walks a namespace snapshot (XML, LEN bytes: one whole ListObjectsV2 answer, as
 * core/snapshot.c writes it) like a listing: FN per object under the prefix, prefix stripped.
 * Returns 0, FN's non-zero value, or -EBADMSG with a message for malformed XML or a snapshot
 * that says it is truncated.
 */
int ms_s3_snapshot_walk(struct ms_s3 *s, const char *xml, size_t len, ms_s3_list_fn fn, void *arg,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * HEAD of KEY (relative to the prefix) on the blocking handle, retried like a listing: its size,
 * ETag and Last-Modified (-1 when absent) into OUT (key NULL). Returns 0, -ENOENT (404),
 * -EACCES (refused) or -errno, with a message in ERR. One thread at a time, like ms_s3_list.
 */
int ms_s3_head(struct ms_s3 *s, const char *key, struct ms_s3_object *out, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/*
 * PUT of BODY (LEN bytes) as KEY (relative to the prefix) on the blocking handle, signed with
 * UNSIGNED-PAYLOAD, retried like a listing. Returns 0 or -errno with a message in ERR. The only
 * write this client makes: `modelshim import --publish` (a namespace snapshot).
 */
int ms_s3_put(struct ms_s3 *s, const char *key, const char *body, size_t len, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/*
 * Sets up EASY for a GET of [off, off + len) of KEY, conditional on ETAG (If-Match) when ETAG is
 * not empty. len == 0 asks for the whole object without a Range header. With VIA ("HOST:PORT",
 * a cluster tier node) the request goes there over http, naming and signed for the origin's
 * host all the same (Host header), for the node to forward or answer from its cache. The caller owns EASY and
 * sets its own CURLOPT_WRITEFUNCTION / WRITEDATA / PRIVATE afterwards; *hdrs receives the header
 * list, which the caller frees with curl_slist_free_all after the transfer.
 * Every option it relies on is set on each call, so a reused handle needs no curl_easy_reset; it
 * never touches WRITEFUNCTION, HEADERFUNCTION or PRIVATE. Every body reaches the write function,
 * an error's too (its S3 <Code> names the failure): check CURLINFO_RESPONSE_CODE before taking a
 * byte, and judge the transfer with ms_s3_classify. Thread-safe, also against ms_s3_list on the
 * same S.
 * On error *hdrs is NULL and EASY holds no header list.
 */
int ms_s3_prepare_get(struct ms_s3 *s, CURL *easy, const char *key, uint64_t off, uint64_t len,
    const char *etag, const char *via, struct curl_slist **hdrs) __attribute__((warn_unused_result));

/* What the headers of an answer to a GET or HEAD said, as far as a caller checks them. */
struct ms_s3_answer {
	char etag[MS_ETAG_MAX]; /* "" without an ETag header */
	int tier_hit;           /* X-Modelshim-Tier: HIT (1), something else (0), none (-1) */
	bool have_range;        /* a Content-Range "bytes A-B/TOTAL" */
	uint64_t range_start, range_end, range_total;
};

/* Empties A before an answer; ms_s3_answer_header then takes each header line (N bytes). */
void ms_s3_answer_reset(struct ms_s3_answer *a);
void ms_s3_answer_header(struct ms_s3_answer *a, const char *line, size_t n);
/* The same as a CURLOPT_HEADERFUNCTION, its CURLOPT_HEADERDATA the struct ms_s3_answer. */
size_t ms_s3_answer_curl_header(char *line, size_t size, size_t nmemb, void *answer);

enum ms_s3_verdict {
	MS_S3_OK,        /* 200 or 206 */
	MS_S3_RETRY,     /* 5xx, 429, resets, timeouts, short bodies: try again after a backoff */
	MS_S3_STALE,     /* 412: the object changed since import (If-Match failed) */
	MS_S3_DENIED,    /* 401, 403 */
	MS_S3_NOTFOUND,  /* 404 */
	MS_S3_FATAL,     /* anything else */
};
enum ms_s3_verdict ms_s3_classify(CURLcode cc, long http_status);

/*
 * The words for a transfer to M's endpoint that TLS refused: the server's certificate not
 * trusted (by libcurl's default CAs, or by M's CA file), or the CA file unusable; with what to
 * set. DETAIL (curl's error buffer) may be NULL. True with OUT filled for those, else false.
 */
bool ms_s3_tls_refused(const struct ms_mount *m, CURLcode cc, const char *detail, char *out,
    size_t outlen);
const char *ms_s3_verdict_str(enum ms_s3_verdict v);

/* Pure helpers, exposed for unit tests. */

/*
 * Percent-encodes IN (INLEN bytes): every byte outside A-Za-z0-9-_.~ (and '/' when KEEP_SLASH)
 * becomes %XX (upper-case hex). Returns the output length, or -ENAMETOOLONG if OUT is too small.
 */
int ms_uri_encode(const char *in, size_t inlen, bool keep_slash, char *out, size_t outlen);

/*
 * Parses one ListObjectsV2 response body, calling FN per <Contents> with keys as the server sent
 * them (full keys, not stripped). Sets *truncated and copies NextContinuationToken into TOKEN.
 * Returns 0, the callback's non-zero value, or -EBADMSG with a message for malformed XML,
 * a missing field, a size that is not a number, or a field over its cap.
 */
int ms_s3_list_parse(const char *xml, size_t len, ms_s3_list_fn fn, void *arg, bool *truncated,
    char *token, size_t tokenlen, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Canonical URL of object KEY (relative to M's prefix) in OUT: ENDPOINT/BUCKET/ENC(PREFIX KEY)
 * path-style, SCHEME://BUCKET.HOST[:PORT]/ENC(PREFIX KEY) virtual-hosted; ENC keeps '/'.
 * Returns 0, -EINVAL (empty key, endpoint without "scheme://"), or -ENAMETOOLONG (prefix + key
 * over MS_KEY_MAX bytes, or OUT too small).
 */
int ms_s3_object_url(const struct ms_mount *m, const char *key, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Canonical URL of one ListObjectsV2 page of M's prefix: parameters sorted and fully encoded,
 * "?continuation-token=T&list-type=2&max-keys=1000&prefix=P", without continuation-token when
 * TOKEN is NULL or "" and without prefix when M's prefix is "". Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int ms_s3_list_url(const struct ms_mount *m, const char *token, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * Extracts <Code> and <Message> of an S3 error body (possibly cut short by a cap) into CODE and
 * MSG, truncated to fit, bytes outside printable ASCII replaced by '?'. Either may be NULL.
 * Returns 0 when a <Code> was found, else -EBADMSG (CODE and MSG then hold "").
 */
int ms_s3_error_parse(const char *xml, size_t len, char *code, size_t codelen, char *msg,
    size_t msglen);

/* Parses an HTTP date or ISO 8601 timestamp ("2026-11-25T16:28:57.000Z") to epoch seconds. */
int ms_parse_time(const char *s, int64_t *out) __attribute__((warn_unused_result));

#endif
