/*
 * model_layout.h: where the tensors of a checkpoint lie, read from the parts a loader reads
 * first: a .safetensors file's JSON header, a torch zip checkpoint's central directory. Pure
 * functions over bytes the daemon has already fetched (untrusted: every offset is checked
 * against the object's size); they never fetch, and a layout only ever steers prefetching,
 * never which bytes a program is given.
 */
#ifndef MS_MODEL_LAYOUT_H
#define MS_MODEL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* The largest header or directory read to learn a layout (a bigger one is left unread). */
#define MS_LAYOUT_MAX_HEADER (64u << 20)
/* What is read first of a zip: its end of central directory record may sit this far from the end. */
#define MS_ZIP_TAIL (65557u) /* 22-byte record + 65535-byte comment */

enum ms_model_format {
	MS_MODEL_NONE,        /* not a format we know: plain readahead */
	MS_MODEL_SAFETENSORS, /* *.safetensors: 8-byte length, JSON header, then tensor data */
	MS_MODEL_ZIP,         /* *.pt, *.pth, *.bin, *.ckpt: torch.save's zip (stored entries) */
};

/* [begin, end) of one tensor (safetensors) or one zip entry, absolute offsets in the object. */
struct ms_span {
	uint64_t begin, end;
};

/* Sorted by begin, not overlapping, within the object. */
struct ms_layout {
	struct ms_span *spans;
	size_t n;
};

/* The format a key names by its extension. */
enum ms_model_format ms_model_format_of(const char *key);

/*
 * The first part of an object of format F that holds its layout: [*off, *end). For safetensors
 * that is the 8-byte length (the header's own extent is known only once it is read), for a zip
 * its tail. SIZE is the object's size.
 */
void ms_layout_first_range(enum ms_model_format f, uint64_t size, uint64_t *off, uint64_t *end);

/*
 * Given the bytes BUF of [buf_off, buf_off + len) of an object of SIZE bytes, which hold the range
 * ms_layout_first_range named or a later one this asked for: 0 with *out filled (free with
 * ms_layout_free); -EAGAIN with [*need_off, *need_end) the range still to read first (it includes
 * what BUF holds); -EINVAL with a reason in ERR when the bytes are not a valid layout (nothing to
 * steer by: a plain file, or a damaged one); -ENOMEM.
 */
int ms_layout_parse(enum ms_model_format f, const uint8_t *buf, size_t len, uint64_t buf_off,
    uint64_t size, struct ms_layout *out, uint64_t *need_off, uint64_t *need_end, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* The span holding byte OFF, or NULL. */
const struct ms_span *ms_layout_find(const struct ms_layout *l, uint64_t off);

void ms_layout_free(struct ms_layout *l);

#endif
