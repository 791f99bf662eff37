/*
 * gen_proto_seeds.c: writes the seed corpus of fuzz_proto into DIR with the encoders of
 * core/proto.c, so seeds always carry the current MODELSHIM_PROTOCOL_VERSION and struct layouts:
 * one valid message per type, then truncated, oversized and lying ones. scripts/fuzz runs it
 * over its copy of the corpus; run it by hand to refresh tests/fuzz/corpus/proto after a
 * protocol change. Writes nothing outside DIR.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define HDR sizeof(struct ms_msg_hdr)

static const char *dir;
static int failed;

static void
put(const char *name, const void *buf, int len)
{
	char path[4096];
	FILE *f;

	if (len < 0) {
		fprintf(stderr, "gen_proto_seeds: %s: %s\n", name, strerror(-len));
		failed = 1;
		return;
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "we");
	if (f == NULL || fwrite(buf, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0) {
		fprintf(stderr, "gen_proto_seeds: %s: %s\n", path, strerror(errno));
		failed = 1;
	}
}

/* The header of BUF, to make it lie. */
static struct ms_msg_hdr *
hdr(uint8_t *buf)
{
	return (struct ms_msg_hdr *)(void *)buf;
}

static struct ms_msg_fill *
fill_body(uint8_t *buf)
{
	return (struct ms_msg_fill *)(void *)(buf + HDR);
}

int
main(int argc, char **argv)
{
	static _Alignas(uint64_t) uint8_t b[MS_MSG_MAX + 64];
	struct ms_msg_status_reply st;
	struct ms_msg_creds_reply cr;
	struct ms_msg_gc gc;
	struct ms_msg_gc_done gd;
	char text[MS_MSG_MAX + 1];
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_proto_seeds DIR\n");
		return 2;
	}
	dir = argv[1];

	/* One valid message of each type. */
	put("fill", b, ms_proto_fill(b, sizeof b, MS_MSG_FILL, 7, "models",
	    "sd/unet/model.safetensors", 4u << 20, 8u << 20, 1234));
	put("fill-warm", b, ms_proto_fill_flags(b, sizeof b, MS_MSG_FILL, 8, "models",
	    "lora/a.bin", 0, 0, 0, MS_FILL_WARM));
	put("prefetch", b, ms_proto_fill(b, sizeof b, MS_MSG_PREFETCH, 9, "m", "x/y", 1ull << 30,
	    256u << 20, 0));
	put("touch", b, ms_proto_fill(b, sizeof b, MS_MSG_TOUCH, 10, "m", "k", 0, 0, 42));
	put("verify", b, ms_proto_fill(b, sizeof b, MS_MSG_VERIFY, 14, "models", "sd/vae.bin", 0, 0,
	    77));
	put("status", b, ms_proto_status(b, sizeof b, 11));
	memset(&st, 0, sizeof st);
	st.requests = 100;
	st.fills = 40;
	st.bytes_fetched = 40ull << 22;
	st.quota = 200ull << 30;
	st.nmounts = 2;
	st.mounts[0].requests = 60;
	st.mounts[1].chunks_present = 7;
	put("status-reply", b, ms_proto_status_reply(b, sizeof b, 11, &st));
	put("creds", b, ms_proto_creds(b, sizeof b, 15));
	memset(&cr, 0, sizeof cr);
	cr.nmounts = 2;
	cr.mounts[0].source = 2;
	cr.mounts[0].expiration = 1796000000;
	cr.mounts[0].renewals = 3;
	put("creds-reply", b, ms_proto_creds_reply(b, sizeof b, 15, &cr));
	put("fill-done", b, ms_proto_fill_done(b, sizeof b, 7, -ESTALE, "object changed (412)"));
	put("fill-done-ok", b, ms_proto_fill_done(b, sizeof b, 7, 0, NULL));
	/* An answer with bytes: its head, then 64 of the bytes it announces. */
	n = ms_proto_fill_bytes_head(b, sizeof b, 7, 4096, 64);
	if (n > 0)
		memset(b + n, 0xab, 64);
	put("fill-bytes", b, n > 0 ? n + 64 : n);
	put("fill-read", b, ms_proto_fill_flags(b, sizeof b, MS_MSG_FILL, 16, "models",
	    "sd/model.safetensors", 0, 4096, 5, MS_FILL_RANGE | MS_FILL_BYTES));
	memset(&gc, 0, sizeof gc);
	gc.target = UINT64_MAX;
	gc.need = 1ull << 30;
	gc.mode = MS_GC_BEFORE_START;
	put("gc", b, ms_proto_gc(b, sizeof b, 12, &gc, "team-a"));
	gc.mode = MS_GC_ALL;
	put("gc-all", b, ms_proto_gc(b, sizeof b, 13, &gc, NULL));
	memset(&gd, 0, sizeof gd);
	gd.status = -ENOSPC;
	gd.evicted_objects = 3;
	gd.evicted_bytes = 1ull << 32;
	put("gc-done", b, ms_proto_gc_done(b, sizeof b, 12, &gd, "cache full"));

	/* Hostile: a key the daemon must refuse, flags it does not know, lengths that overrun. */
	put("fill-bad-key", b, ms_proto_fill(b, sizeof b, MS_MSG_FILL, 7, "m", "../../etc/passwd",
	    0, 0, 0));
	n = ms_proto_fill_flags(b, sizeof b, MS_MSG_FILL, 7, "m", "k", 0, 0, 0, 0x80000000u);
	put("fill-bad-flags", b, n);
	n = ms_proto_fill(b, sizeof b, MS_MSG_FILL, 7, "m", "k", 0, 0, 0);
	fill_body(b)->mount_len = UINT16_MAX;
	fill_body(b)->key_len = UINT16_MAX;
	put("fill-lens-overrun", b, n);
	n = ms_proto_fill(b, sizeof b, MS_MSG_FILL, 7, "m", "k", 0, 0, 0);
	b[n - 1] = '\0';
	put("fill-nul-in-key", b, n);
	n = ms_proto_gc(b, sizeof b, 12, &gc, "t");
	((struct ms_msg_gc *)(void *)(b + HDR))->mode = 3;
	put("gc-bad-mode", b, n);

	/* Lying headers, cut messages, one byte over the cap. */
	n = ms_proto_status(b, sizeof b, 1);
	hdr(b)->version = MODELSHIM_PROTOCOL_VERSION - 1;
	put("bad-version", b, n);
	n = ms_proto_status(b, sizeof b, 1);
	hdr(b)->type = 150;
	put("bad-type", b, n);
	n = ms_proto_status(b, sizeof b, 1);
	hdr(b)->len = (uint32_t)n + 1;
	put("len-mismatch", b, n);
	n = ms_proto_fill(b, sizeof b, MS_MSG_FILL, 7, "models", "key", 0, 0, 0);
	hdr(b)->len = 30;
	put("truncated-fill", b, 30);
	put("truncated-hdr", b, (int)HDR - 7);
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	n = ms_proto_fill_done(b, sizeof b, 7, 0, text); /* cut to exactly MS_MSG_MAX */
	if (n == MS_MSG_MAX) {
		b[n] = 'x';
		hdr(b)->len = MS_MSG_MAX + 1;
		((struct ms_msg_fill_done *)(void *)(b + HDR))->msg_len++;
	}
	put("oversized", b, n == MS_MSG_MAX ? n + 1 : -EMSGSIZE);
	return failed;
}
