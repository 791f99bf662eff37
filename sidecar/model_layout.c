/*
 * model_layout.c: tensor spans of a checkpoint from its safetensors header (JSON, parsed by
 * json-c) or its zip central directory (torch.save). Owns only parsing: never reads a file or
 * the network, and trusts no offset it is given (each is checked against the object's size).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "model_layout.h"

#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP_EOCD_LEN 22u
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define ZIP64_LOCATOR_LEN 20u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_EOCD_LEN 56u
#define ZIP_CDH_SIG 0x02014b50u
#define ZIP_CDH_LEN 46u

static uint64_t
le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static int
fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum ms_model_format
ms_model_format_of(const char *key)
{
	static const char *zips[] = { ".pt", ".pth", ".bin", ".ckpt" };
	size_t i;

	if (ends_with(key, ".safetensors"))
		return MS_MODEL_SAFETENSORS;
	for (i = 0; i < sizeof zips / sizeof zips[0]; i++)
		if (ends_with(key, zips[i]))
			return MS_MODEL_ZIP;
	return MS_MODEL_NONE;
}

void
ms_layout_first_range(enum ms_model_format f, uint64_t size, uint64_t *off, uint64_t *end)
{
	*off = 0;
	*end = size < 8 ? size : 8;
	if (f == MS_MODEL_ZIP) {
		*off = size > MS_ZIP_TAIL ? size - MS_ZIP_TAIL : 0;
		*end = size;
	}
}

static int
cmp_span(const void *a, const void *b)
{
	const struct ms_span *x = a, *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Appends [begin, end) to L (capacity *cap). */
static int
add_span(struct ms_layout *l, size_t *cap, uint64_t begin, uint64_t end)
{
	if (l->n == *cap) {
		size_t ncap = *cap == 0 ? 64 : *cap * 2;
		struct ms_span *p = reallocarray(l->spans, ncap, sizeof *p);

		if (p == NULL)
			return -ENOMEM;
		l->spans = p;
		*cap = ncap;
	}
	l->spans[l->n++] = (struct ms_span){ begin, end };
	return 0;
}

/* Sorts L and refuses overlapping spans. */
static int
finish(struct ms_layout *l, char *err, size_t errlen)
{
	size_t i;

	if (l->n > 1)
		qsort(l->spans, l->n, sizeof l->spans[0], cmp_span);
	for (i = 1; i < l->n; i++)
		if (l->spans[i].begin < l->spans[i - 1].end) {
			ms_layout_free(l);
			return fail(err, errlen, "overlapping tensors");
		}
	return 0;
}

/* One tensor's "data_offsets": [begin, end] relative to BASE. */
static int
tensor_span(json_object *t, uint64_t base, uint64_t size, uint64_t *begin, uint64_t *end)
{
	json_object *offs, *b, *e;
	int64_t vb, ve;

	if (!json_object_is_type(t, json_type_object) ||
	    !json_object_object_get_ex(t, "data_offsets", &offs) ||
	    !json_object_is_type(offs, json_type_array) || json_object_array_length(offs) != 2)
		return -EINVAL;
	b = json_object_array_get_idx(offs, 0);
	e = json_object_array_get_idx(offs, 1);
	if (!json_object_is_type(b, json_type_int) || !json_object_is_type(e, json_type_int))
		return -EINVAL;
	vb = json_object_get_int64(b);
	ve = json_object_get_int64(e);
	if (vb < 0 || ve < vb || (uint64_t)ve > size - base)
		return -EINVAL;
	*begin = base + (uint64_t)vb;
	*end = base + (uint64_t)ve;
	return 0;
}

static int
safetensors_parse(const uint8_t *buf, size_t len, uint64_t buf_off, uint64_t size,
    struct ms_layout *out, uint64_t *need_off, uint64_t *need_end, char *err, size_t errlen)
{
	struct json_tokener *tok;
	json_object *root;
	uint64_t n, base, begin, end;
	size_t cap = 0;
	int rc = 0;

	if (buf_off != 0 || len < 8)
		return fail(err, errlen, "the 8-byte header length is missing");
	n = le(buf, 8);
	if (size < 8 || n < 2 || n > MS_LAYOUT_MAX_HEADER || n > size - 8)
		return fail(err, errlen, "header length out of range");
	base = 8 + n;
	if (len < base) {
		*need_off = 0;
		*need_end = base;
		return -EAGAIN;
	}
	if ((tok = json_tokener_new()) == NULL)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, (const char *)buf + 8, (int)n);
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return fail(err, errlen, "the header is not a JSON object");
	}
	*out = (struct ms_layout){ 0 };
	json_object_object_foreach(root, name, t) {
		if (strcmp(name, "__metadata__") == 0)
			continue;
		if (tensor_span(t, base, size, &begin, &end) < 0) {
			rc = fail(err, errlen, "a tensor without valid data_offsets");
			break;
		}
		if (begin < end && (rc = add_span(out, &cap, begin, end)) < 0)
			break;
	}
	json_object_put(root);
	if (rc < 0) {
		ms_layout_free(out);
		return rc;
	}
	return finish(out, err, errlen);
}

/* The zip64 sizes and offset of a central directory entry whose 32-bit fields are all ones. */
static int
zip64_extra(const uint8_t *x, size_t xlen, uint64_t *comp, uint64_t *uncomp, uint64_t *local)
{
	uint64_t *want[3] = { uncomp, comp, local };
	size_t p = 0, q;
	unsigned i;

	while (p + 4 <= xlen) {
		unsigned id = (unsigned)le(x + p, 2), n = (unsigned)le(x + p + 2, 2);

		if (p + 4 + n > xlen)
			return -EINVAL;
		if (id == 1) {
			for (q = p + 4, i = 0; i < 3; i++) {
				if (*want[i] != UINT32_MAX)
					continue;
				if (q + 8 > p + 4 + n)
					return -EINVAL;
				*want[i] = le(x + q, 8);
				q += 8;
			}
			return 0;
		}
		p += 4 + n;
	}
	return *comp == UINT32_MAX || *uncomp == UINT32_MAX || *local == UINT32_MAX ? -EINVAL : 0;
}

/* The entries of the central directory CD (LEN bytes, COUNT entries), each up to the next. */
static int
zip_entries(const uint8_t *cd, uint64_t len, uint64_t count, uint64_t cd_off,
    struct ms_layout *out, char *err, size_t errlen)
{
	uint64_t p = 0, i, comp, uncomp, local;
	size_t cap = 0;
	int rc;

	*out = (struct ms_layout){ 0 };
	for (i = 0; i < count; i++) {
		unsigned name, extra, comment;

		if (len - p < ZIP_CDH_LEN || le(cd + p, 4) != ZIP_CDH_SIG) {
			ms_layout_free(out);
			return fail(err, errlen, "a damaged central directory entry");
		}
		comp = le(cd + p + 20, 4);
		uncomp = le(cd + p + 24, 4);
		name = (unsigned)le(cd + p + 28, 2);
		extra = (unsigned)le(cd + p + 30, 2);
		comment = (unsigned)le(cd + p + 32, 2);
		local = le(cd + p + 42, 4);
		if (len - p - ZIP_CDH_LEN < (uint64_t)name + extra + comment ||
		    zip64_extra(cd + p + ZIP_CDH_LEN + name, extra, &comp, &uncomp, &local) < 0 ||
		    local >= cd_off) {
			ms_layout_free(out);
			return fail(err, errlen, "a central directory entry out of range");
		}
		if ((rc = add_span(out, &cap, local, local)) < 0) {
			ms_layout_free(out);
			return rc;
		}
		p += ZIP_CDH_LEN + name + extra + comment;
	}
	if (out->n > 1)
		qsort(out->spans, out->n, sizeof out->spans[0], cmp_span);
	for (i = 0; i < out->n; i++)
		out->spans[i].end = i + 1 < out->n ? out->spans[i + 1].begin : cd_off;
	return finish(out, err, errlen);
}

/* The end of central directory record in the tail BUF (ending at the object's end), or -1. */
static long
zip_find_eocd(const uint8_t *buf, size_t len)
{
	size_t i;

	if (len < ZIP_EOCD_LEN)
		return -1;
	for (i = len - ZIP_EOCD_LEN + 1; i-- > 0;)
		if (le(buf + i, 4) == ZIP_EOCD_SIG && i + ZIP_EOCD_LEN + le(buf + i + 20, 2) == len)
			return (long)i;
	return -1;
}

static int
zip_parse(const uint8_t *buf, size_t len, uint64_t buf_off, uint64_t size, struct ms_layout *out,
    uint64_t *need_off, uint64_t *need_end, char *err, size_t errlen)
{
	uint64_t count, cd_size, cd_off, limit, at;
	long e;

	if (buf_off > size || len != size - buf_off)
		return fail(err, errlen, "the tail of the file is missing");
	if ((e = zip_find_eocd(buf, len)) < 0)
		return fail(err, errlen, "no end of central directory record");
	count = le(buf + e + 10, 2);
	cd_size = le(buf + e + 12, 4);
	cd_off = le(buf + e + 16, 4);
	limit = buf_off + (uint64_t)e;
	if ((uint64_t)e < ZIP64_LOCATOR_LEN && buf_off > 0) {
		/* A zip64 locator would sit just before the record: read it too. */
		*need_off = buf_off > ZIP64_LOCATOR_LEN ? buf_off - ZIP64_LOCATOR_LEN : 0;
		*need_end = size;
		return -EAGAIN;
	}
	if ((uint64_t)e >= ZIP64_LOCATOR_LEN &&
	    le(buf + e - ZIP64_LOCATOR_LEN, 4) == ZIP64_LOCATOR_SIG) {
		uint64_t rec = le(buf + e - ZIP64_LOCATOR_LEN + 8, 8);

		if (rec > limit - ZIP64_LOCATOR_LEN || limit - ZIP64_LOCATOR_LEN - rec < ZIP64_EOCD_LEN)
			return fail(err, errlen, "a zip64 record out of range");
		if (rec < buf_off && size - rec > 2 * (uint64_t)MS_LAYOUT_MAX_HEADER)
			return fail(err, errlen, "a zip64 record too far from the end");
		if (rec < buf_off) {
			*need_off = rec;
			*need_end = size;
			return -EAGAIN;
		}
		at = rec - buf_off;
		if (le(buf + at, 4) != ZIP64_EOCD_SIG)
			return fail(err, errlen, "a damaged zip64 record");
		count = le(buf + at + 32, 8);
		cd_size = le(buf + at + 40, 8);
		cd_off = le(buf + at + 48, 8);
		limit = rec;
	}
	if (cd_off > limit || cd_size > limit - cd_off || cd_size > MS_LAYOUT_MAX_HEADER ||
	    count > cd_size / ZIP_CDH_LEN)
		return fail(err, errlen, "central directory out of range");
	if (cd_off < buf_off && size - cd_off > 2 * (uint64_t)MS_LAYOUT_MAX_HEADER)
		return fail(err, errlen, "central directory too far from the end");
	if (cd_off < buf_off) {
		*need_off = cd_off;
		*need_end = size;
		return -EAGAIN;
	}
	return zip_entries(buf + (cd_off - buf_off), cd_size, count, cd_off, out, err, errlen);
}

int
ms_layout_parse(enum ms_model_format f, const uint8_t *buf, size_t len, uint64_t buf_off,
    uint64_t size, struct ms_layout *out, uint64_t *need_off, uint64_t *need_end, char *err,
    size_t errlen)
{
	*out = (struct ms_layout){ 0 };
	if (f == MS_MODEL_SAFETENSORS)
		return safetensors_parse(buf, len, buf_off, size, out, need_off, need_end, err, errlen);
	if (f == MS_MODEL_ZIP)
		return zip_parse(buf, len, buf_off, size, out, need_off, need_end, err, errlen);
	return fail(err, errlen, "not a model format");
}

const struct ms_span *
ms_layout_find(const struct ms_layout *l, uint64_t off)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->spans[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->spans[lo].begin <= off ? &l->spans[lo] : NULL;
}

void
ms_layout_free(struct ms_layout *l)
{
	free(l->spans);
	*l = (struct ms_layout){ 0 };
}
