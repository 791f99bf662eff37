/*
 * fuzz_creds_sts.c: libFuzzer target for STS AssumeRoleWithWebIdentity answers
 * (ms_creds_sts_parse, expat): on success the four credential fields are set, bounded and free
 * of control bytes; an ErrorResponse gives -EACCES with a printable message; anything else
 * -EBADMSG; on failure nothing is left in the struct. No I/O, no state between runs; built only
 * by scripts/fuzz.
 */
#include <errno.h>
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ms_creds zero;
	struct ms_creds c;
	char err[256];
	int rc;

	memset(&c, 'x', sizeof c);
	memset(err, 'x', sizeof err);
	rc = ms_creds_sts_parse((const char *)data, size, &c, err, sizeof err);
	check_field(err, sizeof err);
	if (rc == 0) {
		check_field(c.access_key, sizeof c.access_key);
		check_field(c.secret_key, sizeof c.secret_key);
		check_field(c.session_token, sizeof c.session_token);
		CHECK(c.access_key[0] != '\0' && c.secret_key[0] != '\0' && c.session_token[0] != '\0');
		CHECK(c.expiration > 0);
	} else {
		CHECK(rc == -EACCES || rc == -EBADMSG || rc == -ENOMEM);
		CHECK(memcmp(&c, &zero, sizeof c) == 0);
	}
	return 0;
}
