/*
 * map.c: reading and writing presence maps (layout in map.h). All I/O is pread/pwrite at fixed
 * offsets so that concurrent readers see either the old or the new byte of the bitmap. Never
 * sets a bit by itself: the daemon calls ms_map_mark once a chunk's bytes are in the data file.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "map.h"

static size_t
bits_len(uint32_t nchunks)
{
	return ((size_t)nchunks + 7) / 8;
}

static off_t
bits_off(void)
{
	return (off_t)sizeof(struct ms_map_header);
}

static off_t
sums_off(uint32_t nchunks)
{
	/* Checksums start 8-aligned after the bitmap. */
	return bits_off() + (off_t)((bits_len(nchunks) + 7) & ~(size_t)7);
}

static off_t
file_len(uint32_t nchunks)
{
	return sums_off(nchunks) + (off_t)nchunks * 8;
}

static uint8_t boot_id[16];
static pthread_once_t boot_id_once = PTHREAD_ONCE_INIT;

/* Read once per process: it cannot change while the process lives (the shim asks at each open). */
static void
read_boot_id(void)
{
	uint8_t *out = boot_id;
	char text[64];
	ssize_t n;
	int fd, i = 0;
	const char *p;

	memset(out, 0, 16);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	for (p = text; *p != '\0' && i < 32; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		out[i / 2] = (uint8_t)(out[i / 2] | (i % 2 == 0 ? v << 4 : v));
		i++;
	}
}

void
ms_boot_id(uint8_t out[16])
{
	pthread_once(&boot_id_once, read_boot_id);
	memcpy(out, boot_id, sizeof boot_id);
}

uint32_t
ms_map_chunk_len(const struct ms_map_header *hdr, uint32_t i)
{
	uint64_t off = (uint64_t)i * hdr->chunk_size;

	if (off >= hdr->size)
		return 0;
	return (uint32_t)(hdr->size - off < hdr->chunk_size ? hdr->size - off : hdr->chunk_size);
}

int
ms_map_create(const char *path, uint64_t size, uint32_t chunk_size, uint64_t data_ino,
    int64_t mtime, const char *etag)
{
	struct ms_map_header hdr;
	size_t elen = strlen(etag);
	uint64_t nchunks;
	int fd, rc;

	if (chunk_size == 0 || elen >= sizeof hdr.etag)
		return -EINVAL;
	nchunks = (size + chunk_size - 1) / chunk_size;
	if (nchunks > MS_MAP_MAX_CHUNKS)
		return -EFBIG;
	memset(&hdr, 0, sizeof hdr);
	memcpy(hdr.magic, MS_MAP_MAGIC, sizeof hdr.magic);
	hdr.version = MS_MAP_VERSION;
	hdr.chunk_size = chunk_size;
	hdr.size = size;
	hdr.data_ino = data_ino;
	hdr.mtime = mtime;
	hdr.nchunks = (uint32_t)nchunks;
	hdr.etag_len = (uint32_t)elen;
	memcpy(hdr.etag, etag, elen);
	ms_boot_id(hdr.boot_id);

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = ms_pwrite_full(fd, &hdr, sizeof hdr, 0);
	if (rc == 0 && ftruncate(fd, file_len(hdr.nchunks)) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

static uint32_t
count_bits(const uint8_t *bits, uint32_t nchunks)
{
	uint32_t i, n = 0;

	for (i = 0; i < nchunks; i++)
		n += (bits[i >> 3] >> (i & 7)) & 1;
	return n;
}

int
ms_map_open(struct ms_map *m, const char *path, bool writable)
{
	struct stat st;
	int rc;

	memset(m, 0, sizeof *m);
	m->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	rc = ms_pread_full(m->fd, &m->hdr, sizeof m->hdr, 0);
	if (rc < 0)
		goto fail;
	rc = -EBADMSG;
	if (memcmp(m->hdr.magic, MS_MAP_MAGIC, sizeof m->hdr.magic) != 0 ||
	    m->hdr.version != MS_MAP_VERSION || m->hdr.chunk_size == 0 ||
	    m->hdr.etag_len >= sizeof m->hdr.etag || m->hdr.nchunks > MS_MAP_MAX_CHUNKS ||
	    m->hdr.nchunks != ms_chunks_for(m->hdr.size, m->hdr.chunk_size))
		goto fail;
	if (fstat(m->fd, &st) < 0 || st.st_size != file_len(m->hdr.nchunks))
		goto fail;
	m->hdr.etag[m->hdr.etag_len] = '\0';
	m->bits = calloc(1, bits_len(m->hdr.nchunks) + 1);
	if (m->bits == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = ms_pread_full(m->fd, m->bits, bits_len(m->hdr.nchunks), bits_off());
	if (rc < 0)
		goto fail;
	m->present = count_bits(m->bits, m->hdr.nchunks);
	return 0;
fail:
	ms_map_close(m);
	return rc;
}

void
ms_map_close(struct ms_map *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->bits);
	m->bits = NULL;
	m->fd = -1;
}

int
ms_map_refresh(struct ms_map *m, uint32_t first, uint32_t end)
{
	size_t b0, b1;
	int rc;

	if (end > m->hdr.nchunks)
		end = m->hdr.nchunks;
	if (first >= end)
		return 0;
	b0 = first / 8;
	b1 = (end - 1) / 8 + 1;
	rc = ms_pread_full(m->fd, m->bits + b0, b1 - b0, bits_off() + (off_t)b0);
	if (rc < 0)
		return rc;
	m->present = count_bits(m->bits, m->hdr.nchunks);
	return 0;
}

bool
ms_map_range_present(const struct ms_map *m, uint64_t off, uint64_t len)
{
	uint64_t first, end, i;

	if (len == 0 || off >= m->hdr.size)
		return true;
	if (len > m->hdr.size - off)
		len = m->hdr.size - off;
	first = off / m->hdr.chunk_size;
	end = (off + len - 1) / m->hdr.chunk_size + 1;
	for (i = first; i < end; i++)
		if (!ms_map_has(m, (uint32_t)i))
			return false;
	return true;
}

int
ms_map_mark(struct ms_map *m, uint32_t i, uint64_t sum)
{
	uint8_t byte;
	int rc;

	if (i >= m->hdr.nchunks)
		return -EINVAL;
	rc = ms_pwrite_full(m->fd, &sum, sizeof sum, sums_off(m->hdr.nchunks) + (off_t)i * 8);
	if (rc < 0)
		return rc;
	if (ms_map_has(m, i))
		return 0;
	byte = (uint8_t)(m->bits[i >> 3] | (1u << (i & 7)));
	rc = ms_pwrite_full(m->fd, &byte, 1, bits_off() + (off_t)(i >> 3));
	if (rc < 0)
		return rc;
	m->bits[i >> 3] = byte;
	m->present++;
	return 0;
}

int
ms_map_clear(struct ms_map *m, uint32_t i)
{
	uint8_t byte;
	int rc;

	if (i >= m->hdr.nchunks)
		return -EINVAL;
	if (!ms_map_has(m, i))
		return 0;
	byte = (uint8_t)(m->bits[i >> 3] & ~(1u << (i & 7)));
	rc = ms_pwrite_full(m->fd, &byte, 1, bits_off() + (off_t)(i >> 3));
	if (rc < 0)
		return rc;
	m->bits[i >> 3] = byte;
	m->present--;
	return 0;
}

int
ms_map_sum(const struct ms_map *m, uint32_t i, uint64_t *sum)
{
	if (i >= m->hdr.nchunks)
		return -EINVAL;
	return ms_pread_full(m->fd, sum, sizeof *sum, sums_off(m->hdr.nchunks) + (off_t)i * 8);
}

bool
ms_map_names(const struct ms_map *m, uint64_t ino, uint64_t size)
{
	return m->hdr.data_ino == ino && m->hdr.size == size;
}

bool
ms_map_same_boot(const struct ms_map *m)
{
	uint8_t now[16];

	ms_boot_id(now);
	return memcmp(now, m->hdr.boot_id, sizeof now) == 0;
}

int
ms_map_stamp_boot(struct ms_map *m)
{
	int rc;

	ms_boot_id(m->hdr.boot_id);
	rc = ms_pwrite_full(m->fd, m->hdr.boot_id, sizeof m->hdr.boot_id,
	    (off_t)offsetof(struct ms_map_header, boot_id));
	return rc;
}

int
ms_map_set_atime(struct ms_map *m, int64_t t)
{
	m->hdr.atime = t;
	return ms_pwrite_full(m->fd, &m->hdr.atime, sizeof m->hdr.atime,
	    (off_t)offsetof(struct ms_map_header, atime));
}

uint64_t
ms_map_cached_bytes(const struct ms_map *m)
{
	uint64_t bytes = (uint64_t)m->present * m->hdr.chunk_size;
	uint32_t last = m->hdr.nchunks - 1;

	/* Every present chunk is whole but perhaps the last one. */
	if (m->present > 0 && ms_map_has(m, last))
		bytes -= m->hdr.chunk_size - ms_map_chunk_len(&m->hdr, last);
	return bytes;
}
