/*
 * fuzz_proto.c: libFuzzer target for the wire decoders (ms_proto_decode, and the head of an
 * answer with bytes the shim decodes: ms_proto_decode_fill_bytes) and the key
 * check the daemon runs on every decoded FILL/PREFETCH/TOUCH/VERIFY. A message that decodes
 * must stay inside the buffer and encode back to the same bytes. Never does I/O and never keeps
 * state between runs; built only by scripts/fuzz.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"
#include "keys.h"
#include "proto.h"

#define HDR sizeof(struct ms_msg_hdr)

/* A broken invariant is a crash, so libFuzzer keeps the input. */
#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* P[0..N) lies within BUF[0..LEN). */
static int
inside(const uint8_t *buf, size_t len, const char *p, size_t n)
{
	return (const uint8_t *)p >= buf && (const uint8_t *)p + n <= buf + len;
}

/* Copies N bytes of S into a NUL-terminated string (decoded fields are not terminated). */
static char *
dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	CHECK(d != NULL);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* What the daemon does with a fill's key (sidecar/daemon_client.c): check, then copy. */
static void
check_key(const char *key, size_t len)
{
	enum ms_key_verdict v = ms_key_check(key, len);

	CHECK(ms_key_verdict_str(v) != NULL);
	/* An accepted key is copied into a buffer of MS_KEY_PATH_MAX + 1 bytes. */
	CHECK((v == MS_KEY_OK) == fuzz_key_is_safe(key, len));
}

/* Re-encodes a decoded message into OUT; returns its length (or < 0 if it has no encoder). */
static int
reencode(const struct ms_msg *m, uint8_t *out, size_t cap)
{
	struct ms_msg_gc gc;
	char *a, *b;
	int n;

	if (m->mount != NULL) { /* FILL, PREFETCH, TOUCH, VERIFY, later ones of that shape */
		a = dupn(m->mount, m->u.fill.mount_len);
		b = dupn(m->key, m->u.fill.key_len);
		n = ms_proto_fill_flags(out, cap, m->hdr.type, m->hdr.id, a, b, m->u.fill.off,
		    m->u.fill.len, m->u.fill.ino, m->u.fill.flags);
		free(a);
		free(b);
		return n;
	}
	switch (m->hdr.type) {
	case MS_MSG_STATUS:
		return ms_proto_status(out, cap, m->hdr.id);
	case MS_MSG_STATUS_REPLY:
		return ms_proto_status_reply(out, cap, m->hdr.id, &m->u.status);
	case MS_MSG_CREDS:
		return ms_proto_creds(out, cap, m->hdr.id);
	case MS_MSG_CREDS_REPLY:
		return ms_proto_creds_reply(out, cap, m->hdr.id, &m->u.creds);
	case MS_MSG_FILL_DONE:
		/* The encoder takes a C string: a text with a NUL in it cannot round-trip. */
		if (memchr(m->text, '\0', m->u.done.msg_len) != NULL)
			return -1;
		a = dupn(m->text, m->u.done.msg_len);
		n = ms_proto_fill_done(out, cap, m->hdr.id, m->u.done.status, a);
		free(a);
		return n;
	case MS_MSG_GC:
		gc = m->u.gc;
		a = dupn(m->tenant, m->u.gc.tenant_len);
		n = ms_proto_gc(out, cap, m->hdr.id, &gc, a);
		free(a);
		return n;
	case MS_MSG_GC_DONE:
		if (memchr(m->text, '\0', m->u.gc_done.msg_len) != NULL)
			return -1;
		a = dupn(m->text, m->u.gc_done.msg_len);
		n = ms_proto_gc_done(out, cap, m->hdr.id, &m->u.gc_done, a);
		free(a);
		return n;
	}
	return -1; /* a type this target does not know yet: no round trip */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[MS_MSG_MAX];
	struct ms_msg m;
	int n, rc;

	/* An answer with bytes: its head decoded as the client does, the packet's length its size. */
	if (size >= MS_FILL_BYTES_HEAD) {
		rc = ms_proto_decode_fill_bytes(data, size, &m);
		CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
		if (rc == 0)
			CHECK(m.hdr.type == MS_MSG_FILL_BYTES && m.hdr.len == size &&
			    m.u.bytes.len == size - MS_FILL_BYTES_HEAD && m.u.bytes.len <= MS_FILL_BYTES_MAX);
	}
	rc = ms_proto_decode(data, size, &m);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
	if (rc != 0)
		return 0;
	CHECK(size >= HDR && size <= MS_MSG_MAX && m.hdr.len == size);
	CHECK(m.hdr.version == MODELSHIM_PROTOCOL_VERSION);

	CHECK(m.hdr.type >= 100 && m.hdr.type < 300);
	if (m.mount != NULL) { /* FILL, PREFETCH, TOUCH, VERIFY, and later types of that shape */
		CHECK(m.u.fill.mount_len > 0 && m.u.fill.key_len > 0);
		CHECK(inside(data, size, m.mount, m.u.fill.mount_len));
		CHECK(m.key == m.mount + m.u.fill.mount_len);
		CHECK(m.key + m.u.fill.key_len == (const char *)data + size);
		CHECK((m.u.fill.flags & ~MS_FILL_FLAGS) == 0);
		check_key(m.key, m.u.fill.key_len);
	}
	switch (m.hdr.type) {
	case MS_MSG_FILL:
	case MS_MSG_PREFETCH:
	case MS_MSG_TOUCH:
	case MS_MSG_VERIFY:
		CHECK(m.mount != NULL);
		break;
	case MS_MSG_FILL_DONE:
		CHECK(inside(data, size, m.text, m.u.done.msg_len));
		CHECK(m.text + m.u.done.msg_len == (const char *)data + size);
		break;
	case MS_MSG_GC_DONE:
		CHECK(inside(data, size, m.text, m.u.gc_done.msg_len));
		CHECK(m.text + m.u.gc_done.msg_len == (const char *)data + size);
		break;
	case MS_MSG_GC:
		CHECK(m.u.gc.mode <= MS_GC_BEFORE_START);
		CHECK(inside(data, size, m.tenant, m.u.gc.tenant_len));
		CHECK(m.tenant + m.u.gc.tenant_len == (const char *)data + size);
		break;
	case MS_MSG_STATUS:
		CHECK(size == HDR);
		break;
	case MS_MSG_STATUS_REPLY:
		CHECK(size == HDR + sizeof m.u.status);
		break;
	case MS_MSG_CREDS:
		CHECK(size == HDR);
		break;
	case MS_MSG_CREDS_REPLY:
		CHECK(size == HDR + sizeof m.u.creds && m.u.creds.nmounts <= MS_STATUS_MOUNTS);
		break;
	default:
		/* A type added after this target: only the checks above, unless it has a fill's shape. */
		break;
	}

	/* Decode then encode gives the same bytes (a decoded gc has a zero pad, as encoded). */
	if (m.hdr.type == MS_MSG_GC)
		CHECK(m.u.gc.pad == 0);
	n = reencode(&m, out, sizeof out);
	if (n < 0)
		return 0;
	CHECK((size_t)n == size);
	CHECK(memcmp(out, data, size) == 0);
	return 0;
}
