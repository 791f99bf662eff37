/*
 * fuzz_s3_list.c: libFuzzer target for what the object store sends back as text: one
 * ListObjectsV2 page (ms_s3_list_parse, expat; plain or URL-encoded keys) with every listed key
 * run through the import's key check (ms_key_check) against an independent restatement of its
 * rules (fuzz_keys.h); and the same bytes as an S3 error body (ms_s3_error_parse).
 * Never does I/O and keeps no state between runs; built only by scripts/fuzz.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"
#include "keys.h"
#include "s3.h"

#define TOKEN_MAX 2048 /* S3_TOKEN_MAX of core/s3.c */

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct seen {
	unsigned objects;
};

/*
 * What the import does per listed object (core/namespace.c on_listed): a key over MS_KEY_MAX is
 * refused by its length, any other is checked, on an exact-size heap copy so that ASan sees a
 * read past its end (o->key itself sits inside the parser's larger buffer).
 */
static int
on_object(void *arg, const struct ms_s3_object *o)
{
	struct seen *s = arg;
	size_t len = o->key_len;
	enum ms_key_verdict v;
	char *key;

	s->objects++;
	CHECK(len > 0);
	CHECK(memchr(o->etag, '\0', sizeof o->etag) != NULL);
	CHECK(o->size <= INT64_MAX);
	if (len > MS_KEY_MAX)
		return 0; /* only its first MS_KEY_MAX bytes are promised: refused as too long */
	/* key_len says where the key ends, NUL bytes (URL-decoded %00) included. */
	CHECK(o->key[len] == '\0');
	if (memchr(o->key, '\0', len) == NULL)
		CHECK(strlen(o->key) == len);
	key = malloc(len);
	CHECK(key != NULL);
	memcpy(key, o->key, len);
	v = ms_key_check(key, len);
	CHECK(ms_key_verdict_str(v) != NULL);
	CHECK((v == MS_KEY_OK) == fuzz_key_is_safe(key, len));
	if (v == MS_KEY_DIR_MARKER)
		CHECK(key[len - 1] == '/' && fuzz_key_is_safe(key, len - 1));
	free(key);
	/* A key the callback refuses stops the walk: its value must come back unchanged. */
	if (len == 4 && memcmp(o->key, "stop", 4) == 0)
		return 7;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char token[TOKEN_MAX], err[MS_KEY_MAX + 256], code[128], msg[512];
	struct seen s = { 0 };
	bool truncated = true;
	int rc;

	memset(token, 'x', sizeof token);
	rc = ms_s3_list_parse((const char *)data, size, on_object, &s, &truncated, token,
	    sizeof token, err, sizeof err);
	CHECK(rc == 0 || rc == 7 || rc == -EBADMSG || rc == -ENOMEM);
	CHECK(memchr(token, '\0', sizeof token) != NULL);
	CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (rc == 0 && truncated)
		CHECK(token[0] != '\0');
	if (rc == 0 && !truncated)
		CHECK(token[0] == '\0');
	if (rc == -EBADMSG)
		CHECK(!truncated && err[0] != '\0');
	if (rc == 7)
		CHECK(s.objects > 0);

	/* The same bytes as an error body: Code and Message come back printable and bounded. */
	rc = ms_s3_error_parse((const char *)data, size, code, sizeof code, msg, sizeof msg);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	CHECK(memchr(code, '\0', sizeof code) != NULL && memchr(msg, '\0', sizeof msg) != NULL);
	for (const char *p = code; *p != '\0'; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	for (const char *p = msg; *p != '\0'; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	if (rc == 0)
		CHECK(code[0] != '\0');
	return 0;
}
