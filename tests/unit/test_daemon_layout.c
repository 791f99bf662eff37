/*
 * test_daemon_layout.c: checkpoint layouts (sidecar/model_layout.c): formats by name, a
 * safetensors header read in two steps (its length, then the header it names), zip and zip64
 * central directories (tests/unit/data/layout-*.zip, written by Python's zipfile), the range
 * asked for when only a tail is given, and damaged input refused with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "model_layout.h"

static char err[128];

/* A safetensors object: 8-byte length, HEADER padded to 8, then DATA_LEN bytes. */
static uint8_t *
safetensors(const char *header, size_t data_len, size_t *size, uint64_t *base)
{
	size_t n = strlen(header), padded = (n + 7) / 8 * 8;
	uint8_t *p = calloc(1, 8 + padded + data_len);
	uint64_t i;

	cr_assert_not_null(p);
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)padded >> (8 * i));
	memcpy(p + 8, header, n);
	memset(p + 8 + n, ' ', padded - n);
	*size = 8 + padded + data_len;
	*base = 8 + padded;
	return p;
}

static uint8_t *
read_data(const char *name, size_t *size)
{
	char path[1024];
	uint8_t *p;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/%s", getenv("MS_TEST_DATA"), name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	p = malloc((size_t)n);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return p;
}

Test(layout, formats_by_name)
{
	cr_assert_eq(ms_model_format_of("llama/model-00001-of-00004.safetensors"), MS_MODEL_SAFETENSORS);
	cr_assert_eq(ms_model_format_of("pytorch_model.bin"), MS_MODEL_ZIP);
	cr_assert_eq(ms_model_format_of("x/ckpt.pt"), MS_MODEL_ZIP);
	cr_assert_eq(ms_model_format_of("x/ckpt.pth"), MS_MODEL_ZIP);
	cr_assert_eq(ms_model_format_of("model.gguf"), MS_MODEL_NONE);
	cr_assert_eq(ms_model_format_of("safetensors"), MS_MODEL_NONE);
}

Test(layout, safetensors_in_two_steps)
{
	const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]},"
	    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[24,24]}}";
	uint64_t off, end, noff = 0, nend = 0, base;
	struct ms_layout l;
	size_t size;
	uint8_t *p = safetensors(h, 24, &size, &base);

	ms_layout_first_range(MS_MODEL_SAFETENSORS, size, &off, &end);
	cr_assert_eq(off, 0);
	cr_assert_eq(end, 8);
	cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, 8, 0, size, &l, &noff, &nend, err,
	    sizeof err), -EAGAIN);
	cr_assert_eq(noff, 0);
	cr_assert_eq(nend, base);
	cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, (size_t)base, 0, size, &l, &noff,
	    &nend, err, sizeof err), 0, "%s", err);
	cr_assert_eq(l.n, 2); /* the empty tensor has no bytes to read ahead */
	cr_assert_eq(l.spans[0].begin, base);
	cr_assert_eq(l.spans[0].end, base + 8);
	cr_assert_eq(l.spans[1].begin, base + 8);
	cr_assert_eq(l.spans[1].end, base + 24);
	cr_assert_eq(ms_layout_find(&l, base + 7), &l.spans[0]);
	cr_assert_eq(ms_layout_find(&l, base + 8), &l.spans[1]);
	cr_assert_null(ms_layout_find(&l, base - 1)); /* the header is no tensor */
	cr_assert_null(ms_layout_find(&l, base + 24));
	ms_layout_free(&l);
	free(p);
}

Test(layout, safetensors_refused)
{
	static const char *bad[] = {
		"[1,2]",                                                       /* not an object */
		"{\"a\":{\"data_offsets\":[0,99]}}",                          /* past the end */
		"{\"a\":{\"data_offsets\":[8,4]}}",                           /* backwards */
		"{\"a\":{\"data_offsets\":[-1,4]}}",                          /* negative */
		"{\"a\":{\"data_offsets\":[0,\"8\"]}}",                       /* not numbers */
		"{\"a\":{\"dtype\":\"F32\"}}",                                /* no offsets */
		"{\"a\":{\"data_offsets\":[0,16]},\"b\":{\"data_offsets\":[8,24]}}", /* overlapping */
		"{\"a\":{\"data_offsets\":[0,8]",                             /* cut short */
	};
	uint64_t noff, nend, base;
	struct ms_layout l;
	size_t i, size;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t *p = safetensors(bad[i], 24, &size, &base);

		err[0] = '\0';
		cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, size, 0, size, &l, &noff, &nend,
		    err, sizeof err), -EINVAL, "%s", bad[i]);
		cr_assert_neq(err[0], '\0');
		cr_assert_null(l.spans);
		free(p);
	}
}

Test(layout, safetensors_length_out_of_range)
{
	uint8_t p[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	uint64_t noff, nend;
	struct ms_layout l;

	cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, 16, 0, 16, &l, &noff, &nend, err,
	    sizeof err), -EINVAL);
	memset(p, 0, 8);
	p[0] = 9; /* one byte past the object */
	cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, 16, 0, 16, &l, &noff, &nend, err,
	    sizeof err), -EINVAL);
	cr_assert_eq(ms_layout_parse(MS_MODEL_SAFETENSORS, p, 4, 0, 4, &l, &noff, &nend, err,
	    sizeof err), -EINVAL); /* shorter than its length field */
}

/* Entries of the fixtures (Python's zipfile): local header offsets and the directory's start. */
static void
check_zip(const char *name, const uint64_t *locals, uint64_t cd_off)
{
	uint64_t off, end, noff = 0, nend = 0;
	struct ms_layout l;
	size_t size, i;
	uint8_t *p = read_data(name, &size);

	ms_layout_first_range(MS_MODEL_ZIP, size, &off, &end);
	cr_assert_eq(off, 0); /* smaller than the tail looked at */
	cr_assert_eq(end, size);
	/* Only the last 40 bytes: what is missing is asked for, as the daemon does, until the
	 * directory is in hand; each ask reaches further back and ends at the end. */
	off = size - 40;
	for (i = 0; i < 4; i++) {
		int rc = ms_layout_parse(MS_MODEL_ZIP, p + off, size - off, off, size, &l, &noff, &nend,
		    err, sizeof err);

		if (rc == 0)
			break;
		cr_assert_eq(rc, -EAGAIN, "%s: %s", name, err);
		cr_assert_lt(noff, off);
		cr_assert_eq(nend, size);
		off = noff;
	}
	cr_assert_lt(i, 4);
	cr_assert_leq(off, cd_off);
	cr_assert_eq(l.n, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(l.spans[i].begin, locals[i]);
		cr_assert_eq(l.spans[i].end, i < 2 ? locals[i + 1] : cd_off);
	}
	ms_layout_free(&l);
	free(p);
}

Test(layout, zip)
{
	static const uint64_t locals[] = { 0, 94, 189 };

	check_zip("layout-zip.zip", locals, 285);
}

Test(layout, zip64)
{
	static const uint64_t locals[] = { 0, 114, 229 };

	check_zip("layout-zip64.zip", locals, 345);
}

Test(layout, zip_refused)
{
	uint64_t noff, nend;
	struct ms_layout l;
	size_t size;
	uint8_t *p = read_data("layout-zip.zip", &size);

	/* No end record: a plain file named .bin. */
	cr_assert_eq(ms_layout_parse(MS_MODEL_ZIP, p, 100, 0, 100, &l, &noff, &nend, err,
	    sizeof err), -EINVAL);
	/* A directory entry's signature damaged. */
	p[285] ^= 0xff;
	cr_assert_eq(ms_layout_parse(MS_MODEL_ZIP, p, size, 0, size, &l, &noff, &nend, err,
	    sizeof err), -EINVAL);
	cr_assert_null(l.spans);
	p[285] ^= 0xff;
	/* The directory said to start past the end record. */
	p[size - 22 + 16] = 0xff;
	cr_assert_eq(ms_layout_parse(MS_MODEL_ZIP, p, size, 0, size, &l, &noff, &nend, err,
	    sizeof err), -EINVAL);
	free(p);
}
