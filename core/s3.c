/*
 * s3.c: the S3 client of one mount: SigV4-signed ListObjectsV2, HEAD and PUT on one reusable
 * easy handle (blocking, retried with backoff), the walk of a namespace snapshot, GET set-up for the daemon's multi handle, and the
 * verdict table every transfer is judged by. It never touches the cache, and never logs or keeps
 * credentials anywhere but its own struct (wiped on free).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h> /* arc4random_uniform, through libbsd's overlay */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "errmsg.h"
#include "log.h"
#include "plan.h"
#include "s3.h"

#define S3_ERRBODY_MAX (16u << 10) /* kept of an error body: enough for <Code> and <Message> */
#define S3_TOKEN_MAX 2048          /* NextContinuationToken */
#define S3_DEFAULT_TIMEOUT_MS 30000u
/*
 * Below this rate for a whole [cache] timeout a transfer counts as stalled: a server that
 * trickles a byte now and then must not hold a reader for hours. Far under any real store's
 * rate, and under what max_bandwidth leaves a connection unless set to a few KiB/s.
 */
#define S3_MIN_SPEED 1024L

struct s3_body {
	char *p;
	size_t len;
	size_t cap;
	bool too_big;  /* a 2xx body went past MS_LIST_BODY_MAX */
	bool nomem;
};

/*
 * list uses EASY (connection reuse): one caller at a time. prepare_get reads only
 * what ms_s3_new set and may run on any thread, concurrently with list.
 */
struct ms_s3 {
	struct ms_mount m;
	struct ms_creds creds;
	char sigv4[MS_NAME_MAX + 16];
	char where[MS_NAME_MAX + MS_PATH_MAX + 8]; /* "s3://BUCKET/PREFIX", for messages */
	unsigned timeout_ms;
	unsigned attempts;
	CURL *easy;
	char curl_err[CURL_ERROR_SIZE];
	struct s3_body body;
	char url[MS_URL_MAX];
};

struct ms_s3 *
ms_s3_new(const struct ms_config *cfg, const struct ms_mount *m, const struct ms_creds *c)
{
	struct ms_s3 *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	s->easy = curl_easy_init();
	if (s->easy == NULL) {
		free(s);
		return NULL;
	}
	s->m = *m;
	s->creds = *c;
	snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", m->region[0] ? m->region : "us-east-1");
	snprintf(s->where, sizeof s->where, "s3://%s/%s", m->bucket, m->prefix);
	s->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : S3_DEFAULT_TIMEOUT_MS;
	s->attempts = cfg->retries ? cfg->retries : 1;
	return s;
}

void
ms_s3_free(struct ms_s3 *s)
{
	if (s == NULL)
		return;
	curl_easy_cleanup(s->easy);
	free(s->body.p);
	explicit_bzero(s, sizeof *s);
	free(s);
}

void
ms_s3_set_creds(struct ms_s3 *s, const struct ms_creds *c)
{
	s->creds = *c;
}

/* Wipes header values (the session token) before freeing a header list. */
static void
free_headers(struct curl_slist *h)
{
	for (struct curl_slist *l = h; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
}

static int
add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);

	if (n == NULL)
		return -ENOMEM;
	*h = n;
	return 0;
}

/*
 * Everything a signed request to URL needs on E, set unconditionally so a reused handle needs
 * no curl_easy_reset: method (GET), SigV4, the header list (into *HDRS, which
 * the caller frees after the transfer), timeouts. RANGE and ETAG may be NULL.
 */
static int
s3_setup(const struct ms_s3 *s, CURL *e, const char *url, const char *range,
    const char *etag, const char *host, struct curl_slist **hdrs)
{
	char line[sizeof s->creds.session_token + 32];
	char userpwd[sizeof s->creds.access_key + sizeof s->creds.secret_key + 2];
	struct curl_slist *h = NULL;
	CURLcode cc = CURLE_OK;
	bool anonymous = s->creds.access_key[0] == '\0';
	int rc;

	*hdrs = NULL;
	if (anonymous) /* a public bucket: no signature, no x-amz-* header */
		rc = 0;
	else
		rc = add_header(&h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (rc == 0 && s->creds.session_token[0] != '\0') {
		snprintf(line, sizeof line, "x-amz-security-token: %s", s->creds.session_token);
		rc = add_header(&h, line);
		explicit_bzero(line, sizeof line);
	}
	if (rc == 0 && range != NULL)
		rc = add_header(&h, range);
	if (rc == 0 && etag != NULL) {
		snprintf(line, sizeof line, "If-Match: %s", etag);
		rc = add_header(&h, line);
	}
	if (rc == 0 && host != NULL) {
		snprintf(line, sizeof line, "Host: %s", host);
		rc = add_header(&h, line);
	}
	if (rc < 0)
		goto out;

	snprintf(userpwd, sizeof userpwd, "%s:%s", s->creds.access_key, s->creds.secret_key);
	cc = curl_easy_setopt(e, CURLOPT_USERPWD, anonymous ? NULL : userpwd);
	explicit_bzero(userpwd, sizeof userpwd);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_URL, url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
	if (cc == CURLE_OK) /* keys may hold "." and ".." segments: never squash them */
		cc = curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_RANGE, NULL);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_AWS_SIGV4, anonymous ? NULL : s->sigv4);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, S3_MIN_SPEED);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((s->timeout_ms + 999) / 1000));
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/* The mount's CA file (ca_bundle, AWS_CA_BUNDLE); without one, libcurl's default CAs. */
	if (cc == CURLE_OK && s->m.ca_bundle[0] != '\0')
		cc = curl_easy_setopt(e, CURLOPT_CAINFO, s->m.ca_bundle);
	if (cc != CURLE_OK)
		rc = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
out:
	explicit_bzero(line, sizeof line);
	if (rc < 0) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
		free_headers(h);
		return rc;
	}
	*hdrs = h;
	return 0;
}

int
ms_s3_prepare_get(struct ms_s3 *s, CURL *easy, const char *key, uint64_t off, uint64_t len,
    const char *etag, const char *via, struct curl_slist **hdrs)
{
	char url[MS_URL_MAX], via_url[MS_URL_MAX], host[512];
	const char *authority;
	char range[64];
	size_t alen;
	int rc;

	*hdrs = NULL;
	if (len > 0 && len - 1 > UINT64_MAX - off)
		return -EINVAL;
	if (etag != NULL && (strlen(etag) >= MS_ETAG_MAX || strpbrk(etag, "\r\n") != NULL))
		return -EINVAL;
	rc = ms_s3_object_url(&s->m, key, url, sizeof url);
	if (rc < 0)
		return rc;
	snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
	if (via != NULL) {
		/* The same request, sent to VIA: signed for, and naming, the origin's host. */
		authority = strstr(url, "://") + 3;
		alen = strcspn(authority, "/");
		if (alen >= sizeof host || snprintf(via_url, sizeof via_url, "http://%s%s", via,
		    authority + alen) >= (int)sizeof via_url)
			return -ENAMETOOLONG;
		memcpy(host, authority, alen);
		host[alen] = '\0';
	}
	/* Error bodies reach the caller (no CURLOPT_FAILONERROR): their <Code> names the failure. */
	return s3_setup(s, easy, via != NULL ? via_url : url, len > 0 ? range : NULL,
	    etag != NULL && etag[0] != '\0' ? etag : NULL, via != NULL ? host : NULL, hdrs);
}

enum ms_s3_verdict
ms_s3_classify(CURLcode cc, long http_status)
{
	switch (cc) {
	case CURLE_OK:
	case CURLE_HTTP_RETURNED_ERROR: /* with CURLOPT_FAILONERROR: the status says what happened */
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return MS_S3_RETRY;
	default:
		return MS_S3_FATAL;
	}
	if (cc == CURLE_OK && (http_status == 200 || http_status == 206))
		return MS_S3_OK;
	if (http_status == 412)
		return MS_S3_STALE;
	if (http_status == 401 || http_status == 403)
		return MS_S3_DENIED;
	if (http_status == 404)
		return MS_S3_NOTFOUND;
	if ((http_status >= 500 && http_status <= 599) || http_status == 429 || http_status == 408)
		return MS_S3_RETRY;
	return MS_S3_FATAL;
}

const char *
ms_s3_verdict_str(enum ms_s3_verdict v)
{
	switch (v) {
	case MS_S3_OK: return "ok";
	case MS_S3_RETRY: return "retry";
	case MS_S3_STALE: return "stale";
	case MS_S3_DENIED: return "denied";
	case MS_S3_NOTFOUND: return "not found";
	case MS_S3_FATAL: return "fatal";
	}
	return "unknown";
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Collects a response body: 2xx up to MS_LIST_BODY_MAX (else abort), others the first bytes. */
static size_t
body_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct ms_s3 *s = ud;
	struct s3_body *b = &s->body;
	size_t n = size * nmemb;
	long status = 0;
	size_t max;

	if (n == 0)
		return 0;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	max = status >= 200 && status < 300 ? MS_LIST_BODY_MAX : S3_ERRBODY_MAX;
	if (n > max - b->len) {
		if (max == MS_LIST_BODY_MAX) {
			b->too_big = true;
			return 0;
		}
		n = max - b->len;
		if (n == 0)
			return size * nmemb;
	}
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64u << 10;
		char *p;

		while (cap - b->len < n)
			cap *= 2;
		if (cap > max)
			cap = max;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->nomem = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	return size * nmemb;
}

/* The outcome of one request on the blocking handle, after retries. */
struct s3_result {
	enum ms_s3_verdict verdict;
	CURLcode cc;
	long status;
	unsigned attempts;
};

/* A request other than a GET on the blocking handle: a HEAD's answer, or a PUT's body. */
struct s3_req {
	bool head;
	const char *put; /* a PUT of PUT_LEN bytes, sent from PUT_OFF on */
	size_t put_len, put_off;
	struct ms_s3_answer ans; /* a HEAD's headers */
};

static size_t
put_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *q = ud;
	size_t n = size * nmemb;

	if (n > q->put_len - q->put_off)
		n = q->put_len - q->put_off;
	memcpy(buf, q->put + q->put_off, n);
	q->put_off += n;
	return n;
}

void
ms_s3_answer_reset(struct ms_s3_answer *a)
{
	memset(a, 0, sizeof *a);
	a->tier_hit = -1;
}

size_t
ms_s3_answer_curl_header(char *line, size_t size, size_t nmemb, void *answer)
{
	ms_s3_answer_header(answer, line, size * nmemb);
	return size * nmemb;
}

void
ms_s3_answer_header(struct ms_s3_answer *a, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	unsigned long long start, end, total;
	char value[MS_ETAG_MAX + 64];
	size_t vlen;

	if (colon == NULL)
		return;
	vlen = n - (size_t)(colon + 1 - line);
	if (vlen >= sizeof value)
		vlen = sizeof value - 1;
	memcpy(value, colon + 1, vlen);
	value[vlen] = '\0';
	value[strcspn(value, "\r\n")] = '\0';
	if ((size_t)(colon - line) == 4 && strncasecmp(line, "etag", 4) == 0) {
		strlcpy(a->etag, value + strspn(value, " \t"), sizeof a->etag);
	} else if ((size_t)(colon - line) == 16 && strncasecmp(line, "x-modelshim-tier", 16) == 0) {
		a->tier_hit = strcmp(value + strspn(value, " \t"), "HIT") == 0;
	} else if ((size_t)(colon - line) == 13 && strncasecmp(line, "content-range", 13) == 0 &&
	    sscanf(value, " bytes %llu-%llu/%llu", &start, &end, &total) == 3) {
		a->have_range = true;
		a->range_start = start;
		a->range_end = end;
		a->range_total = total;
	}
}

/*
 * Performs a GET of s->url on s->easy (a HEAD or a PUT with Q), retrying RETRY verdicts up to
 * s->attempts times. Returns 0 with the last outcome in R, or -ENOMEM / -EFBIG (body over
 * MS_LIST_BODY_MAX).
 */
static int
s3_perform(struct ms_s3 *s, const char *what, const char *who, struct s3_req *q,
    struct s3_result *r)
{
	struct curl_slist *hdrs = NULL;
	int rc = 0;

	for (r->attempts = 1;; r->attempts++) {
		s->body.len = 0;
		s->body.too_big = s->body.nomem = false;
		s->curl_err[0] = '\0';
		curl_easy_reset(s->easy); /* keeps the connection cache */
		rc = s3_setup(s, s->easy, s->url, NULL, NULL, NULL, &hdrs);
		if (rc < 0)
			return rc;
		curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
		curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
		if (q != NULL && q->head) {
			ms_s3_answer_reset(&q->ans);
			curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
			curl_easy_setopt(s->easy, CURLOPT_FILETIME, 1L);
			curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, ms_s3_answer_curl_header);
			curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, &q->ans);
		} else if (q != NULL && q->put != NULL) {
			q->put_off = 0;
			curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, put_read);
			curl_easy_setopt(s->easy, CURLOPT_READDATA, q);
			curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->put_len);
		}
		r->cc = curl_easy_perform(s->easy);
		r->status = 0;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL);
		free_headers(hdrs);
		if (s->body.nomem)
			return -ENOMEM;
		if (s->body.too_big)
			return -EFBIG;
		r->verdict = ms_s3_classify(r->cc, r->status);
		if (r->verdict != MS_S3_RETRY || r->attempts >= s->attempts)
			return 0;
		unsigned ms = ms_backoff_ms(r->attempts);
		if (r->cc != CURLE_OK && r->cc != CURLE_HTTP_RETURNED_ERROR)
			ms_debug("%s %s: %s, retry %u/%u in %u ms", what, who,
			    curl_easy_strerror(r->cc), r->attempts, s->attempts - 1, ms);
		else
			ms_debug("%s %s: HTTP %ld, retry %u/%u in %u ms", what, who, r->status,
			    r->attempts, s->attempts - 1, ms);
		sleep_ms(ms);
	}
}

bool
ms_s3_tls_refused(const struct ms_mount *m, CURLcode cc, const char *detail, char *out,
    size_t outlen)
{
	char why[CURL_ERROR_SIZE + 4] = "";

	if (detail != NULL && detail[0] != '\0')
		snprintf(why, sizeof why, " (%s)", detail);
	if (cc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(out, outlen, "the CA file %s could not be loaded%s: ca_bundle and "
		    "AWS_CA_BUNDLE name a PEM file of CA certificates", m->ca_bundle, why);
		return true;
	}
	if (cc != CURLE_PEER_FAILED_VERIFICATION && cc != CURLE_SSL_ISSUER_ERROR)
		return false;
	if (m->ca_bundle[0] == '\0')
		snprintf(out, outlen, "the TLS certificate of %s was not trusted%s: name the CA that "
		    "signed it with ca_bundle = FILE in [mount \"%s\"] or AWS_CA_BUNDLE", m->endpoint,
		    why, m->name);
	else
		snprintf(out, outlen, "the TLS certificate of %s was not trusted with the CA file %s%s: "
		    "it must hold the CA that signed the certificate, for this host name", m->endpoint,
		    m->ca_bundle, why);
	return true;
}

/*
 * The message and errno of a request that did not end in MS_S3_OK (NOTFOUND is the caller's).
 * WHAT names the request, WHO the s3:// resource.
 */
static int
s3_fail(struct ms_s3 *s, const struct s3_result *r, const char *what, const char *who,
    char *err, size_t errlen)
{
	char code[128] = "", msg[256] = "", detail[420] = "", tries[32] = "";
	char tls[MS_PATH_MAX + CURL_ERROR_SIZE + 600];

	if (ms_s3_error_parse(s->body.p, s->body.len, code, sizeof code, msg, sizeof msg) == 0)
		snprintf(detail, sizeof detail, " %s%s%s", code, msg[0] ? ": " : "", msg);
	if (r->attempts > 1)
		snprintf(tries, sizeof tries, " (after %u attempts)", r->attempts);
	if (ms_s3_tls_refused(&s->m, r->cc, s->curl_err, tls, sizeof tls)) {
		ms_errf(err, errlen, "%s %s: %s", what, who, tls);
		return -EIO;
	}
	if (r->cc != CURLE_OK && r->cc != CURLE_HTTP_RETURNED_ERROR) {
		ms_errf(err, errlen, "%s %s: %s%s%s%s%s", what, who, curl_easy_strerror(r->cc),
		    s->curl_err[0] ? " (" : "", s->curl_err, s->curl_err[0] ? ")" : "", tries);
		return r->cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	if (r->verdict == MS_S3_DENIED) {
		ms_errf(err, errlen, "access denied by %s (HTTP %ld%s): check the credentials", who,
		    r->status, detail);
		return -EACCES;
	}
	ms_errf(err, errlen, "%s %s: HTTP %ld%s%s", what, who, r->status, detail, tries);
	return -EIO;
}

/* Hands objects under the mount prefix to the caller with the prefix stripped. */
struct strip {
	const char *prefix;
	size_t plen;
	ms_s3_list_fn fn;
	void *arg;
	unsigned long skipped;
};

static int
strip_prefix(void *arg, const struct ms_s3_object *obj)
{
	struct strip *st = arg;
	struct ms_s3_object rel;

	if (obj->key_len <= st->plen || strncmp(obj->key, st->prefix, st->plen) != 0) {
		st->skipped++; /* outside the prefix, or the prefix's own "folder" object */
		return 0;
	}
	rel = *obj;
	rel.key = obj->key + st->plen;
	rel.key_len = obj->key_len - st->plen;
	return st->fn(st->arg, &rel);
}

int
ms_s3_list(struct ms_s3 *s, ms_s3_list_fn fn, void *arg, char *err, size_t errlen)
{
	char token[S3_TOKEN_MAX], prev[S3_TOKEN_MAX], perr[MS_KEY_MAX + 256];
	struct strip st = { .prefix = s->m.prefix, .plen = strlen(s->m.prefix), .fn = fn, .arg = arg };
	struct s3_result r;
	unsigned long page;
	bool truncated = true;
	int rc = 0;

	token[0] = '\0';
	for (page = 1; truncated; page++) {
		rc = ms_s3_list_url(&s->m, token, s->url, sizeof s->url);
		if (rc < 0) {
			ms_errf(err, errlen, "list %s: cannot build the request URL (%s)", s->where,
			    strerror(-rc));
			goto out;
		}
		rc = s3_perform(s, "list", s->where, NULL, &r);
		if (rc == -EFBIG) {
			ms_errf(err, errlen, "list %s: page %lu is over %u bytes", s->where, page,
			    MS_LIST_BODY_MAX);
			goto out;
		} else if (rc < 0) {
			ms_errf(err, errlen, "list %s: %s", s->where, strerror(-rc));
			goto out;
		}
		if (r.verdict == MS_S3_NOTFOUND) {
			ms_errf(err, errlen, "bucket %s not found at %s (HTTP 404)", s->m.bucket,
			    s->m.endpoint);
			rc = -ENOENT;
			goto out;
		}
		if (r.verdict != MS_S3_OK) {
			rc = s3_fail(s, &r, "list", s->where, err, errlen);
			goto out;
		}
		memcpy(prev, token, sizeof prev);
		perr[0] = '\0';
		rc = ms_s3_list_parse(s->body.p, s->body.len, strip_prefix, &st, &truncated, token,
		    sizeof token, perr, sizeof perr);
		if (rc != 0) {
			if (perr[0] != '\0') /* else the callback's own value, passed through */
				ms_errf(err, errlen, "list %s: page %lu: %s", s->where, page, perr);
			goto out;
		}
		if (truncated && strcmp(token, prev) == 0) {
			ms_errf(err, errlen, "list %s: page %lu: the server repeated its continuation token",
			    s->where, page);
			rc = -EBADMSG;
			goto out;
		}
	}
	if (st.skipped > 0)
		ms_debug("list %s: skipped %lu keys outside the prefix", s->where, st.skipped);
out:
	free(s->body.p); /* up to MS_LIST_BODY_MAX: not worth keeping between listings */
	s->body.p = NULL;
	s->body.len = s->body.cap = 0;
	return rc;
}

int
ms_s3_head(struct ms_s3 *s, const char *key, struct ms_s3_object *out, char *err, size_t errlen)
{
	struct s3_req q = { .head = true };
	char who[MS_NAME_MAX + 2 * MS_PATH_MAX + 8];
	curl_off_t length = -1;
	struct s3_result r;
	long mtime = -1;
	int rc;

	snprintf(who, sizeof who, "s3://%s/%s%s", s->m.bucket, s->m.prefix, key);
	rc = ms_s3_object_url(&s->m, key, s->url, sizeof s->url);
	if (rc == 0)
		rc = s3_perform(s, "HEAD", who, &q, &r);
	if (rc < 0) {
		ms_errf(err, errlen, "HEAD %s: %s", who, strerror(-rc));
		return rc;
	}
	if (r.verdict == MS_S3_NOTFOUND) {
		ms_errf(err, errlen, "%s: no such object (HTTP 404)", who);
		return -ENOENT;
	}
	if (r.verdict != MS_S3_OK)
		return s3_fail(s, &r, "HEAD", who, err, errlen);
	curl_easy_getinfo(s->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	curl_easy_getinfo(s->easy, CURLINFO_FILETIME, &mtime);
	if (length < 0 || q.ans.etag[0] == '\0') {
		ms_errf(err, errlen, "HEAD %s: the answer has no %s", who,
		    length < 0 ? "Content-Length" : "ETag");
		return -EBADMSG;
	}
	memset(out, 0, sizeof *out);
	out->size = (uint64_t)length;
	out->mtime = mtime;
	memcpy(out->etag, q.ans.etag, sizeof out->etag);
	return 0;
}

int
ms_s3_put(struct ms_s3 *s, const char *key, const char *body, size_t len, char *err,
    size_t errlen)
{
	struct s3_req q = { .put = body, .put_len = len };
	char who[MS_NAME_MAX + 2 * MS_PATH_MAX + 8];
	struct s3_result r;
	int rc;

	snprintf(who, sizeof who, "s3://%s/%s%s", s->m.bucket, s->m.prefix, key);
	rc = ms_s3_object_url(&s->m, key, s->url, sizeof s->url);
	if (rc == 0)
		rc = s3_perform(s, "PUT", who, &q, &r);
	if (rc < 0) {
		ms_errf(err, errlen, "PUT %s: %s", who, strerror(-rc));
		return rc;
	}
	if (r.verdict != MS_S3_OK)
		return s3_fail(s, &r, "PUT", who, err, errlen);
	return 0;
}

int
ms_s3_snapshot_walk(struct ms_s3 *s, const char *xml, size_t len, ms_s3_list_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct strip st = { .prefix = s->m.prefix, .plen = strlen(s->m.prefix), .fn = fn, .arg = arg };
	char token[S3_TOKEN_MAX], perr[MS_KEY_MAX + 256] = "";
	bool truncated = false;
	int rc;

	rc = ms_s3_list_parse(xml, len, strip_prefix, &st, &truncated, token, sizeof token, perr,
	    sizeof perr);
	if (rc != 0) {
		if (perr[0] != '\0')
			ms_errf(err, errlen, "%s", perr);
		return rc;
	}
	if (truncated) {
		ms_errf(err, errlen, "it says it is truncated (IsTruncated): a snapshot holds a whole "
		    "listing");
		return -EBADMSG;
	}
	return 0;
}
