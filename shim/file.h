/*
 * file.h: what fdtable.c (the table, fills) and object.c (opening objects) share about a tracked
 * file: its entry and the table's primitives. Private to the shim.
 */
#ifndef MS_SHIM_FILE_H
#define MS_SHIM_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One tracked file (an incomplete object, or a virtual directory); reference-counted. */
struct shim_file {
	atomic_uint refs;
	bool is_dir;
	atomic_bool complete;
	atomic_bool warned;
	atomic_bool open_fill_failed; /* the fill at open failed: the first read fails at once */
	unsigned mount;
	char *key;
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int64_t mtime;  /* the object's Last-Modified, from its map */
	uint32_t chunk_size, nchunks;
	uint8_t *bits; /* updated with atomic or */
};

void shim_file_free(struct shim_file *f);
/* True when chunks [FIRST, END) of F are present. */
bool shim_file_has(const struct shim_file *f, uint32_t first, uint32_t end);
/* MSG on stderr, once per file. */
void shim_file_warn_once(struct shim_file *f, const char *msg);
/* Puts F (a new reference, taken over) at FD, releasing what was there. */
void shim_fd_install(int fd, struct shim_file *f);
/* Clears FD if it still holds F (or anything, when F is NULL); it becomes NEW_KIND. */
void shim_fd_uninstall(int fd, struct shim_file *f, uint8_t new_kind);

#endif
