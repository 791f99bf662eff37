/*
 * creds_json.c: the JSON credentials a credential_process prints and a container or IMDS
 * endpoint answers, parsed with json-c into struct ms_creds. The document is untrusted: every
 * field is type- and length-checked, and no value of it ever reaches a message. Never does I/O;
 * the daemon and the CLI only (never linked into the shim).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "creds.h"
#include "errmsg.h"
#include "s3.h"

/*
 * The string member NAME of OBJ into DST (CAP bytes): 0, -ENOENT when absent (and OPTIONAL), or
 * -EBADMSG with the reason (not a string, empty, too long, control bytes).
 */
static int
take_string(json_object *obj, const char *name, bool optional, char *dst, size_t cap, char *err,
    size_t errlen)
{
	json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, name, &v) || json_object_is_type(v, json_type_null)) {
		if (optional)
			return -ENOENT;
		ms_errf(err, errlen, "\"%s\" is missing", name);
		return -EBADMSG;
	}
	if (!json_object_is_type(v, json_type_string)) {
		ms_errf(err, errlen, "\"%s\" is not a string", name);
		return -EBADMSG;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 && !optional) {
		ms_errf(err, errlen, "\"%s\" is empty", name);
		return -EBADMSG;
	}
	if (len >= cap) {
		ms_errf(err, errlen, "\"%s\" is too long (max %zu characters)", name, cap - 1);
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			ms_errf(err, errlen, "\"%s\" holds a control byte", name);
			return -EBADMSG;
		}
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int
parse_object(json_object *obj, bool process, struct ms_creds *c, char *err, size_t errlen)
{
	char when[64], code[64];
	json_object *v;
	int rc;

	if (!json_object_is_type(obj, json_type_object)) {
		ms_errf(err, errlen, "not a JSON object");
		return -EBADMSG;
	}
	if (process) {
		if (!json_object_object_get_ex(obj, "Version", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1) {
			ms_errf(err, errlen, "\"Version\" is not 1");
			return -EBADMSG;
		}
	} else {
		rc = take_string(obj, "Code", true, code, sizeof code, err, errlen);
		if (rc == -EBADMSG)
			return rc;
		if (rc == 0 && strcmp(code, "Success") != 0) {
			ms_errf(err, errlen, "\"Code\" is not \"Success\"");
			return -EBADMSG;
		}
	}
	if ((rc = take_string(obj, "AccessKeyId", false, c->access_key, sizeof c->access_key, err,
	    errlen)) < 0)
		return rc;
	if ((rc = take_string(obj, "SecretAccessKey", false, c->secret_key, sizeof c->secret_key,
	    err, errlen)) < 0)
		return rc;
	rc = take_string(obj, process ? "SessionToken" : "Token", true, c->session_token,
	    sizeof c->session_token, err, errlen);
	if (rc == -EBADMSG)
		return rc;
	rc = take_string(obj, "Expiration", true, when, sizeof when, err, errlen);
	if (rc == -EBADMSG)
		return rc;
	if (rc == 0 && (ms_parse_time(when, &c->expiration) < 0 || c->expiration <= 0)) {
		ms_errf(err, errlen, "\"Expiration\" is not an ISO 8601 time");
		return -EBADMSG;
	}
	if (rc == -ENOENT && c->session_token[0] != '\0') {
		ms_errf(err, errlen, "temporary credentials (with a token) without \"Expiration\"");
		return -EBADMSG;
	}
	return 0;
}

/* N bytes of P are blanks only (what may follow the document). */
static bool
only_blanks(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

int
ms_creds_json_parse(const char *buf, size_t len, bool process, struct ms_creds *c, char *err,
    size_t errlen)
{
	json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	int rc;

	ms_creds_wipe(c);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > MS_CREDS_JSON_MAX) {
		ms_errf(err, errlen, "over %u bytes", MS_CREDS_JSON_MAX);
		return -EBADMSG;
	}
	tok = json_tokener_new_ex(16);
	if (tok == NULL) {
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		ms_errf(err, errlen, "not valid JSON (%s)", jerr == json_tokener_continue ?
		    "the document ends early" : json_tokener_error_desc(jerr));
		rc = -EBADMSG;
	} else if (!only_blanks(buf + json_tokener_get_parse_end(tok),
	    len - json_tokener_get_parse_end(tok))) {
		ms_errf(err, errlen, "not valid JSON (bytes after the document)");
		rc = -EBADMSG;
	} else {
		rc = parse_object(obj, process, c, err, errlen);
	}
	/* json-c's copies of the strings are freed below; the secret is wiped from ours only. */
	json_object_put(obj);
	json_tokener_free(tok);
	if (rc < 0)
		ms_creds_wipe(c);
	return rc;
}
