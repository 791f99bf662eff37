/*
 * proto.c: encoding and strict decoding of protocol messages (proto.h). The decoder trusts
 * nothing: every length is checked before it is used and a message must end exactly where its
 * parts say. Never allocates; decoded pointers point into the caller's buffer.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

static void
write_hdr(void *buf, uint16_t type, uint64_t id, size_t len)
{
	struct ms_msg_hdr h;

	h.version = MODELSHIM_PROTOCOL_VERSION;
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	memcpy(buf, &h, sizeof h);
}

static int
put_hdr(void *buf, size_t cap, uint16_t type, uint64_t id, size_t len)
{
	if (len > cap || len > MS_MSG_MAX)
		return -EMSGSIZE;
	write_hdr(buf, type, id, len);
	return (int)len;
}

int
ms_proto_fill_bytes_head(void *buf, size_t cap, uint64_t id, uint64_t off, uint32_t len)
{
	struct ms_msg_fill_bytes b = { .off = off, .len = len, .pad = 0 };

	if (cap < MS_FILL_BYTES_HEAD || len > MS_FILL_BYTES_MAX)
		return -EMSGSIZE;
	write_hdr(buf, MS_MSG_FILL_BYTES, id, MS_FILL_BYTES_HEAD + len);
	memcpy((char *)buf + sizeof(struct ms_msg_hdr), &b, sizeof b);
	return (int)MS_FILL_BYTES_HEAD;
}

int
ms_proto_fill(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino)
{
	return ms_proto_fill_flags(buf, cap, type, id, mount, key, off, len, ino, 0);
}

int
ms_proto_fill_flags(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino, uint32_t flags)
{
	struct ms_msg_fill f;
	size_t ml = strlen(mount), kl = strlen(key);
	size_t total = sizeof(struct ms_msg_hdr) + sizeof f + ml + kl;
	char *p = buf;
	int rc;

	if (ml > UINT16_MAX || kl > UINT16_MAX)
		return -EMSGSIZE;
	rc = put_hdr(buf, cap, type, id, total);
	if (rc < 0)
		return rc;
	memset(&f, 0, sizeof f);
	f.off = off;
	f.len = len;
	f.ino = ino;
	f.mount_len = (uint16_t)ml;
	f.key_len = (uint16_t)kl;
	f.flags = flags;
	p += sizeof(struct ms_msg_hdr);
	memcpy(p, &f, sizeof f);
	memcpy(p + sizeof f, mount, ml);
	memcpy(p + sizeof f + ml, key, kl);
	return rc;
}

int
ms_proto_fill_done(void *buf, size_t cap, uint64_t id, int32_t status, const char *text)
{
	struct ms_msg_fill_done d;
	size_t tl = text != NULL ? strlen(text) : 0;
	size_t total;
	char *p = buf;
	int rc;

	/* A long message is cut, never the reply. */
	if (tl > MS_MSG_MAX - sizeof(struct ms_msg_hdr) - sizeof d)
		tl = MS_MSG_MAX - sizeof(struct ms_msg_hdr) - sizeof d;
	total = sizeof(struct ms_msg_hdr) + sizeof d + tl;
	rc = put_hdr(buf, cap, MS_MSG_FILL_DONE, id, total);
	if (rc < 0)
		return rc;
	d.status = status;
	d.msg_len = (uint32_t)tl;
	p += sizeof(struct ms_msg_hdr);
	memcpy(p, &d, sizeof d);
	if (tl > 0)
		memcpy(p + sizeof d, text, tl);
	return rc;
}

int
ms_proto_status(void *buf, size_t cap, uint64_t id)
{
	return put_hdr(buf, cap, MS_MSG_STATUS, id, sizeof(struct ms_msg_hdr));
}

int
ms_proto_status_reply(void *buf, size_t cap, uint64_t id, const struct ms_msg_status_reply *r)
{
	int rc = put_hdr(buf, cap, MS_MSG_STATUS_REPLY, id, sizeof(struct ms_msg_hdr) + sizeof *r);

	if (rc < 0)
		return rc;
	memcpy((char *)buf + sizeof(struct ms_msg_hdr), r, sizeof *r);
	return rc;
}

int
ms_proto_creds(void *buf, size_t cap, uint64_t id)
{
	return put_hdr(buf, cap, MS_MSG_CREDS, id, sizeof(struct ms_msg_hdr));
}

int
ms_proto_creds_reply(void *buf, size_t cap, uint64_t id, const struct ms_msg_creds_reply *r)
{
	int rc = put_hdr(buf, cap, MS_MSG_CREDS_REPLY, id, sizeof(struct ms_msg_hdr) + sizeof *r);

	if (rc < 0)
		return rc;
	memcpy((char *)buf + sizeof(struct ms_msg_hdr), r, sizeof *r);
	return rc;
}

int
ms_proto_gc(void *buf, size_t cap, uint64_t id, const struct ms_msg_gc *gc, const char *tenant)
{
	struct ms_msg_gc g = *gc;
	size_t tl = tenant != NULL ? strlen(tenant) : 0;
	int rc;

	if (tl > UINT16_MAX)
		return -EMSGSIZE;
	rc = put_hdr(buf, cap, MS_MSG_GC, id, sizeof(struct ms_msg_hdr) + sizeof g + tl);
	if (rc < 0)
		return rc;
	g.tenant_len = (uint16_t)tl;
	g.pad = 0;
	memcpy((char *)buf + sizeof(struct ms_msg_hdr), &g, sizeof g);
	if (tl > 0)
		memcpy((char *)buf + sizeof(struct ms_msg_hdr) + sizeof g, tenant, tl);
	return rc;
}

int
ms_proto_gc_done(void *buf, size_t cap, uint64_t id, const struct ms_msg_gc_done *r,
    const char *text)
{
	struct ms_msg_gc_done d = *r;
	size_t tl = text != NULL ? strlen(text) : 0;
	int rc;

	if (tl > MS_MSG_MAX - sizeof(struct ms_msg_hdr) - sizeof d)
		tl = MS_MSG_MAX - sizeof(struct ms_msg_hdr) - sizeof d;
	rc = put_hdr(buf, cap, MS_MSG_GC_DONE, id, sizeof(struct ms_msg_hdr) + sizeof d + tl);
	if (rc < 0)
		return rc;
	d.msg_len = (uint32_t)tl;
	memcpy((char *)buf + sizeof(struct ms_msg_hdr), &d, sizeof d);
	if (tl > 0)
		memcpy((char *)buf + sizeof(struct ms_msg_hdr) + sizeof d, text, tl);
	return rc;
}

/*
 * A body of a fixed part (FIXED_LEN bytes, copied into FIXED) then the text its *TEXT_LEN
 * announces, ending the body: the text's start, or NULL if the sizes do not add up.
 */
static const char *
fixed_then_text(const char *body, size_t blen, void *fixed, size_t fixed_len,
    const uint32_t *text_len)
{
	if (blen < fixed_len)
		return NULL;
	memcpy(fixed, body, fixed_len);
	return blen == fixed_len + *text_len ? body + fixed_len : NULL;
}

int
ms_proto_decode(const void *buf, size_t len, struct ms_msg *out)
{
	const char *p = buf, *body;
	size_t blen;

	memset(out, 0, sizeof *out);
	if (len < sizeof out->hdr || len > MS_MSG_MAX)
		return -EBADMSG;
	memcpy(&out->hdr, p, sizeof out->hdr);
	if (out->hdr.version != MODELSHIM_PROTOCOL_VERSION)
		return -EPROTO;
	if (out->hdr.len != len)
		return -EBADMSG;
	body = p + sizeof out->hdr;
	blen = len - sizeof out->hdr;

	switch (out->hdr.type) {
	case MS_MSG_FILL:
	case MS_MSG_PREFETCH:
	case MS_MSG_TOUCH:
	case MS_MSG_VERIFY:
	case MS_MSG_LOOKUP:
		if (blen < sizeof out->u.fill)
			return -EBADMSG;
		memcpy(&out->u.fill, body, sizeof out->u.fill);
		if (out->u.fill.mount_len == 0 || out->u.fill.key_len == 0 ||
		    blen != sizeof out->u.fill + out->u.fill.mount_len + out->u.fill.key_len)
			return -EBADMSG;
		if ((out->u.fill.flags & ~MS_FILL_FLAGS) != 0)
			return -EBADMSG;
		out->mount = body + sizeof out->u.fill;
		out->key = out->mount + out->u.fill.mount_len;
		if (memchr(out->mount, '\0', out->u.fill.mount_len) != NULL ||
		    memchr(out->key, '\0', out->u.fill.key_len) != NULL)
			return -EBADMSG;
		return 0;
	case MS_MSG_STATUS:
	case MS_MSG_CREDS:
		return blen == 0 ? 0 : -EBADMSG;
	case MS_MSG_CREDS_REPLY:
		if (blen != sizeof out->u.creds)
			return -EBADMSG;
		memcpy(&out->u.creds, body, sizeof out->u.creds);
		return out->u.creds.nmounts <= MS_STATUS_MOUNTS ? 0 : -EBADMSG;
	case MS_MSG_FILL_DONE:
		out->text = fixed_then_text(body, blen, &out->u.done, sizeof out->u.done,
		    &out->u.done.msg_len);
		return out->text != NULL ? 0 : -EBADMSG;
	case MS_MSG_STATUS_REPLY:
		if (blen != sizeof out->u.status)
			return -EBADMSG;
		memcpy(&out->u.status, body, sizeof out->u.status);
		return 0;
	case MS_MSG_GC:
		if (blen < sizeof out->u.gc)
			return -EBADMSG;
		memcpy(&out->u.gc, body, sizeof out->u.gc);
		if (blen != sizeof out->u.gc + out->u.gc.tenant_len || out->u.gc.mode > MS_GC_BEFORE_START ||
		    out->u.gc.pad != 0)
			return -EBADMSG;
		out->tenant = body + sizeof out->u.gc;
		if (memchr(out->tenant, '\0', out->u.gc.tenant_len) != NULL)
			return -EBADMSG;
		return 0;
	case MS_MSG_GC_DONE:
		out->text = fixed_then_text(body, blen, &out->u.gc_done, sizeof out->u.gc_done,
		    &out->u.gc_done.msg_len);
		return out->text != NULL ? 0 : -EBADMSG;
	default:
		return -EBADMSG;
	}
}

int
ms_proto_decode_fill_bytes(const void *head, size_t total, struct ms_msg *out)
{
	memset(out, 0, sizeof *out);
	if (total < MS_FILL_BYTES_HEAD || total > MS_FILL_BYTES_HEAD + MS_FILL_BYTES_MAX)
		return -EBADMSG;
	memcpy(&out->hdr, head, sizeof out->hdr);
	if (out->hdr.version != MODELSHIM_PROTOCOL_VERSION)
		return -EPROTO;
	if (out->hdr.type != MS_MSG_FILL_BYTES || out->hdr.len != total)
		return -EBADMSG;
	memcpy(&out->u.bytes, (const char *)head + sizeof out->hdr, sizeof out->u.bytes);
	return out->u.bytes.len == total - MS_FILL_BYTES_HEAD && out->u.bytes.pad == 0 ? 0 : -EBADMSG;
}
