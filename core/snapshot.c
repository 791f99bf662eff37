/*
 * snapshot.c: the writer of namespace snapshots (snapshot.h). Owns only the XML text: every
 * byte of a key is percent-encoded (EncodingType url), every other field XML-escaped, so any key
 * S3 allows round-trips through ms_s3_list_parse. Must never emit a field the parser would take
 * differently from what was listed: an ETag with a control byte fails the whole snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"
#include "snapshot.h"

static void __attribute__((format(printf, 2, 3)))
put(struct ms_snapshot *sn, const char *fmt, ...)
{
	va_list ap;
	size_t need, cap;
	int n;
	char *p;

	if (sn->rc < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sn->p != NULL ? sn->p + sn->len : NULL, sn->p != NULL ? sn->cap - sn->len : 0,
	    fmt, ap);
	va_end(ap);
	if (n < 0) {
		sn->rc = -EINVAL;
		return;
	}
	need = sn->len + (size_t)n + 1;
	if (sn->p == NULL || need > sn->cap) {
		for (cap = sn->cap ? sn->cap : 64u << 10; cap < need; cap *= 2)
			;
		p = realloc(sn->p, cap);
		if (p == NULL) {
			sn->rc = -ENOMEM;
			return;
		}
		sn->p = p;
		sn->cap = cap;
		va_start(ap, fmt);
		vsnprintf(sn->p + sn->len, sn->cap - sn->len, fmt, ap);
		va_end(ap);
	}
	sn->len += (size_t)n;
}

/* S's XML text with &, <, >, " and ' escaped into OUT; -EINVAL for a control byte. */
static int
xml_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
		    *s == '"' ? "&quot;" : *s == '\'' ? "&apos;" : NULL;
		size_t n = rep != NULL ? strlen(rep) : 1;

		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
		if (o + n >= outlen)
			return -ENAMETOOLONG;
		memcpy(out + o, rep != NULL ? rep : s, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

void
ms_snapshot_begin(struct ms_snapshot *sn, const struct ms_mount *m)
{
	char bucket[6 * MS_NAME_MAX], prefix[3 * MS_KEY_MAX + 1];

	memset(sn, 0, sizeof *sn);
	if (xml_escape(m->bucket, bucket, sizeof bucket) < 0 ||
	    ms_uri_encode(m->prefix, strlen(m->prefix), true, prefix, sizeof prefix) < 0) {
		sn->rc = -EINVAL;
		return;
	}
	put(sn, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
	    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name><Prefix>%s</Prefix>"
	    "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>\n", bucket, prefix);
}

void
ms_snapshot_add(struct ms_snapshot *sn, const struct ms_mount *m, const char *key, uint64_t size,
    int64_t mtime, const char *etag)
{
	char full[MS_PATH_MAX + MS_KEY_MAX + 1], enc[3 * (MS_PATH_MAX + MS_KEY_MAX) + 1];
	char tag[6 * MS_ETAG_MAX], when[32];
	time_t t = (time_t)mtime;
	struct tm tm;
	int n;

	if (sn->rc < 0)
		return;
	n = snprintf(full, sizeof full, "%s%s", m->prefix, key);
	if (n < 0 || (size_t)n >= sizeof full ||
	    ms_uri_encode(full, (size_t)n, true, enc, sizeof enc) < 0 ||
	    xml_escape(etag, tag, sizeof tag) < 0 || gmtime_r(&t, &tm) == NULL) {
		sn->rc = -EINVAL;
		return;
	}
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	put(sn, "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag>"
	    "<Size>%" PRIu64 "</Size></Contents>\n", enc, when, tag, size);
}

int
ms_snapshot_end(struct ms_snapshot *sn)
{
	put(sn, "</ListBucketResult>\n");
	if (sn->rc < 0) {
		free(sn->p);
		sn->p = NULL;
		sn->len = sn->cap = 0;
	}
	return sn->rc;
}
