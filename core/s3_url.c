/*
 * s3_url.c: percent-encoding and the canonical URLs of objects and ListObjectsV2 pages.
 * libcurl signs exactly the URL it is given, so every URL built here is already in SigV4
 * canonical form. Pure string code: never allocates, never does I/O, never fails silently.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "s3.h"

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == '~';
}

int
ms_uri_encode(const char *in, size_t inlen, bool keep_slash, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			if (outlen - o < 2)
				return -ENAMETOOLONG;
			out[o++] = (char)c;
		} else {
			if (outlen - o < 4)
				return -ENAMETOOLONG;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (outlen - o < 1 || o > INT_MAX)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

/* An output buffer that remembers its first error; OUT is always NUL-terminated. */
struct ubuf {
	char *p;
	size_t cap;
	size_t len;
	int err;
};

static void
ub_put(struct ubuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (n >= b->cap - b->len) {
		b->err = -ENAMETOOLONG;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
ub_str(struct ubuf *b, const char *s)
{
	ub_put(b, s, strlen(s));
}

static void
ub_enc(struct ubuf *b, const char *s, bool keep_slash)
{
	int n;

	if (b->err)
		return;
	n = ms_uri_encode(s, strlen(s), keep_slash, b->p + b->len, b->cap - b->len);
	if (n < 0)
		b->err = n;
	else
		b->len += (size_t)n;
}

/*
 * The part before the key or the query: "ENDPOINT/BUCKET" path-style,
 * "SCHEME://BUCKET.HOST[:PORT]/" virtual-hosted.
 */
static void
ub_base(struct ubuf *b, const struct ms_mount *m)
{
	const char *sep = strstr(m->endpoint, "://");
	size_t elen = strlen(m->endpoint);

	while (elen > 0 && m->endpoint[elen - 1] == '/')
		elen--;
	if (sep == NULL || sep == m->endpoint || (size_t)(sep - m->endpoint) + 3 >= elen ||
	    m->bucket[0] == '\0') {
		b->err = -EINVAL;
		return;
	}
	if (m->virtual_hosted) {
		const char *host = sep + 3;

		ub_put(b, m->endpoint, (size_t)(host - m->endpoint));
		ub_enc(b, m->bucket, false);
		ub_put(b, ".", 1);
		ub_put(b, host, elen - (size_t)(host - m->endpoint));
		ub_put(b, "/", 1);
	} else {
		ub_put(b, m->endpoint, elen);
		ub_put(b, "/", 1);
		ub_enc(b, m->bucket, false);
	}
}

/* Starts B on OUT (OUTLEN bytes) with M's base URL; -ENAMETOOLONG when OUT has no room at all. */
static int
ub_start(struct ubuf *b, const struct ms_mount *m, char *out, size_t outlen)
{
	b->p = out;
	b->cap = outlen;
	b->len = 0;
	b->err = 0;
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	ub_base(b, m);
	return 0;
}

int
ms_s3_object_url(const struct ms_mount *m, const char *key, char *out, size_t outlen)
{
	struct ubuf b;
	int rc;

	if (key == NULL || key[0] == '\0')
		return -EINVAL;
	if (strlen(m->prefix) + strlen(key) > MS_KEY_MAX)
		return -ENAMETOOLONG;
	rc = ub_start(&b, m, out, outlen);
	if (rc < 0)
		return rc;
	if (!m->virtual_hosted)
		ub_put(&b, "/", 1);
	ub_enc(&b, m->prefix, true);
	ub_enc(&b, key, true);
	if (b.err)
		out[0] = '\0';
	return b.err;
}

int
ms_s3_list_url(const struct ms_mount *m, const char *token, char *out, size_t outlen)
{
	struct ubuf b;
	int rc;

	rc = ub_start(&b, m, out, outlen);
	if (rc < 0)
		return rc;
	/*
	 * SigV4 wants the parameters sorted by name: continuation-token < encoding-type < list-type
	 * < max-keys < prefix. encoding-type=url: keys come back percent-encoded, so that any byte
	 * (a control byte XML 1.0 cannot carry) reaches the key checks instead of failing the page.
	 */
	ub_put(&b, "?", 1);
	if (token != NULL && token[0] != '\0') {
		ub_str(&b, "continuation-token=");
		ub_enc(&b, token, false);
		ub_put(&b, "&", 1);
	}
	ub_str(&b, "encoding-type=url&list-type=2&max-keys=1000");
	if (m->prefix[0] != '\0') {
		ub_str(&b, "&prefix=");
		ub_enc(&b, m->prefix, false);
	}
	if (b.err)
		out[0] = '\0';
	return b.err;
}
