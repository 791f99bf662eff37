/*
 * verify.h: checking cached chunks against the checksums their map recorded when they were
 * filled. Used by the daemon (after a reboot, on request), `modelshim verify` and the shim's
 * verify-on-open mode. Only reads: clearing a bad chunk is the daemon's job (map.h).
 */
#ifndef MS_VERIFY_H
#define MS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "map.h"

/* A read buffer for ms_verify_chunk; any size works, a larger one takes fewer reads. */
#define MS_VERIFY_BUF (1u << 20)

/*
 * Reads chunk I of the data file FD in BUFLEN-byte pieces into BUF and compares its xxh3 with
 * the map's. 0: it matches; -EBADMSG: it does not (or the file is short); -errno: read failed.
 */
int ms_verify_chunk(int fd, const struct ms_map *m, uint32_t i, void *buf, size_t buflen)
	__attribute__((warn_unused_result));

#endif
