/*
 * creds_sts.c: the answer of STS AssumeRoleWithWebIdentity, parsed with expat: the temporary
 * credentials of its result, or the Code and Message of its ErrorResponse. The document is
 * untrusted: element depth and every text are capped, a DOCTYPE stops the parse, and no
 * credential ever reaches a message. Never does I/O; never linked into the shim.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <expat.h>

#include "creds.h"
#include "s3.h"

#define STS_DEPTH_MAX 16

enum sts_field { F_NONE, F_ID, F_SECRET, F_TOKEN, F_EXPIRATION, F_CODE, F_MESSAGE, F_COUNT };

/* The element path of each field, from the document's root. */
static const char *const paths[F_COUNT][4] = {
	[F_ID] = { "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
	    "Credentials", "AccessKeyId" },
	[F_SECRET] = { "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
	    "Credentials", "SecretAccessKey" },
	[F_TOKEN] = { "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
	    "Credentials", "SessionToken" },
	[F_EXPIRATION] = { "AssumeRoleWithWebIdentityResponse", "AssumeRoleWithWebIdentityResult",
	    "Credentials", "Expiration" },
	[F_CODE] = { "ErrorResponse", "Error", "Code" },
	[F_MESSAGE] = { "ErrorResponse", "Error", "Message" },
};

struct sts_parse {
	XML_Parser xp;
	struct ms_creds *c;
	const char *path[STS_DEPTH_MAX]; /* names of the open elements (the paths' own strings) */
	unsigned depth;
	enum sts_field in;               /* the field whose text is being read, or F_NONE */
	unsigned seen;                   /* 1 << field */
	char expiration[64], code[64], message[256];
	size_t len;                      /* bytes of the current field so far */
	char why[128];                   /* the first error, "" while none */
};

static void
stop(struct sts_parse *p, const char *why)
{
	if (p->why[0] == '\0')
		snprintf(p->why, sizeof p->why, "%s", why);
	XML_StopParser(p->xp, XML_FALSE);
}

/* Where the text of field F goes, and its capacity. */
static char *
field_buf(struct sts_parse *p, enum sts_field f, size_t *cap)
{
	switch (f) {
	case F_ID: *cap = sizeof p->c->access_key; return p->c->access_key;
	case F_SECRET: *cap = sizeof p->c->secret_key; return p->c->secret_key;
	case F_TOKEN: *cap = sizeof p->c->session_token; return p->c->session_token;
	case F_EXPIRATION: *cap = sizeof p->expiration; return p->expiration;
	case F_CODE: *cap = sizeof p->code; return p->code;
	case F_MESSAGE: *cap = sizeof p->message; return p->message;
	default: *cap = 0; return NULL;
	}
}

/* The field whose path the open elements are, or F_NONE; the path's names go on the stack. */
static enum sts_field
match(struct sts_parse *p, const char *name)
{
	for (int f = F_ID; f < F_COUNT; f++) {
		unsigned d = p->depth;
		bool same = d < 4 && paths[f][d] != NULL && strcmp(paths[f][d], name) == 0;

		for (unsigned i = 0; same && i < d; i++)
			same = strcmp(p->path[i], paths[f][i]) == 0;
		if (!same)
			continue;
		p->path[d] = paths[f][d];
		return d + 1 < 4 && paths[f][d + 1] != NULL ? F_NONE : (enum sts_field)f;
	}
	p->path[p->depth] = "";
	return F_NONE;
}

static void
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sts_parse *p = ud;

	(void)atts;
	if (p->depth >= STS_DEPTH_MAX || p->in != F_NONE) {
		stop(p, p->in != F_NONE ? "an element inside a credential field" :
		    "elements nested too deep");
		return;
	}
	p->in = match(p, name);
	p->depth++;
	p->len = 0;
	if (p->in != F_NONE && (p->seen & (1u << p->in)))
		stop(p, "a credential field given twice");
}

static void
on_text(void *ud, const XML_Char *s, int n)
{
	struct sts_parse *p = ud;
	size_t cap;
	char *dst;

	if (p->in == F_NONE || n <= 0)
		return;
	dst = field_buf(p, p->in, &cap);
	if ((size_t)n >= cap - p->len) {
		stop(p, "a field over its size limit");
		return;
	}
	for (int i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t' && s[i] != '\r') {
			stop(p, "a control byte in a field");
			return;
		}
	}
	memcpy(dst + p->len, s, (size_t)n);
	p->len += (size_t)n;
	dst[p->len] = '\0';
}

static void
on_end(void *ud, const XML_Char *name)
{
	struct sts_parse *p = ud;

	(void)name;
	if (p->in != F_NONE)
		p->seen |= 1u << p->in;
	p->in = F_NONE;
	if (p->depth > 0)
		p->depth--;
}

static void
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
    int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(ud, "a DOCTYPE (refused)");
}

/* Blanks around a field's text (STS pretty-prints its answers) are not part of it. */
static void
trim(char *s)
{
	size_t lead = strspn(s, " \t\r\n"), len = strlen(s + lead);

	memmove(s, s + lead, len + 1);
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		s[--len] = '\0';
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			return true;
	return false;
}

static int
verdict(struct sts_parse *p, char *err, size_t errlen)
{
	struct ms_creds *c = p->c;
	const unsigned need = 1u << F_ID | 1u << F_SECRET | 1u << F_TOKEN | 1u << F_EXPIRATION;

	if (p->seen & (1u << F_CODE)) {
		trim(p->code);
		trim(p->message);
		for (char *q = p->message; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
		for (char *q = p->code; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20)
				*q = ' ';
		snprintf(err, errlen, "%s%s%s", p->code, p->message[0] ? ": " : "", p->message);
		return -EACCES;
	}
	if ((p->seen & need) != need) {
		snprintf(err, errlen, "no credentials in the answer (%s is missing)",
		    !(p->seen & (1u << F_ID)) ? "AccessKeyId" : !(p->seen & (1u << F_SECRET)) ?
		    "SecretAccessKey" : !(p->seen & (1u << F_TOKEN)) ? "SessionToken" : "Expiration");
		return -EBADMSG;
	}
	trim(c->access_key);
	trim(c->secret_key);
	trim(c->session_token);
	trim(p->expiration);
	if (!c->access_key[0] || !c->secret_key[0] || !c->session_token[0]) {
		snprintf(err, errlen, "an empty credential field in the answer");
		return -EBADMSG;
	}
	if (has_control(c->access_key) || has_control(c->secret_key) ||
	    has_control(c->session_token)) {
		snprintf(err, errlen, "a line break inside a credential field of the answer");
		return -EBADMSG;
	}
	if (ms_parse_time(p->expiration, &c->expiration) < 0 || c->expiration <= 0) {
		snprintf(err, errlen, "Expiration is not an ISO 8601 time");
		return -EBADMSG;
	}
	return 0;
}

int
ms_creds_sts_parse(const char *xml, size_t len, struct ms_creds *c, char *err, size_t errlen)
{
	struct sts_parse p = { .c = c };
	char dummy[8];
	int rc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	ms_creds_wipe(c);
	if (len > MS_CREDS_JSON_MAX) {
		snprintf(err, errlen, "answer over %u bytes", MS_CREDS_JSON_MAX);
		return -EBADMSG;
	}
	p.xp = XML_ParserCreate("UTF-8");
	if (p.xp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	XML_SetUserData(p.xp, &p);
	XML_SetElementHandler(p.xp, on_start, on_end);
	XML_SetCharacterDataHandler(p.xp, on_text);
	XML_SetStartDoctypeDeclHandler(p.xp, on_doctype);
	if (XML_Parse(p.xp, xml != NULL ? xml : "", (int)len, XML_TRUE) != XML_STATUS_OK) {
		snprintf(err, errlen, "not an STS answer: %s", p.why[0] ? p.why :
		    XML_ErrorString(XML_GetErrorCode(p.xp)));
		rc = -EBADMSG;
	} else {
		rc = verdict(&p, err, errlen);
	}
	XML_ParserFree(p.xp);
	if (rc < 0)
		ms_creds_wipe(c);
	return rc;
}
