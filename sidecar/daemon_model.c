/*
 * daemon_model.c: model-aware prefetch. When a program opens an incomplete checkpoint, the part
 * a loader reads first (a .safetensors header, a torch zip's central directory at its end) is
 * fetched at once (a "*.bin", which may be no zip, is only parsed once the program read its
 * tail), so that first read joins a GET already under way instead of missing; once
 * those bytes are present the tensor layout is parsed (model_layout.c), and a read inside a
 * tensor reads ahead to that tensor's end and no further, so a loader touching 5% of a file
 * fetches about 5%; a fault of a lazy mmap does not (the handler reads ahead on its own fault
 * pattern: with both, runs touched inside large tensors fetched 2.3x the chunks they touched). A mount's `fill = open` fetches the whole object at open instead.
 * Owns o->model only: it decides what is fetched early, never which bytes a program is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "io.h"
#include "log.h"
#include "model_layout.h"

enum model_state {
	MODEL_WAITING, /* for [need_off, need_end) to be present, to be parsed */
	MODEL_READY,   /* layout holds the tensors */
	MODEL_NONE,    /* nothing to steer by: not a valid layout, or its bytes failed to come */
};

struct obj_model {
	enum ms_model_format format;
	enum model_state state;
	bool passive;  /* parsed only if the program's own reads bring the bytes: nothing fetched */
	uint64_t need_off, need_end;
	struct ms_layout layout;
};

static uint32_t
chunk_of(const struct obj *o, uint64_t off)
{
	return (uint32_t)(off / o->map.hdr.chunk_size);
}

static uint32_t
chunk_after(const struct obj *o, uint64_t end)
{
	uint32_t c = (uint32_t)((end + o->map.hdr.chunk_size - 1) / o->map.hdr.chunk_size);

	return c < o->map.hdr.nchunks ? c : o->map.hdr.nchunks;
}

static bool
range_present(const struct obj *o, uint32_t first, uint32_t end)
{
	for (; first < end; first++)
		if (o->state[first] != MS_CHUNK_PRESENT)
			return false;
	return true;
}

/* Parses what is needed if it is present; else asks for it. Loops while the parse asks for more. */
static void
model_advance(struct daemon *d, struct obj *o)
{
	struct obj_model *m = o->model;
	uint64_t need_off, need_end;
	char err[128];
	uint8_t *buf;
	size_t len;
	int rc;

	while (m->state == MODEL_WAITING) {
		uint32_t first = chunk_of(o, m->need_off), end = chunk_after(o, m->need_end);

		if (!range_present(o, first, end)) {
			if (!m->passive)
				obj_fetch_range(d, o, first, end, false);
			return;
		}
		len = (size_t)(m->need_end - m->need_off);
		if ((buf = malloc(len)) == NULL) {
			m->state = MODEL_NONE;
			return;
		}
		if ((rc = ms_pread_full(o->data_fd, buf, len, (off_t)m->need_off)) < 0) {
			ms_warn("%s: reading its layout from the cache: %s", o->key, strerror(-rc));
			free(buf);
			m->state = MODEL_NONE;
			return;
		}
		rc = ms_layout_parse(m->format, buf, len, m->need_off, o->map.hdr.size, &m->layout,
		    &need_off, &need_end, err, sizeof err);
		free(buf);
		if (rc == -EAGAIN && (need_off < m->need_off || need_end > m->need_end)) {
			m->need_off = need_off;
			m->need_end = need_end;
		} else if (rc == 0) {
			m->state = MODEL_READY;
			ms_debug("%s: %zu tensors: reads ahead to tensor ends", o->key, m->layout.n);
		} else {
			if (rc != -ENOMEM)
				ms_info("%s: no tensor layout (%s): plain readahead", o->key, err);
			m->state = MODEL_NONE;
		}
	}
}

/*
 * A "*.bin" is torch's zip as often as raw bytes of some other format: its layout is not fetched
 * at open, only parsed if the program reads the tail itself (torch reads a zip from its end).
 */
static bool
layout_at_open(const char *key)
{
	size_t n = strlen(key);

	return n < 4 || strcmp(key + n - 4, ".bin") != 0;
}

void
model_open(struct daemon *d, struct obj *o)
{
	enum ms_model_format f;

	if (ms_map_complete(&o->map) || o->map.hdr.nchunks == 0)
		return;
	if (d->cfg.mounts[o->mount_idx].fill_on_open)
		obj_fetch_range(d, o, 0, o->map.hdr.nchunks, false);
	if (o->model != NULL || (f = ms_model_format_of(o->key)) == MS_MODEL_NONE)
		return;
	if ((o->model = calloc(1, sizeof *o->model)) == NULL)
		return;
	o->model->format = f;
	o->model->state = MODEL_WAITING;
	o->model->passive = !layout_at_open(o->key);
	ms_layout_first_range(f, o->map.hdr.size, &o->model->need_off, &o->model->need_end);
	model_advance(d, o);
}

void
model_chunk_done(struct daemon *d, struct obj *o, uint32_t chunk, int status)
{
	struct obj_model *m = o->model;

	if (m == NULL || m->state != MODEL_WAITING || chunk < chunk_of(o, m->need_off) ||
	    chunk >= chunk_after(o, m->need_end))
		return;
	if (status < 0)
		m->state = MODEL_NONE; /* the reader's own fill reports the error; no retry loop here */
	else
		model_advance(d, o);
}

void
model_readahead(struct daemon *d, struct obj *o, uint64_t end)
{
	const struct ms_span *t;
	uint64_t stop;

	if (o->model == NULL || o->model->state != MODEL_READY || end == 0 ||
	    (t = ms_layout_find(&o->model->layout, end - 1)) == NULL || t->end <= end)
		return;
	stop = t->end - end > d->cfg.readahead ? end + d->cfg.readahead : t->end;
	obj_fetch_range(d, o, chunk_after(o, end), chunk_after(o, stop), false);
}

void
model_free(struct obj *o)
{
	if (o->model == NULL)
		return;
	ms_layout_free(&o->model->layout);
	free(o->model);
	o->model = NULL;
}
