/*
 * fuzz_creds_json.c: libFuzzer target for the credentials JSON that a credential_process prints
 * and a container or IMDS endpoint answers (ms_creds_json_parse, json-c), in both flavours: on
 * success the keys are set, bounded and free of control bytes; on failure nothing is left in the
 * struct; the message is one printable line either way. No I/O, no state between runs; built
 * only by scripts/fuzz.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* S (inside CAP bytes) is NUL-terminated and holds no control byte. */
static void
check_field(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);

	CHECK(end != NULL);
	for (; s < end; s++)
		CHECK((unsigned char)*s >= 0x20);
}

static void
one(const uint8_t *data, size_t size, bool process)
{
	static const struct ms_creds zero;
	struct ms_creds c;
	char err[256];
	int rc;

	memset(&c, 'x', sizeof c);
	memset(err, 'x', sizeof err);
	rc = ms_creds_json_parse((const char *)data, size, process, &c, err, sizeof err);
	check_field(err, sizeof err);
	if (rc == 0) {
		check_field(c.access_key, sizeof c.access_key);
		check_field(c.secret_key, sizeof c.secret_key);
		check_field(c.session_token, sizeof c.session_token);
		CHECK(c.access_key[0] != '\0' && c.secret_key[0] != '\0');
		CHECK(c.expiration >= 0);
		CHECK(c.session_token[0] == '\0' || c.expiration > 0);
	} else {
		CHECK(rc == -EBADMSG || rc == -ENOMEM);
		CHECK(memcmp(&c, &zero, sizeof c) == 0);
		CHECK(err[0] != '\0');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, true);
	one(data, size, false);
	return 0;
}
