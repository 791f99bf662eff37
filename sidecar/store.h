/*
 * store.h: the seam between the fetch state machine (daemon_fetch.c) and where an object's bytes
 * come from. A backend is a struct of functions (as OpenSMTPD's scheduler backends are): the S3
 * client over a curl multi handle (store_s3.c) in the daemon, a scripted in-memory store in the
 * unit tests; a cluster cache tier is another. A backend moves bytes and reports what the server
 * said; it never checks a response against the imported object, never writes to the cache and
 * never decides on retries: all of that is the state machine's, the same for every backend.
 *
 * Events of one transfer, in order: head (once, for a 200 or 206 answer, before any body byte),
 * body (zero or more times), done (exactly once, last, unless the transfer was aborted). Events
 * run inside progress(), and body events also inside resume(); never inside start or abort.
 */
#ifndef MS_STORE_H
#define MS_STORE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* One GET, as the state machine asks for it. */
struct store_get {
	unsigned mount_idx;
	const char *key;   /* relative to the mount's prefix */
	uint64_t off, len; /* len 0: the whole object, without a Range header */
	const char *etag;  /* the imported version (If-Match); "" for none */
	uint64_t size;     /* the object's size, as imported */
	unsigned attempt;  /* 0 for the first try of these bytes: a backend may route retries elsewhere */
	bool tier_only;    /* a warm-up into the cluster tier: a tier node or nothing (-EHOSTDOWN) */
};

/* The head of a 200 or 206 answer. */
struct store_head {
	int status;               /* 200 or 206 */
	const char *etag;         /* "" when the answer named no version */
	bool have_range;          /* a Content-Range "bytes A-B/TOTAL" was sent and parsed */
	uint64_t range_start, range_total;
};

/* How a transfer ended. */
struct store_result {
	/*
	 * 0: the body ended without error (it may still be shorter than asked); -EAGAIN: a
	 * transient failure (5xx, 429, reset, timeout, short body), worth a retry; -ESTALE: the
	 * object changed (412 on If-Match); -EACCES; -ENOENT; -EIO: anything else.
	 */
	int err;
	char what[200]; /* the failure in words ("HTTP 403 AccessDenied", "timed out ..."), or "" */
};

/* What a HEAD of an object found (store_ops.lookup). */
struct store_lookup {
	int err;          /* 0: found; -ENOENT: no such object; -EACCES, -EAGAIN, -EIO as for a GET */
	char what[200];   /* the failure in words, or "" */
	uint64_t size;
	int64_t mtime;    /* Last-Modified, Unix seconds (0 when not sent) */
	char etag[128];   /* as the server sent it, quotes included (MS_ETAG_MAX) */
};
typedef void (*store_lookup_fn)(void *arg, const struct store_lookup *r);

#define STORE_WAIT_FDS_MAX 1024

/* body() returns this to take nothing now: the same bytes come again after resume(). */
#define STORE_BODY_PAUSE SIZE_MAX

/* What the backend calls; JOB is the pointer given to start(). */
struct store_events {
	/* 0 to take the body, or -errno to refuse the answer (the transfer then ends). */
	int (*head)(void *job, const struct store_head *h);
	/* N when all of P was taken, STORE_BODY_PAUSE, or less than N to stop the transfer. */
	size_t (*body)(void *job, const uint8_t *p, size_t n);
	/* The transfer is over; its handle is gone once this returns. */
	void (*done)(void *job, const struct store_result *r);
};

struct store;
struct store_xfer;

struct store_ops {
	const char *name;
	/* Starts G; events for it carry JOB. 0 and *out, or -errno (no event then). */
	int (*start)(struct store *s, const struct store_get *g, void *job, struct store_xfer **out);
	/* Resumes a transfer whose body() returned STORE_BODY_PAUSE. */
	void (*resume)(struct store *s, struct store_xfer *x);
	/* Ends a transfer at once, without a done event. */
	void (*abort)(struct store *s, struct store_xfer *x);
	/*
	 * Waits at most TIMEOUT_MS until a transfer can progress or one of FDS is ready (its
	 * revents set, as poll(2) does). NFDS <= STORE_WAIT_FDS_MAX.
	 */
	void (*wait)(struct store *s, struct pollfd *fds, unsigned nfds, int timeout_ms);
	/* Moves every transfer as far as it can go now, calling the events. */
	void (*progress)(struct store *s);
	/*
	 * Starts a HEAD of KEY (kept by the caller until DONE or abort) of mount MOUNT_IDX at the
	 * origin, never a tier; DONE(ARG, result) runs once, inside progress(), unless aborted.
	 * 0 and *out, or -errno. NULL in a backend that cannot look objects up.
	 */
	int (*lookup)(struct store *s, unsigned mount_idx, const char *key, store_lookup_fn done,
	    void *arg, struct store_xfer **out);
	/* Fills R's counters of the backend's own (a tier's nodes); leaves the rest of R alone. */
	void (*status)(struct store *s, struct ms_msg_status_reply *r);
	/* Fills R with each mount's credential source and expiry; NULL: a backend without any. */
	void (*creds)(struct store *s, struct ms_msg_creds_reply *r);
	void (*free)(struct store *s);
};

/* Every backend's state starts with this. */
struct store {
	const struct store_ops *ops;
	const struct store_events *ev;
};

#endif
