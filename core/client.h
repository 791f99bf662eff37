/*
 * client.h: the client side of the daemon protocol, used by the CLI and the shim: connect
 * (starting the daemon if asked), demand fills that wait, prefetch hints that do not, status.
 * Blocking calls on one socket; one struct ms_client per thread or under the caller's lock.
 */
#ifndef MS_CLIENT_H
#define MS_CLIENT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proto.h"

/* What a request returns when the connection broke before the answer: reconnect and ask again. */
#define MS_CLIENT_LOST (-ENOTCONN)

struct ms_client {
	int fd;
	uint64_t next_id;
};

/* Connects to the daemon of CFG's cache dir. -ENOENT / -ECONNREFUSED when none is running. */
int ms_client_connect(struct ms_client *cl, const struct ms_config *cfg) __attribute__((warn_unused_result));

/*
 * Connects, starting "EXE daemon --config FILE" (detached, output to DIR/daemon.log) if no daemon
 * answers, and waits up to 10 s for it. Several callers racing here end up with one daemon. The
 * caller gets no child and no SIGCHLD from this: the launcher is a clone child reaped here.
 */
int ms_client_connect_or_start(struct ms_client *cl, const struct ms_config *cfg, const char *exe)
	__attribute__((warn_unused_result));

void ms_client_close(struct ms_client *cl);

/*
 * Asks for bytes [off, off + len) of KEY in MOUNT and waits until they are present. INO is the
 * st_ino of the tree file the caller reads (0: any); FLAGS: MS_FILL_* (0: a plain demand fill).
 * Returns 0, MS_FILL_RANGE_READY (only with MS_FILL_RANGE: those bytes are in the cache file,
 * their chunks not complete), or the daemon's -errno with its message in ERR; MS_CLIENT_LOST
 * (with a message) if the daemon went away before answering.
 */
int ms_client_fill(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, uint32_t flags, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * A read's fill (FLAGS has MS_FILL_RANGE): as ms_client_fill, but for LEN <= MS_FILL_BYTES_MAX
 * the daemon may answer with the bytes themselves, received into DST (LEN bytes of room): then
 * returns MS_CLIENT_BYTES with their count in *GOT (the file may not hold them yet); -EFAULT if
 * DST could not be written (the answer is then gone: ask again with another buffer).
 */
#define MS_CLIENT_BYTES 2
int ms_client_fill_read(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, uint32_t flags, void *dst, size_t *got, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Asks the daemon to check KEY's present chunks against their checksums and drop those that
 * fail. 0: all matched; -EBADMSG: some were dropped (ERR says how many); other -errno.
 */
int ms_client_verify(struct ms_client *cl, const char *mount, const char *key, uint64_t ino,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * KEY is missing from MOUNT's namespace: asks the daemon to look for it in the store (and import
 * it). 0: it is in the namespace now; -ENOENT: the store has no such object; other -errno with
 * the reason in ERR.
 */
int ms_client_lookup(struct ms_client *cl, const char *mount, const char *key, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* Same request, no wait and no reply. */
int ms_client_prefetch(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino) __attribute__((warn_unused_result));

int ms_client_status(struct ms_client *cl, struct ms_msg_status_reply *out)
	__attribute__((warn_unused_result));

/* Each mount's credential source and expiry, as the daemon holds them (MS_MSG_CREDS). */
int ms_client_creds(struct ms_client *cl, struct ms_msg_creds_reply *out)
	__attribute__((warn_unused_result));

/* Records an open of KEY (for the eviction policy's last access); no reply. */
int ms_client_touch(struct ms_client *cl, const char *mount, const char *key, uint64_t ino)
	__attribute__((warn_unused_result));

/* Pipelined use: sends one FILL with FLAGS (MS_FILL_*) and returns its id in *ID. */
int ms_client_send_fill(struct ms_client *cl, uint32_t flags, const char *mount, const char *key,
    uint64_t off, uint64_t len, uint64_t ino, uint64_t *id) __attribute__((warn_unused_result));
/* Receives the next message into BUF (MS_MSG_MAX bytes) and decodes it into MSG. */
int ms_client_recv(struct ms_client *cl, void *buf, struct ms_msg *msg)
	__attribute__((warn_unused_result));

/* One eviction pass (see struct ms_msg_gc); the reply into OUT and its message into TEXT. */
int ms_client_gc(struct ms_client *cl, const struct ms_msg_gc *gc, const char *tenant,
    struct ms_msg_gc_done *out, char *text, size_t textlen) __attribute__((warn_unused_result));

#endif
