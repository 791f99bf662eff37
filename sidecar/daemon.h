/*
 * daemon.h: the state of `modelshim daemon`, shared by its parts: the loop and socket
 * (daemon.c), clients and requests (daemon_client.c), objects, chunk states and waiters
 * (daemon_object.c), and fetching into the cache (daemon_fetch.c). Single-threaded: everything
 * runs in the loop, so nothing here takes a lock.
 */
#ifndef MS_DAEMON_H
#define MS_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#ifndef __unused
#define __unused __attribute__((__unused__)) /* for libbsd's RB_GENERATE_STATIC */
#endif
#include <sys/tree.h>

#include <liburing.h>

#include "clock.h"
#include "config.h"
#include "evict.h"
#include "map.h"
#include "plan.h"
#include "proto.h"
#include "store.h"

/* A connected client; freed when dropped and no waiter holds it any more. */
struct client {
	TAILQ_ENTRY(client) link;
	int fd;             /* -1 once dropped */
	unsigned refs;      /* the client list's own, plus one per waiter */
	uint32_t uid, pid;  /* the peer's, checked by the kernel when it connected */
	bool admin;         /* the daemon's own user (or root): may use every mount, status, gc */
	uint64_t mounts_ok; /* bit I: may fill and open mount I (MS_MAX_MOUNTS is 64) */
	bool warned;        /* a refusal of this client has been logged */
};

/* One request of one client waiting for chunks [first, end) of an object. */
struct waiter {
	TAILQ_ENTRY(waiter) link;
	struct client *cl;  /* held with client_ref; replies are dropped once it has gone */
	uint64_t id;
	uint32_t first, end;
	uint32_t pending;   /* chunks still being fetched */
	uint64_t off, len;  /* the bytes asked for */
	bool range_ok;      /* MS_FILL_RANGE: answered once its bytes are written (obj_range_written) */
	bool bytes_ok;      /* MS_FILL_BYTES: answered with its bytes once received (obj_range_received) */
	int status;         /* first error seen, 0 if none */
	bool demand;        /* a program waits on it (not a warm-up): its latency is recorded */
	uint64_t start_ms;
	char msg[256];
};
TAILQ_HEAD(waiter_list, waiter);

struct chunk_fill;

/* One object the daemon is serving: its open data file, writable map and chunk states. */
struct obj {
	RB_ENTRY(obj) node;
	TAILQ_ENTRY(obj) idle_link; /* on d->idle while refs == 0, on d->detached once detached */
	unsigned mount_idx;
	char *key;
	int data_fd;
	uint64_t ino;
	struct ms_map map;
	uint8_t *state;             /* enum ms_chunk_state per chunk */
	struct waiter_list waiters;
	TAILQ_HEAD(, chunk_fill) fills; /* its chunks being received and written (daemon_write.c) */
	unsigned refs;              /* waiters + jobs + chunk fills */
	unsigned writes;            /* chunk writes in flight */
	bool detached;              /* replaced by a re-import: on the detached list until unused */
	struct ms_readahead ra;
	struct obj_model *model;    /* daemon_model.c: its tensor layout; NULL: none looked for */
};
RB_HEAD(obj_tree, obj);
TAILQ_HEAD(obj_list, obj);

/* One GET of chunks [first, end) of an object; chunks before NEXT were received already. */
struct job {
	TAILQ_ENTRY(job) link;
	struct daemon *d;
	struct obj *o;
	uint32_t first, end, next;
	unsigned attempt;
	bool demand;
	uint64_t not_before_ms;     /* for retries with backoff */
	struct store_xfer *xfer;    /* the transfer running, NULL while queued */
	uint64_t reserved;          /* quota bytes held for chunks not received yet */
	struct chunk_fill *cf;      /* the chunk being received (daemon_write.c), NULL between chunks */
	bool cf_served;             /* a restart's next chunk: a reader was answered from its bytes */
	uint64_t received;          /* body bytes taken into chunks */
	uint64_t req_off, req_end;  /* the bytes asked for: the job's, or its whole tier block */
	uint64_t pos;               /* the object offset of the next body byte */
	int fail_status;            /* set by the events: -ESTALE, -EPROTO... when an answer is refused */
	bool paused;                /* held by the bandwidth limit */
	bool held;                  /* took its bytes of this pass: resumed by fetch_next_pass */
	bool awaited;               /* a program waits on a chunk it has still to receive (this pass) */
	uint32_t pass_bytes;        /* body bytes taken in this pass of the loop */
	struct client *warm_cl;     /* a warm-up into the tier (no chunks): answered to it, id warm_id */
	uint64_t warm_id;
};
TAILQ_HEAD(job_list, job);

/* Demand fill latencies, for the metrics' histogram (bucket bounds in daemon_metrics.c). */
#define FILL_HIST_BOUNDS 15
struct fill_hist {
	uint64_t buckets[FILL_HIST_BOUNDS + 1]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count, sum_ms;
};
struct metrics;
struct lookups;

struct daemon {
	struct ms_config cfg;
	struct store *store;  /* where fills come from: the S3 backend, or a test's */
	int listen_fd;
	int signal_fd;
	bool stopping;
	uint64_t started_ms;

	TAILQ_HEAD(, client) clients;
	unsigned nclients;

	struct obj_tree objs;
	struct obj_list idle;
	struct obj_list detached;
	unsigned nobjs;

	struct job_list demand_q, prefetch_q, retry_q, active;
	unsigned nactive, nactive_low; /* GETs running; of them, prefetch and warm-up ones */

	struct io_uring ring;
	int ring_efd;
	unsigned writes_inflight;
	uint8_t **free_bufs;
	unsigned nfree_bufs, cap_free_bufs;
	unsigned nlent_bufs; /* chunk-size receive buffers out of the pool, receiving or being written */

	struct ms_msg_status_reply stats;

	uint64_t cached;   /* bytes of present chunks in the cache dir */
	uint64_t reserved; /* bytes of fills in flight, held against the quota */
	uint64_t mcached[MS_MAX_MOUNTS], mreserved[MS_MAX_MOUNTS]; /* the same per mount */
	const struct ms_evict_policy *policy;
	struct ms_evict_index evict; /* the cached objects eviction picks from (daemon_evict.c) */

	double bw_tokens;      /* bytes the node-wide bandwidth limit lets through now */
	uint64_t bw_last_ms;
	unsigned npaused;
	unsigned nheld;       /* jobs held for their pass budget (fetch_next_pass resumes them) */
	bool pass_awaited;    /* an awaited job runs in this pass: the others take less */

	uint32_t lat_us[1024]; /* the latest demand fill latencies (a ring) */
	unsigned lat_n, lat_next;
	struct fill_hist fill_hist; /* every demand fill latency since start */

	struct metrics *metrics; /* the HTTP endpoint ([cache] metrics), NULL when off */
	struct lookups *lookups; /* names missing from the namespace (daemon_lookup.c), or NULL */
};

/* An empty daemon state: no socket, store or ring yet (daemon.c). NULL if out of memory. */
struct daemon *daemon_new(void);

/* daemon_client.c */
int clients_accept(struct daemon *d);
void client_readable(struct daemon *d, struct client *cl);
/* daemon_peer.c: who CL is (SO_PEERCRED, SO_PEERGROUPS on FD) and which mounts it may use. */
int peer_identify(const struct daemon *d, struct client *cl, int fd);
/* True if CL is admin or of TENANT (its gid among CL's groups). */
bool peer_of_tenant(const struct daemon *d, const struct client *cl, const char *tenant);
void client_drop(struct daemon *d, struct client *cl);
void client_ref(struct client *cl);
void client_unref(struct daemon *d, struct client *cl);
int client_fd(const struct client *cl);
void client_reply_done(struct daemon *d, struct client *cl, uint64_t id, int status, const char *msg);
/* The same reply, not counted as a request's error (a lookup's answer). */
void client_reply(struct daemon *d, struct client *cl, uint64_t id, int status, const char *msg);
/*
 * Answers fill ID with LEN bytes of the object from OFF (MS_MSG_FILL_BYTES). False if the
 * socket has no room for the message now (the request is to be answered the usual way); true
 * once sent, or if the client is gone (dropped).
 */
bool client_reply_bytes(struct daemon *d, struct client *cl, uint64_t id, uint64_t off,
    const uint8_t *bytes, uint32_t len);

/* daemon_evict.c */
/* One scan of the cache dir: the totals, and the index of cached objects eviction picks from. */
void evict_init(struct daemon *d);
void evict_fini(struct daemon *d);
/* O was accessed (an open, a fill asked for): it goes last in the eviction order. */
void evict_touch(struct daemon *d, struct obj *o);
/* BYTES of O were just filled (marked present in its map): counted as cached, O indexed. */
void evict_filled(struct daemon *d, struct obj *o, uint64_t bytes);
/* Makes room for BYTES more of mount MOUNT_IDX (its tenant's quota, then the cache dir's),
 * evicting past the high watermarks; -ENOSPC if it cannot. */
int evict_admit(struct daemon *d, unsigned mount_idx, uint64_t bytes);
/* Accounting: BYTES of mount MOUNT_IDX become cached (or reserved); negative to undo. */
void account_cached(struct daemon *d, unsigned mount_idx, int64_t bytes);
void account_reserved(struct daemon *d, unsigned mount_idx, int64_t bytes);
int evict_pass(struct daemon *d, enum ms_gc_mode mode, const char *tenant, uint64_t target,
    uint64_t need, struct ms_msg_gc_done *out);

/* daemon_object.c */
bool obj_busy(struct daemon *d, unsigned mount_idx, const char *key);
void obj_forget(struct daemon *d, unsigned mount_idx, const char *key);
void obj_touch(struct daemon *d, struct obj *o);
/* Drops O's present chunks that fail their checksum (daemon_object.c); counts them. */
int obj_verify_chunks(struct obj *o, uint32_t *checked, uint32_t *bad, uint64_t *bad_bytes);
int obj_get(struct daemon *d, unsigned mount_idx, const char *key, uint64_t ino, struct obj **out,
    char *err, size_t errlen);
void obj_unref(struct daemon *d, struct obj *o);
/* The size of O's tier blocks, 0 when its mount reads the origin only (or its chunks do not fit). */
uint64_t obj_tier_block(const struct daemon *d, const struct obj *o);
/*
 * daemon_lookup.c: KEY (checked) is missing from mount MOUNT_IDX's namespace: CL gets the reply
 * to ID once the store was asked (0: imported now, -ENOENT: not there). lookups_fini at shutdown.
 */
void lookup_request(struct daemon *d, struct client *cl, uint64_t id, unsigned mount_idx,
    const char *key);
void lookups_fini(struct daemon *d);
/* daemon_warm_tier.c: a warm-up into the tier of bytes [OFF, OFF + LEN) of O (one block). */
void warm_tier_request(struct daemon *d, struct obj *o, struct client *cl, uint64_t id, uint64_t off,
    uint64_t len);
/*
 * KIND: a program's demand fill (waits), a lazy mapping's fault (a demand fill without the
 * sequential readahead: its handler reads ahead itself), a warm-up (waits, low priority), or a
 * prefetch hint. ANSWERS: the early answers a demand fill accepts (MS_FILL_RANGE, MS_FILL_BYTES).
 */
enum fill_kind { FILL_DEMAND, FILL_FAULT, FILL_WARM, FILL_PREFETCH };
int obj_request(struct daemon *d, struct obj *o, struct client *cl, uint64_t id, uint64_t off,
    uint64_t len, enum fill_kind kind, uint32_t answers);
/*
 * The first PREFIX bytes of chunk CHUNK of O are in the cache file (its fill goes on): answers
 * with MS_FILL_RANGE_READY the waiters that accept it whose bytes are all there now. True if
 * it answered one.
 */
bool obj_range_written(struct daemon *d, struct obj *o, uint32_t chunk, uint32_t prefix);
/*
 * The first FILLED bytes of chunk CHUNK of O are in its receive buffer BUF: answers with their
 * bytes the waiters that accept them (MS_FILL_BYTES) whose bytes are all there now.
 */
void obj_range_received(struct daemon *d, struct obj *o, uint32_t chunk, const uint8_t *buf,
    uint32_t filled);
void obj_chunk_done(struct daemon *d, struct obj *o, uint32_t chunk, int status, const char *msg);
void objs_close_all(struct daemon *d);
/* Queues GETs (prefetch unless DEMAND) for the absent chunks of [first, end) of O. */
void obj_fetch_range(struct daemon *d, struct obj *o, uint32_t first, uint32_t end, bool demand);

/*
 * daemon_model.c: model-aware prefetch. model_open at a program's open of O (its layout's bytes,
 * or with fill = open the whole object, fetched at once); model_chunk_done as each chunk ends;
 * model_readahead after a demand read ending at byte END (on to its tensor's end); model_free.
 */
void model_open(struct daemon *d, struct obj *o);
void model_chunk_done(struct daemon *d, struct obj *o, uint32_t chunk, int status);
void model_readahead(struct daemon *d, struct obj *o, uint64_t end);
void model_free(struct obj *o);

/*
 * daemon_metrics.c: the optional Prometheus endpoint (/metrics, /healthz, /readyz), polled by
 * the loop. metrics_start: 0 when off or listening, -errno after logging why not.
 */
int metrics_start(struct daemon *d);
void metrics_stop(struct daemon *d);
/* Sets *PFD to the endpoint's fd and lowers *TIMEOUT_MS to what it needs; 1, or 0 when off. */
unsigned metrics_pollfd(struct daemon *d, struct pollfd *pfd, int *timeout_ms);
/* Serves what the endpoint has to do after the wait that polled PFD. */
void metrics_run(struct daemon *d, const struct pollfd *pfd);
/* A demand fill took MS milliseconds (daemon_object.c records each). */
void metrics_observe_fill(struct daemon *d, uint64_t ms);

/* daemon_fetch.c: the fetch state machine. D->store must be made with fetch_events first. */
extern const struct store_events fetch_events;
int fetch_init(struct daemon *d);
/* Frees d->store too. */
void fetch_fini(struct daemon *d);
/*
 * Queues a GET of O's chunks [first, end), marked in flight; joined to the job queued last when
 * that one is O's, not started and ends at FIRST, and the two make at most MAX_CHUNKS.
 */
void fetch_enqueue(struct daemon *d, struct obj *o, uint32_t first, uint32_t end, bool demand,
    uint32_t max_chunks);
void fetch_start_due(struct daemon *d);
int fetch_next_timeout_ms(struct daemon *d);
void fetch_cancel_all(struct daemon *d);
/* A demand fill for chunks [first, end) of O: queued prefetch jobs of them become demand jobs. */
void fetch_promote(struct daemon *d, struct obj *o, uint32_t first, uint32_t end);
/*
 * A warm-up into the tier: one GET of O's whole tier block that starts at chunk FIRST, sent to a
 * tier node only, its answer checked as any other and its bytes discarded; CL gets the reply
 * to ID once it ends.
 */
void fetch_enqueue_tier_warm(struct daemon *d, struct obj *o, uint32_t first, struct client *cl,
    uint64_t id);
/* max_bandwidth: refills the token bucket and resumes the transfers it held. */
void fetch_pace(struct daemon *d);
/*
 * A new pass of the loop: every transfer may take its share of body again (a full one if a
 * program waits on it, less while others are waited on), and those held for their share in the
 * last pass are resumed (curl hands them what it kept).
 */
void fetch_next_pass(struct daemon *d);

/*
 * daemon_write.c: a chunk's bytes from its receive buffer into the cache file, in pieces as they
 * arrive; marked once all are written. chunk_fill_take copies N bytes (at most chunk_fill_room)
 * and writes what is due; chunk_fill_abandon gives up a chunk not received whole (freed once its
 * writes are done; its written bytes are never punched out if a reader was told of them).
 */
struct chunk_fill *chunk_fill_new(struct daemon *d, struct obj *o, uint32_t chunk, bool served);
uint32_t chunk_fill_room(const struct chunk_fill *cf);
int chunk_fill_take(struct daemon *d, struct chunk_fill *cf, const uint8_t *ptr, uint32_t n);
bool chunk_fill_served(const struct chunk_fill *cf);
/*
 * Whether the first END bytes of chunk CHUNK of O are in the cache file already (a fill of it
 * goes on); if so a reader is answered from them, which that fill remembers.
 */
bool chunk_fill_covers(struct obj *o, uint32_t chunk, uint32_t end);
/* The receive buffer of a fill of chunk CHUNK of O that holds its first END bytes, or NULL. */
const uint8_t *chunk_fill_received(const struct obj *o, uint32_t chunk, uint32_t end);
void chunk_fill_abandon(struct daemon *d, struct chunk_fill *cf);
void write_reap_one(struct daemon *d, struct io_uring_cqe *cqe);
/* Reaps the ring's finished writes (its eventfd polled readable). */
void fetch_reap_writes(struct daemon *d);

/*
 * recv_bufs.c: the pool of chunk receive buffers. recv_bufs_prime_one writes one more buffer's
 * pages and pools it while the daemon is idle and the pool is short of what one GET per
 * connection needs (first writes into new pages are slow on ballooned VMs);
 * recv_bufs_want_prime says whether it would.
 */
uint8_t *recv_buf_get(struct daemon *d, uint32_t size);
void recv_buf_put(struct daemon *d, uint8_t *buf, uint32_t size);
bool recv_bufs_want_prime(const struct daemon *d);
void recv_bufs_prime_one(struct daemon *d);
void recv_bufs_free(struct daemon *d);

#endif
