/*
 * proto.c: encoding and strict decoding of protocol messages (proto.h). The decoder trusts
 * nothing: every length is checked before it is used and a message must end exactly where its
 * parts say. Never allocates; decoded pointers point into the caller's buffer.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

static int
put_hdr(void *buf, size_t cap, uint16_t type, uint64_t id, size_t len)
{
	struct ms_msg_hdr h;

	if (len > cap || len > MS_MSG_MAX)
		return -EMSGSIZE;
	h.version = MODELSHIM_PROTOCOL_VERSION;
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	memcpy(buf, &h, sizeof h);
	return (int)len;
}

int
ms_proto_fill(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino)
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
		if (blen < sizeof out->u.fill)
			return -EBADMSG;
		memcpy(&out->u.fill, body, sizeof out->u.fill);
		if (out->u.fill.mount_len == 0 || out->u.fill.key_len == 0 ||
		    blen != sizeof out->u.fill + out->u.fill.mount_len + out->u.fill.key_len)
			return -EBADMSG;
		if (out->u.fill.flags != 0)
			return -EBADMSG;
		out->mount = body + sizeof out->u.fill;
		out->key = out->mount + out->u.fill.mount_len;
		if (memchr(out->mount, '\0', out->u.fill.mount_len) != NULL ||
		    memchr(out->key, '\0', out->u.fill.key_len) != NULL)
			return -EBADMSG;
		return 0;
	case MS_MSG_STATUS:
		return blen == 0 ? 0 : -EBADMSG;
	case MS_MSG_FILL_DONE:
		if (blen < sizeof out->u.done)
			return -EBADMSG;
		memcpy(&out->u.done, body, sizeof out->u.done);
		if (blen != sizeof out->u.done + out->u.done.msg_len)
			return -EBADMSG;
		out->text = body + sizeof out->u.done;
		return 0;
	case MS_MSG_STATUS_REPLY:
		if (blen != sizeof out->u.status)
			return -EBADMSG;
		memcpy(&out->u.status, body, sizeof out->u.status);
		return 0;
	default:
		return -EBADMSG;
	}
}
