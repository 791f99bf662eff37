/*
 * store_mem.h: a complete in-memory backend of sidecar/store.h for the unit tests of the fetch
 * state machine: objects held as byte arrays, every GET logged, and faults scripted per GET
 * (the answers a real or broken server gives). Test code only: never linked into the daemon.
 */
#ifndef MS_STORE_MEM_H
#define MS_STORE_MEM_H

#include <stdint.h>

#include "store.h"

enum store_mem_fault {
	MEM_OK,           /* the right answer: 206 (200 for a whole object), right ETag and range */
	MEM_HOLD,         /* the answer waits until store_mem_release() */
	MEM_HOLD_HALF,    /* half the body comes, the rest waits until store_mem_release() */
	MEM_HTTP_503,     /* SlowDown: transient */
	MEM_HTTP_403,     /* AccessDenied */
	MEM_HTTP_404,     /* NoSuchKey */
	MEM_HTTP_412,     /* PreconditionFailed: If-Match did not match */
	MEM_OTHER_ETAG,   /* a 206 naming another version */
	MEM_NO_ETAG,      /* a 206 naming no version */
	MEM_WRONG_RANGE,  /* a 206 starting one byte later than asked */
	MEM_WRONG_TOTAL,  /* a 206 whose Content-Range total is not the object's size */
	MEM_WHOLE_OBJECT, /* a 200 with the whole object, to a ranged GET */
	MEM_SHORT_BODY,   /* the connection closes after half the body */
};

/* One GET as the state machine started it. */
struct store_mem_get {
	unsigned mount_idx;
	char key[256];
	uint64_t off, len;
	char etag[64];
	enum store_mem_fault fault;
};

struct store *store_mem_new(const struct store_events *ev);
/* Serves SIZE bytes of BYTES (kept by the caller) as KEY of mount MOUNT_IDX, version ETAG. */
void store_mem_put(struct store *s, unsigned mount_idx, const char *key, const uint8_t *bytes,
    uint64_t size, const char *etag);
/* Queues FAULT for the next GET started (faults are taken in order; then MEM_OK). */
void store_mem_fault_next(struct store *s, enum store_mem_fault fault);
/* Lets every held answer go. */
void store_mem_release(struct store *s);
/* GETs started so far, and the I-th of them (0-based). */
unsigned store_mem_gets(const struct store *s);
const struct store_mem_get *store_mem_get_at(const struct store *s, unsigned i);
/* Transfers started and not done nor aborted; of them, paused by body(). */
unsigned store_mem_running(const struct store *s);
unsigned store_mem_paused(const struct store *s);

#endif
