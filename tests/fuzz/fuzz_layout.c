/*
 * fuzz_layout.c: libFuzzer target for the checkpoint layouts the daemon reads from fetched
 * bytes (sidecar/model_layout.c): a safetensors header (JSON, json-c) or a zip's end records and
 * central directory. The first input byte picks the format, the rest is the whole object; the
 * daemon's loop is replayed (first range, then each range the parser asks for), and every
 * layout returned is checked: sorted, not overlapping, inside the object, each span found by
 * ms_layout_find. Never does I/O and keeps no state between runs; built only by scripts/fuzz.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../sidecar/model_layout.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_layout(const struct ms_layout *l, uint64_t size)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		CHECK(l->spans[i].begin <= l->spans[i].end && l->spans[i].end <= size);
		CHECK(i == 0 || l->spans[i - 1].end <= l->spans[i].begin);
		if (l->spans[i].begin < l->spans[i].end) {
			CHECK(ms_layout_find(l, l->spans[i].begin) == &l->spans[i]);
			CHECK(ms_layout_find(l, l->spans[i].end - 1) == &l->spans[i]);
		}
	}
	CHECK(ms_layout_find(l, size) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	enum ms_model_format f;
	struct ms_layout l;
	uint64_t size, off, end, noff, nend;
	char err[128];
	int rc, round;

	if (n < 1)
		return 0;
	f = data[0] % 2 == 0 ? MS_MODEL_SAFETENSORS : MS_MODEL_ZIP;
	data++;
	size = n - 1;
	ms_layout_first_range(f, size, &off, &end);
	for (round = 0; round < 4; round++) {
		CHECK(off <= end && end <= size);
		/* An exact-size copy, so that ASan sees a read past the range given. */
		uint8_t *buf = malloc(end - off + 1);
		CHECK(buf != NULL);
		for (uint64_t i = off; i < end; i++)
			buf[i - off] = data[i];
		rc = ms_layout_parse(f, buf, (size_t)(end - off), off, size, &l, &noff, &nend, err,
		    sizeof err);
		free(buf);
		if (rc == 0) {
			check_layout(&l, size);
			ms_layout_free(&l);
			return 0;
		}
		CHECK(l.spans == NULL && l.n == 0);
		if (rc != -EAGAIN)
			return 0;
		/* More is asked only beyond what was given, and only inside the object. */
		CHECK(noff <= off && nend >= end && (noff < off || nend > end) && nend <= size);
		off = noff;
		end = nend;
	}
	return 0;
}
