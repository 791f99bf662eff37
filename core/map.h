/*
 * map.h: the persistent presence map of one cached object: which chunks of its sparse data file
 * hold the object's bytes at the imported ETag, with an xxh3 checksum per chunk. Only the daemon
 * and import write maps; readers (CLI, shim) only read them. A chunk bit is set only after its
 * bytes were written to the data file (invariant 9); a map whose data_ino does not match the data
 * file, or whose boot id differs from the running kernel's, is never trusted as it stands.
 */
#ifndef MS_MAP_H
#define MS_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define MS_MAP_MAGIC "MSMAP01"
#define MS_MAP_VERSION 1
/* Objects larger than this many chunks are refused (64 TiB at 4 MiB chunks). */
#define MS_MAP_MAX_CHUNKS (16u << 20)

/* On-disk header; bump MS_MAP_VERSION if this changes. Followed by the bitmap, then checksums. */
struct ms_map_header {
	char magic[8];
	uint32_t version;
	uint32_t chunk_size;
	uint64_t size;        /* object size in bytes */
	uint64_t data_ino;    /* st_ino of the tree file these chunks belong to */
	int64_t mtime;        /* Last-Modified, seconds */
	uint32_t nchunks;
	uint32_t etag_len;
	char etag[MS_ETAG_MAX];
	uint8_t boot_id[16];  /* kernel boot id when chunks were last marked */
	int64_t atime;        /* last access (open or fill) recorded by the daemon; 0: never */
	uint64_t reserved[1];
};

struct ms_map {
	int fd;
	struct ms_map_header hdr;
	uint8_t *bits;        /* (nchunks + 7) / 8 bytes, a copy of the file's bitmap */
	uint32_t present;     /* number of bits set */
};

static inline uint32_t
ms_chunks_for(uint64_t size, uint32_t chunk_size)
{
	return (uint32_t)((size + chunk_size - 1) / chunk_size);
}

/* Byte length of chunk I of HDR's object (the last one may be short). */
uint32_t ms_map_chunk_len(const struct ms_map_header *hdr, uint32_t i);

/* Creates a fresh map file at PATH (O_EXCL, mode 0644) with no chunk present. */
int ms_map_create(const char *path, uint64_t size, uint32_t chunk_size, uint64_t data_ino,
    int64_t mtime, const char *etag) __attribute__((warn_unused_result));

/*
 * Opens the map at PATH (WRITABLE for the daemon) and loads header and bitmap. Checks magic,
 * version, sizes and file length: -EBADMSG if anything is off, -ENOENT if there is none.
 */
int ms_map_open(struct ms_map *m, const char *path, bool writable) __attribute__((warn_unused_result));
void ms_map_close(struct ms_map *m);

/* Re-reads the bitmap bytes covering chunks [first, end) from the file. */
int ms_map_refresh(struct ms_map *m, uint32_t first, uint32_t end) __attribute__((warn_unused_result));

static inline bool
ms_map_has(const struct ms_map *m, uint32_t i)
{
	return (m->bits[i >> 3] >> (i & 7)) & 1;
}

static inline bool
ms_map_complete(const struct ms_map *m)
{
	return m->present == m->hdr.nchunks;
}

/* True if every chunk touching bytes [off, off + len) is present (in the loaded bitmap). */
bool ms_map_range_present(const struct ms_map *m, uint64_t off, uint64_t len);

/*
 * Daemon only: records chunk I as present with checksum SUM. Writes the checksum, then the
 * bitmap byte; the caller has already written the chunk's bytes to the data file.
 */
int ms_map_mark(struct ms_map *m, uint32_t i, uint64_t sum) __attribute__((warn_unused_result));

/* Daemon only: clears chunk I (a checksum mismatch found by verification). */
int ms_map_clear(struct ms_map *m, uint32_t i) __attribute__((warn_unused_result));

/* Reads the stored checksum of chunk I. */
int ms_map_sum(const struct ms_map *m, uint32_t i, uint64_t *sum) __attribute__((warn_unused_result));

/* True if the map's boot id is the running kernel's (its marks survived no reboot). */
bool ms_map_same_boot(const struct ms_map *m);

/*
 * True when M describes the data file whose inode is INO and size SIZE: the one check that a map
 * belongs to the tree file beside it (an eviction or an import replaces both, data file first).
 */
bool ms_map_names(const struct ms_map *m, uint64_t ino, uint64_t size);

/* Daemon only: stamps the running kernel's boot id into the header. */
int ms_map_stamp_boot(struct ms_map *m) __attribute__((warn_unused_result));

/* Daemon only: records a last access at T (seconds). */
int ms_map_set_atime(struct ms_map *m, int64_t t) __attribute__((warn_unused_result));

/* Bytes of present chunks. */
uint64_t ms_map_cached_bytes(const struct ms_map *m);

/* The running kernel's boot id (from /proc/sys/kernel/random/boot_id); zeros if unreadable. */
void ms_boot_id(uint8_t out[16]);

#endif
