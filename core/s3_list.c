/*
 * s3_list.c: parsing what S3 sends back as text: ListObjectsV2 bodies and error bodies (expat),
 * and its timestamps. Every field has a hard cap and every deviation is -EBADMSG with a message;
 * it never trusts the body, never allocates per object, and never does I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "s3.h"

#define LP_SIZE_MAX 32   /* digits of <Size>, with room for stray whitespace */
#define LP_MTIME_MAX 64  /* <LastModified> */
#define LP_TRUNC_MAX 16  /* <IsTruncated> */

enum lp_field { F_NONE, F_KEY, F_SIZE, F_ETAG, F_MTIME, F_TRUNC, F_TOKEN };

static const char *const field_names[] = {
	[F_NONE] = "", [F_KEY] = "Key", [F_SIZE] = "Size", [F_ETAG] = "ETag",
	[F_MTIME] = "LastModified", [F_TRUNC] = "IsTruncated", [F_TOKEN] = "NextContinuationToken",
};

/* The parse of one ListObjectsV2 body. Text of the current field accumulates in buf. */
struct lp {
	XML_Parser xp;
	int depth;
	bool in_contents;
	enum lp_field field;
	char *buf;
	size_t len;
	size_t cap;
	unsigned seen;          /* bit per enum lp_field, within the current <Contents> */
	unsigned seen_top;      /* bit per enum lp_field, at the top level */
	bool url_encoded;       /* <EncodingType>url</EncodingType>: keys are percent-encoded */
	size_t key_len;         /* of the key as sent, also past what key holds */
	char key[3 * MS_KEY_MAX + 1]; /* room for a longest key percent-encoded */
	char size[LP_SIZE_MAX];
	char etag[MS_ETAG_MAX];
	char mtime[LP_MTIME_MAX];
	char trunc[LP_TRUNC_MAX];
	char *token;
	size_t tokenlen;
	ms_s3_list_fn fn;
	void *arg;
	int rc;
	char *err;
	size_t errlen;
};

static void __attribute__((format(printf, 2, 3)))
lp_fail(struct lp *lp, const char *fmt, ...)
{
	va_list ap;

	if (lp->rc != 0)
		return;
	lp->rc = -EBADMSG;
	if (lp->err != NULL && lp->errlen > 0) {
		int n = snprintf(lp->err, lp->errlen, "listing line %lu: ",
		    (unsigned long)XML_GetCurrentLineNumber(lp->xp));

		if (n >= 0 && (size_t)n < lp->errlen) {
			va_start(ap, fmt);
			vsnprintf(lp->err + n, lp->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	XML_StopParser(lp->xp, XML_FALSE);
}

static void
lp_begin(struct lp *lp, enum lp_field f, unsigned *seen)
{
	if (*seen & (1u << f)) {
		lp_fail(lp, "<%s> given twice", field_names[f]);
		return;
	}
	*seen |= 1u << f;
	lp->field = f;
	switch (f) {
	case F_KEY: lp->buf = lp->key; lp->cap = sizeof lp->key; lp->key_len = 0; break;
	case F_SIZE: lp->buf = lp->size; lp->cap = sizeof lp->size; break;
	case F_ETAG: lp->buf = lp->etag; lp->cap = sizeof lp->etag; break;
	case F_MTIME: lp->buf = lp->mtime; lp->cap = sizeof lp->mtime; break;
	case F_TRUNC: lp->buf = lp->trunc; lp->cap = sizeof lp->trunc; break;
	case F_TOKEN: lp->buf = lp->token; lp->cap = lp->tokenlen; break;
	case F_NONE: return;
	}
	lp->len = 0;
	lp->buf[0] = '\0';
}

static void XMLCALL
lp_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct lp *lp = ud;

	(void)atts;
	lp->depth++;
	if (lp->field != F_NONE) {
		lp_fail(lp, "unexpected <%s> inside <%s>", name, field_names[lp->field]);
		return;
	}
	if (lp->depth == 1) {
		if (strcmp(name, "ListBucketResult") != 0)
			lp_fail(lp, "not a ListBucketResult (root element <%s>)", name);
	} else if (lp->depth == 2) {
		if (strcmp(name, "Contents") == 0) {
			lp->in_contents = true;
			lp->seen = 0;
			lp->etag[0] = '\0';
			lp->mtime[0] = '\0';
		} else if (strcmp(name, "IsTruncated") == 0) {
			lp_begin(lp, F_TRUNC, &lp->seen_top);
		} else if (strcmp(name, "NextContinuationToken") == 0) {
			lp_begin(lp, F_TOKEN, &lp->seen_top);
		}
	} else if (lp->depth == 3 && lp->in_contents) {
		if (strcmp(name, "Key") == 0)
			lp_begin(lp, F_KEY, &lp->seen);
		else if (strcmp(name, "Size") == 0)
			lp_begin(lp, F_SIZE, &lp->seen);
		else if (strcmp(name, "ETag") == 0)
			lp_begin(lp, F_ETAG, &lp->seen);
		else if (strcmp(name, "LastModified") == 0)
			lp_begin(lp, F_MTIME, &lp->seen);
	}
}

static void XMLCALL
lp_text(void *ud, const XML_Char *s, int n)
{
	struct lp *lp = ud;

	if (lp->field == F_NONE || n <= 0)
		return;
	if (lp->field == F_KEY)
		lp->key_len += (size_t)n;
	if ((size_t)n >= lp->cap - lp->len) {
		/* An over-long key is one bad object, reported by the caller, not a bad page. */
		if (lp->field == F_KEY) {
			n = (int)(lp->cap - 1 - lp->len);
			memcpy(lp->buf + lp->len, s, (size_t)n);
			lp->len += (size_t)n;
			lp->buf[lp->len] = '\0';
		} else
			lp_fail(lp, "<%s> over %zu bytes", field_names[lp->field], lp->cap - 1);
		return;
	}
	memcpy(lp->buf + lp->len, s, (size_t)n);
	lp->len += (size_t)n;
	lp->buf[lp->len] = '\0';
}

/* Strips ASCII whitespace around S in place; returns S. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Decimal digits only, no sign, no overflow. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes KEY (*LEN bytes, as S3 encodes with encoding-type=url: %XX, '+' for space) in place. */
static int
url_decode(char *key, size_t *len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < *len; i++) {
		if (key[i] == '+') {
			key[o++] = ' ';
		} else if (key[i] == '%') {
			if (i + 2 >= *len || (hi = hexval(key[i + 1])) < 0 || (lo = hexval(key[i + 2])) < 0)
				return -EBADMSG;
			key[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			key[o++] = key[i];
		}
	}
	key[o] = '\0';
	*len = o;
	return 0;
}

static void
lp_object(struct lp *lp)
{
	struct ms_s3_object obj;
	const char *size;
	int rc;

	if (!(lp->seen & (1u << F_KEY))) {
		lp_fail(lp, "<Contents> without <Key>");
		return;
	}
	if (lp->key[0] == '\0') {
		lp_fail(lp, "<Contents> with an empty <Key>");
		return;
	}
	if (!(lp->seen & (1u << F_SIZE))) {
		lp_fail(lp, "<Contents> without <Size> for key \"%s\"", lp->key);
		return;
	}
	memset(&obj, 0, sizeof obj);
	size = trim(lp->size);
	if (parse_u64(size, &obj.size) < 0 || obj.size > INT64_MAX) {
		lp_fail(lp, "size \"%s\" of key \"%s\" is not a number", size, lp->key);
		return;
	}
	if (lp->seen & (1u << F_MTIME)) {
		const char *t = trim(lp->mtime);

		if (ms_parse_time(t, &obj.mtime) < 0) {
			lp_fail(lp, "LastModified \"%s\" of key \"%s\" is not a time", t, lp->key);
			return;
		}
	}
	memcpy(obj.etag, lp->etag, sizeof obj.etag);
	obj.key = lp->key;
	obj.key_len = lp->key_len;
	if (lp->url_encoded && lp->key_len < sizeof lp->key && url_decode(lp->key, &obj.key_len) < 0) {
		lp_fail(lp, "key \"%.64s\" is not URL-encoded although EncodingType is url", lp->key);
		return;
	}
	rc = lp->fn(lp->arg, &obj);
	if (rc != 0) {
		lp->rc = rc;
		XML_StopParser(lp->xp, XML_FALSE);
	}
}

static void XMLCALL
lp_end(void *ud, const XML_Char *name)
{
	struct lp *lp = ud;

	if (lp->field != F_NONE) {
		lp->field = F_NONE;
	} else if (lp->depth == 2 && lp->in_contents) {
		lp->in_contents = false;
		lp_object(lp);
	}
	(void)name;
	lp->depth--;
}

/* No DOCTYPE, hence no entity definitions: S3 never sends one, and entities are an attack surface. */
static void XMLCALL
lp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
    int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	lp_fail(ud, "DOCTYPE declarations are not accepted");
}

static int
run_parser(XML_Parser xp, const char *xml, size_t len, int *rc, char *err, size_t errlen,
    const char *what)
{
	if (len > INT_MAX) {
		snprintf(err, errlen, "%s body over %d bytes", what, INT_MAX);
		return -EFBIG;
	}
	if (XML_Parse(xp, xml != NULL ? xml : "", (int)len, XML_TRUE) == XML_STATUS_OK && *rc == 0)
		return 0;
	if (*rc != 0)
		return *rc;
	snprintf(err, errlen, "%s: malformed XML at line %lu: %s", what,
	    (unsigned long)XML_GetCurrentLineNumber(xp), XML_ErrorString(XML_GetErrorCode(xp)));
	return -EBADMSG;
}

int
ms_s3_list_parse(const char *xml, size_t len, ms_s3_list_fn fn, void *arg, bool *truncated,
    char *token, size_t tokenlen, char *err, size_t errlen)
{
	struct lp lp_s, *lp = &lp_s;
	char dummy[1];
	int rc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	*truncated = false;
	if (token == NULL || tokenlen == 0)
		return -EINVAL;
	token[0] = '\0';
	memset(lp, 0, sizeof *lp);
	lp->xp = XML_ParserCreate("UTF-8");
	if (lp->xp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	lp->token = token;
	lp->tokenlen = tokenlen;
	/*
	 * Known before the first <Contents> whatever the element order: in text '<' is always
	 * escaped, so the marker is markup (or sits in a comment or CDATA, which S3 never sends:
	 * then keys are decoded for nothing, and still checked like any key). A server that
	 * ignores encoding-type (s3rver) sends keys as they are.
	 */
	lp->url_encoded = xml != NULL && memmem(xml, len, "<EncodingType>url</EncodingType>", 32) != NULL;
	lp->fn = fn;
	lp->arg = arg;
	lp->err = err;
	lp->errlen = errlen;
	XML_SetUserData(lp->xp, lp);
	XML_SetElementHandler(lp->xp, lp_start, lp_end);
	XML_SetCharacterDataHandler(lp->xp, lp_text);
	XML_SetStartDoctypeDeclHandler(lp->xp, lp_doctype);
	rc = run_parser(lp->xp, xml, len, &lp->rc, err, errlen, "listing");
	if (rc != 0)
		goto out;
	if (!(lp->seen_top & (1u << F_TRUNC))) {
		snprintf(err, errlen, "listing without <IsTruncated>");
		rc = -EBADMSG;
	} else if (strcmp(trim(lp->trunc), "true") == 0) {
		*truncated = true;
		if (token[0] == '\0') {
			snprintf(err, errlen, "truncated listing without <NextContinuationToken>");
			rc = -EBADMSG;
		}
	} else if (strcmp(trim(lp->trunc), "false") == 0) {
		token[0] = '\0';
	} else {
		snprintf(err, errlen, "IsTruncated \"%s\" is neither true nor false", trim(lp->trunc));
		rc = -EBADMSG;
	}
out:
	if (rc == -EBADMSG)
		*truncated = false;
	if (lp->xp != NULL)
		XML_ParserFree(lp->xp);
	return rc;
}

/* The parse of an S3 error body: <Error><Code>..</Code><Message>..</Message>..</Error>. */
struct ep {
	int depth;
	int field; /* 0: none, 1: Code, 2: Message */
	bool have_code;
	char code[128];
	size_t codelen;
	char msg[512];
	size_t msglen;
};

static void XMLCALL
ep_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct ep *ep = ud;

	(void)atts;
	ep->depth++;
	if (ep->depth != 2)
		return;
	if (strcmp(name, "Code") == 0 && !ep->have_code) {
		ep->field = 1;
		ep->have_code = true;
	} else if (strcmp(name, "Message") == 0 && ep->msglen == 0) {
		ep->field = 2;
	}
}

static void XMLCALL
ep_end(void *ud, const XML_Char *name)
{
	struct ep *ep = ud;

	(void)name;
	if (ep->depth == 2)
		ep->field = 0;
	ep->depth--;
}

static void XMLCALL
ep_text(void *ud, const XML_Char *s, int n)
{
	struct ep *ep = ud;
	char *buf = ep->field == 1 ? ep->code : ep->msg;
	size_t cap = ep->field == 1 ? sizeof ep->code : sizeof ep->msg;
	size_t *len = ep->field == 1 ? &ep->codelen : &ep->msglen;

	if (ep->field == 0 || n <= 0)
		return;
	if ((size_t)n > cap - 1 - *len)
		n = (int)(cap - 1 - *len); /* truncated: it is only for a message */
	memcpy(buf + *len, s, (size_t)n);
	*len += (size_t)n;
	buf[*len] = '\0';
}

/* Copies S into OUT (OUTLEN bytes), printable ASCII only. */
static void
copy_printable(char *out, size_t outlen, const char *s)
{
	size_t i;

	if (out == NULL || outlen == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

int
ms_s3_error_parse(const char *xml, size_t len, char *code, size_t codelen, char *msg,
    size_t msglen)
{
	struct ep ep;
	XML_Parser xp;

	copy_printable(code, codelen, "");
	copy_printable(msg, msglen, "");
	if (xml == NULL || len == 0 || len > INT_MAX)
		return -EBADMSG;
	memset(&ep, 0, sizeof ep);
	xp = XML_ParserCreate("UTF-8");
	if (xp == NULL)
		return -ENOMEM;
	XML_SetUserData(xp, &ep);
	XML_SetElementHandler(xp, ep_start, ep_end);
	XML_SetCharacterDataHandler(xp, ep_text);
	/* A body cut short by the cap ends in a parse error: what came before it still counts. */
	(void)XML_Parse(xp, xml, (int)len, XML_TRUE);
	XML_ParserFree(xp);
	if (!ep.have_code || ep.code[0] == '\0')
		return -EBADMSG;
	copy_printable(code, codelen, ep.code);
	copy_printable(msg, msglen, ep.msg);
	return 0;
}

/* Timestamps. */

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const wday_short[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const wday_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};

/* Exactly N decimal digits at *P. */
static bool
take_num(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
take_lit(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* One of NAMES[0..COUNT), matched whole: the next byte must be END. Its index, or -1. */
static int
take_name(const char **p, const char *const *names, int count, char end)
{
	for (int i = 0; i < count; i++) {
		size_t n = strlen(names[i]);

		if (strncmp(*p, names[i], n) == 0 && (*p)[n] == end) {
			*p += n;
			return i;
		}
	}
	return -1;
}

static bool
take_hms(const char **p, int *h, int *mi, int *sec)
{
	return take_num(p, 2, h) && take_lit(p, ":") && take_num(p, 2, mi) && take_lit(p, ":") &&
	    take_num(p, 2, sec);
}

static int
make_time(int y, int mon, int d, int h, int mi, int sec, int64_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	struct tm tm;

	if (y < 1900 || y > 9999 || mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1] ||
	    (mon == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* "2026-11-25T16:28:57.000Z", fraction optional, "Z" or "+00:00". */
static int
parse_iso(const char *p, int64_t *out)
{
	int y, mon, d, h, mi, sec;

	if (!take_num(&p, 4, &y) || !take_lit(&p, "-") || !take_num(&p, 2, &mon) ||
	    !take_lit(&p, "-") || !take_num(&p, 2, &d) || !take_lit(&p, "T") ||
	    !take_hms(&p, &h, &mi, &sec))
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (!take_lit(&p, "Z") && !take_lit(&p, "+00:00"))
		return -EINVAL;
	if (*p != '\0')
		return -EINVAL;
	return make_time(y, mon, d, h, mi, sec, out);
}

/*
 * The three forms RFC 7231 7.1.1.1 makes recipients accept:
 * "Wed, 25 Nov 2026 16:28:57 GMT", "Wednesday, 25-Nov-26 16:28:57 GMT", "Wed Nov 25 16:28:57 2026".
 */
static int
parse_http_date(const char *p, int64_t *out)
{
	int y, mon, d, h, mi, sec;

	if (take_name(&p, wday_short, 7, ',') >= 0) {
		if (!take_lit(&p, ", ") || !take_num(&p, 2, &d) || !take_lit(&p, " ") ||
		    (mon = take_name(&p, month_names, 12, ' ')) < 0 || !take_lit(&p, " ") ||
		    !take_num(&p, 4, &y) || !take_lit(&p, " ") || !take_hms(&p, &h, &mi, &sec) ||
		    !take_lit(&p, " GMT"))
			return -EINVAL;
	} else if (take_name(&p, wday_long, 7, ',') >= 0) {
		if (!take_lit(&p, ", ") || !take_num(&p, 2, &d) || !take_lit(&p, "-") ||
		    (mon = take_name(&p, month_names, 12, '-')) < 0 || !take_lit(&p, "-") ||
		    !take_num(&p, 2, &y) || !take_lit(&p, " ") || !take_hms(&p, &h, &mi, &sec) ||
		    !take_lit(&p, " GMT"))
			return -EINVAL;
		y += y < 70 ? 2000 : 1900;
	} else if (take_name(&p, wday_short, 7, ' ') >= 0) {
		if (!take_lit(&p, " ") || (mon = take_name(&p, month_names, 12, ' ')) < 0 ||
		    !take_lit(&p, " "))
			return -EINVAL;
		if (*p == ' ') {
			p++;
			if (!take_num(&p, 1, &d))
				return -EINVAL;
		} else if (!take_num(&p, 2, &d)) {
			return -EINVAL;
		}
		if (!take_lit(&p, " ") || !take_hms(&p, &h, &mi, &sec) || !take_lit(&p, " ") ||
		    !take_num(&p, 4, &y))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	return make_time(y, mon + 1, d, h, mi, sec, out);
}

int
ms_parse_time(const char *s, int64_t *out)
{
	if (s == NULL)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '9')
		return parse_iso(s, out);
	return parse_http_date(s, out);
}
