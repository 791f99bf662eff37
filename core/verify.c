/*
 * verify.c: one cached chunk checked against its recorded checksum, read in bounded pieces so a
 * 256 MiB chunk needs no 256 MiB buffer. Never writes anything.
 */
#include <errno.h>
#include <unistd.h>

#include <xxhash.h>

#include "verify.h"

int
ms_verify_chunk(int fd, const struct ms_map *m, uint32_t i, void *buf, size_t buflen)
{
	uint32_t len = ms_map_chunk_len(&m->hdr, i);
	off_t off = (off_t)i * m->hdr.chunk_size;
	XXH3_state_t *st;
	uint64_t want;
	uint32_t done = 0;
	ssize_t n;
	int rc;

	rc = ms_map_sum(m, i, &want);
	if (rc < 0)
		return rc;
	st = XXH3_createState();
	if (st == NULL)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	while (done < len) {
		n = pread(fd, buf, len - done < buflen ? len - done : buflen, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EBADMSG;
			break;
		}
		XXH3_64bits_update(st, buf, (size_t)n);
		done += (uint32_t)n;
	}
	if (rc == 0 && XXH3_64bits_digest(st) != want)
		rc = -EBADMSG;
	XXH3_freeState(st);
	return rc;
}
