/* test_proto.c: protocol encode/decode round trips, and strict rejection of bad messages. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proto.h"

Test(proto, fill_round_trip)
{
	char buf[MS_MSG_MAX];
	struct ms_msg m;
	int n = ms_proto_fill(buf, sizeof buf, MS_MSG_FILL, 42, "models", "a b/c+d.bin", 4096, 8192, 77);

	cr_assert_gt(n, 0);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.hdr.type, MS_MSG_FILL);
	cr_expect_eq(m.hdr.id, 42);
	cr_expect_eq(m.u.fill.off, 4096);
	cr_expect_eq(m.u.fill.len, 8192);
	cr_expect_eq(m.u.fill.ino, 77);
	cr_expect_eq(m.u.fill.mount_len, 6);
	cr_expect(memcmp(m.mount, "models", 6) == 0);
	cr_expect_eq(m.u.fill.key_len, strlen("a b/c+d.bin"));
	cr_expect(memcmp(m.key, "a b/c+d.bin", m.u.fill.key_len) == 0);
}

Test(proto, done_and_status_round_trip)
{
	struct ms_msg_status_reply r = { .requests = 1, .fills = 2, .bytes_fetched = 3, .errors = 9 };
	char buf[MS_MSG_MAX];
	struct ms_msg m;
	int n;

	n = ms_proto_fill_done(buf, sizeof buf, 7, -5, "HTTP 403 AccessDenied");
	cr_assert_gt(n, 0);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.done.status, -5);
	cr_expect_eq(m.u.done.msg_len, strlen("HTTP 403 AccessDenied"));
	cr_expect(memcmp(m.text, "HTTP 403 AccessDenied", m.u.done.msg_len) == 0);

	n = ms_proto_status(buf, sizeof buf, 8);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.hdr.type, MS_MSG_STATUS);

	n = ms_proto_status_reply(buf, sizeof buf, 9, &r);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.status.fills, 2);
	cr_expect_eq(m.u.status.errors, 9);
}

Test(proto, long_message_text_is_cut_not_refused)
{
	char text[MS_MSG_MAX * 2], buf[MS_MSG_MAX];
	struct ms_msg m;
	int n;

	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	n = ms_proto_fill_done(buf, sizeof buf, 1, -5, text);
	cr_assert_eq(n, MS_MSG_MAX);
	cr_expect_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
}

Test(proto, encoder_refuses_oversized)
{
	char key[MS_MSG_MAX], buf[MS_MSG_MAX];

	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	cr_expect_eq(ms_proto_fill(buf, sizeof buf, MS_MSG_FILL, 1, "m", key, 0, 0, 0), -EMSGSIZE);
	cr_expect_eq(ms_proto_status(buf, 4, 1), -EMSGSIZE);
}

/* Every truncation of a valid message, and every single-field corruption, is refused. */
Test(proto, decoder_rejects_garbage)
{
	char buf[MS_MSG_MAX], bad[MS_MSG_MAX + 8];
	struct ms_msg m;
	struct ms_msg_hdr h;
	int n = ms_proto_fill(buf, sizeof buf, MS_MSG_FILL, 1, "models", "key", 0, 10, 0);
	size_t i;

	for (i = 0; i < (size_t)n; i++)
		cr_expect_neq(ms_proto_decode(buf, i, &m), 0, "truncated to %zu accepted", i);

	memcpy(bad, buf, (size_t)n);
	memcpy(&h, bad, sizeof h);
	h.version = 99;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode(bad, (size_t)n, &m), -EPROTO);

	memcpy(bad, buf, (size_t)n);
	h.version = MODELSHIM_PROTOCOL_VERSION;
	h.type = 150;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode(bad, (size_t)n, &m), -EBADMSG);

	/* Header length that disagrees with the packet. */
	memcpy(bad, buf, (size_t)n);
	memcpy(&h, bad, sizeof h);
	h.len += 1;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode(bad, (size_t)n, &m), -EBADMSG);

	/* Trailing bytes after the key. */
	memcpy(bad, buf, (size_t)n);
	memcpy(&h, bad, sizeof h);
	h.len += 3;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode(bad, (size_t)n + 3, &m), -EBADMSG);

	/* A NUL inside the key. */
	memcpy(bad, buf, (size_t)n);
	bad[n - 2] = '\0';
	cr_expect_eq(ms_proto_decode(bad, (size_t)n, &m), -EBADMSG);

	/* Oversized packet. */
	memset(bad, 0, sizeof bad);
	cr_expect_eq(ms_proto_decode(bad, sizeof bad, &m), -EBADMSG);
}

/* A lookup and a warm-up into the tier are fill-shaped: the same strict decoding. */
Test(proto, lookup_and_tier_warm_round_trip)
{
	char buf[MS_MSG_MAX];
	struct ms_msg m;
	int n = ms_proto_fill(buf, sizeof buf, MS_MSG_LOOKUP, 7, "models", "lora/new.bin", 0, 0, 0);

	cr_assert_gt(n, 0);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.hdr.type, MS_MSG_LOOKUP);
	cr_expect(memcmp(m.key, "lora/new.bin", m.u.fill.key_len) == 0);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n - 1, &m), -EBADMSG);
	n = ms_proto_fill_flags(buf, sizeof buf, MS_MSG_FILL, 8, "models", "m.bin", 16 << 20, 0, 0,
	    MS_FILL_TIER);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.fill.flags, MS_FILL_TIER);
	n = ms_proto_fill_flags(buf, sizeof buf, MS_MSG_FILL, 9, "models", "m.bin", 0, 0, 0,
	    MS_FILL_FAULT);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.fill.flags, MS_FILL_FAULT);
	n = ms_proto_fill_flags(buf, sizeof buf, MS_MSG_FILL, 9, "models", "m.bin", 0, 4096, 0,
	    MS_FILL_RANGE);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.fill.flags, MS_FILL_RANGE);
	n = ms_proto_fill_done(buf, sizeof buf, 9, MS_FILL_RANGE_READY, NULL);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_expect_eq(m.u.done.status, MS_FILL_RANGE_READY);
	n = ms_proto_fill_flags(buf, sizeof buf, MS_MSG_FILL, 9, "models", "m.bin", 0, 0, 0, 0x20);
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), -EBADMSG, "an unknown flag is refused");
}

/*
 * An answer with bytes: its head round-trips; the plain decoder refuses it (it may be larger
 * than MS_MSG_MAX); its own decoder refuses a length that disagrees with the packet, more bytes
 * than MS_FILL_BYTES_MAX, another type or version, and a truncated head.
 */
Test(proto, fill_bytes_head_round_trip_and_refusals)
{
	char head[MS_FILL_BYTES_HEAD], bad[MS_FILL_BYTES_HEAD];
	struct ms_msg m;
	struct ms_msg_hdr h;
	size_t total = MS_FILL_BYTES_HEAD + 4096;

	cr_assert_eq(ms_proto_fill_bytes_head(head, sizeof head, 7, 100, 4096), (int)MS_FILL_BYTES_HEAD);
	cr_assert_eq(ms_proto_decode_fill_bytes(head, total, &m), 0);
	cr_expect_eq(m.hdr.type, MS_MSG_FILL_BYTES);
	cr_expect_eq(m.hdr.id, 7);
	cr_expect_eq(m.u.bytes.off, 100);
	cr_expect_eq(m.u.bytes.len, 4096);
	cr_expect_eq(ms_proto_decode(head, MS_FILL_BYTES_HEAD, &m), -EBADMSG);
	cr_expect_eq(ms_proto_decode_fill_bytes(head, total - 1, &m), -EBADMSG, "short packet");
	cr_expect_eq(ms_proto_decode_fill_bytes(head, total + 1, &m), -EBADMSG, "long packet");
	cr_expect_eq(ms_proto_decode_fill_bytes(head, MS_FILL_BYTES_HEAD - 1, &m), -EBADMSG);
	cr_expect_eq(ms_proto_fill_bytes_head(head, sizeof head, 7, 0, MS_FILL_BYTES_MAX + 1),
	    -EMSGSIZE);
	cr_expect_eq(ms_proto_fill_bytes_head(head, sizeof head - 1, 7, 0, 1), -EMSGSIZE);

	memcpy(bad, head, sizeof bad);
	memcpy(&h, bad, sizeof h);
	h.len = (uint32_t)(MS_FILL_BYTES_HEAD + MS_FILL_BYTES_MAX + 1);
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode_fill_bytes(bad, h.len, &m), -EBADMSG, "past the bound");
	memcpy(bad, head, sizeof bad);
	h.len = (uint32_t)total;
	h.type = MS_MSG_FILL_DONE;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode_fill_bytes(bad, total, &m), -EBADMSG, "another type");
	h.type = MS_MSG_FILL_BYTES;
	h.version = 99;
	memcpy(bad, &h, sizeof h);
	cr_expect_eq(ms_proto_decode_fill_bytes(bad, total, &m), -EPROTO);
}
