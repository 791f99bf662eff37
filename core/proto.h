/*
 * proto.h: the wire protocol between clients (shim, CLI) and the daemon, over a SOCK_SEQPACKET
 * unix socket in the cache dir: one message per packet, a fixed header, a fixed body struct per
 * type, then the variable bytes the body announces. Host byte order (same machine).
 *
 * Bump MODELSHIM_PROTOCOL_VERSION whenever anything in this file changes shape.
 */
#ifndef MS_PROTO_H
#define MS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define MODELSHIM_PROTOCOL_VERSION 9
#define MS_MSG_MAX 4096 /* no message is larger: the decoder rejects anything bigger */

enum ms_msg_type {
	/* Requests, client to daemon: 100-199. */
	MS_MSG_FILL = 100,     /* struct ms_msg_fill + mount + key: reply MS_MSG_FILL_DONE when done */
	MS_MSG_PREFETCH = 101, /* same body: no reply */
	MS_MSG_STATUS = 102,   /* no body: reply MS_MSG_STATUS_REPLY */
	MS_MSG_TOUCH = 103,    /* struct ms_msg_fill + mount + key (off, len 0): an open; no reply */
	MS_MSG_GC = 104,       /* struct ms_msg_gc + tenant: reply MS_MSG_GC_DONE */
	/*
	 * struct ms_msg_fill + mount + key (off, len 0): check the object's present chunks against
	 * their checksums and drop those that fail, to be refetched by later fills. Reply
	 * MS_MSG_FILL_DONE: 0 if all matched, -EBADMSG if some were dropped (the text says how many).
	 */
	MS_MSG_VERIFY = 105,
	/*
	 * struct ms_msg_fill + mount + key (off, len, ino 0): KEY is missing from the mount's
	 * namespace; the daemon asks the store (one HEAD, negatives remembered [cache] lookup_ttl)
	 * and imports it if it is there. Reply MS_MSG_FILL_DONE: 0 (it is in the namespace now),
	 * -ENOENT (the store has no such object), or another -errno with the reason.
	 */
	MS_MSG_LOOKUP = 107,
	MS_MSG_CREDS = 106,    /* no body: reply MS_MSG_CREDS_REPLY */

	/* Replies, daemon to client: 200-299. */
	MS_MSG_FILL_DONE = 200,    /* struct ms_msg_fill_done + message text */
	MS_MSG_STATUS_REPLY = 201, /* struct ms_msg_status_reply */
	MS_MSG_GC_DONE = 202,      /* struct ms_msg_gc_done + message text */
	MS_MSG_CREDS_REPLY = 203,  /* struct ms_msg_creds_reply */
	/*
	 * struct ms_msg_fill_bytes + the bytes it announces: the answer to a fill asked with
	 * MS_FILL_BYTES. The only message that may be larger than MS_MSG_MAX (by the bytes it
	 * carries, at most MS_FILL_BYTES_MAX): received with ms_proto_decode_fill_bytes.
	 */
	MS_MSG_FILL_BYTES = 204,
};

/* ms_msg_fill.flags */
#define MS_FILL_WARM 0x1u /* warm-up: queued behind demand fills, on fewer connections */
/*
 * Warm-up into the mount's cluster cache tier (`warmup --tier`): OFF is the start of one aligned
 * tier block and LEN 0 or that block's length; the daemon asks the block's tier node for it and
 * discards the bytes (nothing is cached locally, nothing is asked of the origin but the proof).
 */
#define MS_FILL_TIER 0x2u
/*
 * A page fault of a lazy mapping (shim/uffd.c): a demand fill, but without the daemon's
 * sequential readahead, since the fault handler reads ahead itself (the chunks of its window
 * are asked with this flag too); a tensor's own end is still read ahead to (daemon_model.c).
 */
#define MS_FILL_FAULT 0x4u
/*
 * A demand fill whose client then reads exactly bytes [off, off + len) once (read, pread, AIO):
 * the daemon may answer as soon as those bytes are in the cache file, before their chunks are
 * complete, with status MS_FILL_RANGE_READY; the client then reads them but must not take their
 * chunks as present. Without the flag the answer is 0 only once every chunk is complete.
 */
#define MS_FILL_RANGE 0x8u
#define MS_FILL_RANGE_READY 1
/*
 * With MS_FILL_RANGE, for LEN <= MS_FILL_BYTES_MAX within one chunk: the client can also take
 * the bytes themselves in the answer (MS_MSG_FILL_BYTES), which the daemon sends as soon as they
 * are in a chunk's receive buffer, before they are written to the cache file (a cold read's
 * first bytes do not wait for a page-cache write). The bytes come from an answer of the store
 * checked like any (invariant 7); the client must not take their chunk as present.
 */
#define MS_FILL_BYTES 0x10u
#define MS_FILL_BYTES_MAX (64u * 1024)
#define MS_FILL_FLAGS (MS_FILL_WARM | MS_FILL_TIER | MS_FILL_FAULT | MS_FILL_RANGE | MS_FILL_BYTES)

struct ms_msg_hdr {
	uint16_t version; /* MODELSHIM_PROTOCOL_VERSION */
	uint16_t type;    /* enum ms_msg_type */
	uint32_t len;     /* whole message, header included */
	uint64_t id;      /* chosen by the client, echoed in the reply */
};

/* Make bytes [off, off + len) of object KEY of mount MOUNT present (len 0: to the end). */
struct ms_msg_fill {
	uint64_t off;
	uint64_t len;
	uint64_t ino;       /* st_ino of the tree file the client has open; 0 = any */
	uint16_t mount_len; /* bytes of mount name that follow the struct */
	uint16_t key_len;   /* bytes of key that follow the mount name */
	uint32_t flags;     /* MS_FILL_* */
};

/* Bytes [off, off + len) of the object a fill asked for; LEN bytes follow the struct. */
struct ms_msg_fill_bytes {
	uint64_t off;
	uint32_t len;
	uint32_t pad;
};

/* One eviction pass: make the cache hold at most TARGET bytes (and room for NEED more). */
enum ms_gc_mode {
	MS_GC_ALL = 0,          /* any tenant's objects, coldest first */
	MS_GC_TENANT = 1,       /* only TENANT's objects */
	MS_GC_BEFORE_START = 2, /* room for TENANT: other tenants' objects first, then its own */
};
struct ms_msg_gc {
	uint64_t target;     /* cached bytes to get down to (UINT64_MAX: the quota's low mark) */
	uint64_t need;       /* bytes that must fit afterwards, within the quota and the disk */
	uint32_t mode;       /* enum ms_gc_mode */
	uint16_t tenant_len; /* bytes of tenant name that follow */
	uint16_t pad;
};

struct ms_msg_gc_done {
	int32_t status;           /* 0 or -errno (-ENOSPC: could not make enough room) */
	uint32_t msg_len;         /* message text that follows */
	uint64_t evicted_objects;
	uint64_t evicted_bytes;
	uint64_t cached_bytes;    /* after the pass */
	uint64_t quota;           /* the cache dir's quota (0: none) */
};

struct ms_msg_fill_done {
	int32_t status;   /* 0, -errno, or MS_FILL_RANGE_READY (asked with MS_FILL_RANGE only) */
	uint32_t msg_len; /* bytes of message text that follow (no NUL) */
};

/* Counters of one mount, in the order of the config's mounts. */
#define MS_STATUS_MOUNTS 64
struct ms_msg_status_mount {
	uint64_t requests;         /* fill requests (demand and warm-up) */
	uint64_t chunks_requested; /* chunks those requests covered */
	uint64_t chunks_present;   /* of them, present when asked: served from the cache */
	uint64_t fills;            /* chunks filled from the store */
	uint64_t bytes_fetched;
	uint64_t errors;           /* GETs that failed for good */
};

/* Counters of one node of a cluster cache tier, as this daemon saw it. */
#define MS_STATUS_TIER_NODES 16
struct ms_msg_status_tier_node {
	uint64_t requests;  /* block requests sent to the node */
	uint64_t hits;      /* answered from its cache (X-Modelshim-Tier: HIT) */
	uint64_t misses;    /* answered after a fetch from the origin (any other X-Modelshim-Tier) */
	uint64_t bytes;     /* body bytes received from it */
	uint64_t failures;  /* no connection, timeouts, 5xx, answers the daemon refused */
	uint32_t down;      /* 1 while marked down */
	uint16_t tier, node; /* indexes of [tier "NAME"] in the config and of the node in its nodes */
};

struct ms_msg_status_reply {
	uint64_t requests;      /* fill and prefetch requests received */
	uint64_t fills;         /* chunks filled from the store */
	uint64_t bytes_fetched; /* body bytes received from the store */
	uint64_t gets;          /* GET requests sent */
	uint64_t retries;       /* GETs retried */
	uint64_t errors;        /* fills that failed for good */
	uint64_t inflight;      /* chunks being fetched now */
	uint64_t clients;       /* connected clients */
	uint64_t uptime_s;
	uint64_t cached_bytes;  /* bytes of present chunks in the cache dir */
	uint64_t quota;         /* [cache] size, 0 for none */
	uint64_t evictions;     /* objects evicted */
	uint64_t evicted_bytes;
	uint64_t fill_p50_us;   /* latency of demand fills (request to reply), recent window */
	uint64_t fill_p99_us;
	uint64_t bytes_answers; /* fills answered with their bytes from a receive buffer */
	uint32_t nmounts;
	uint32_t ntier_nodes;  /* entries of tier_nodes in use: the first MS_STATUS_TIER_NODES nodes */
	struct ms_msg_status_mount mounts[MS_STATUS_MOUNTS];
	struct ms_msg_status_tier_node tier_nodes[MS_STATUS_TIER_NODES];
};
_Static_assert(sizeof(struct ms_msg_hdr) + sizeof(struct ms_msg_status_reply) <= MS_MSG_MAX,
    "a status reply fits in one message");

/* Where one mount's credentials come from and when they expire: never a key or a token. */
struct ms_msg_creds_mount {
	int64_t expiration; /* Unix seconds of the keys in use; 0: they do not expire */
	uint32_t renewals;  /* renewals since the daemon started */
	uint8_t source;     /* enum ms_cred_source (config.h), or MS_CRED_COUNT: a credentials file */
	uint8_t failing;    /* 1: the last renewal failed */
	uint16_t pad;
};
struct ms_msg_creds_reply {
	uint32_t nmounts;   /* entries in use, in the order of the config's mounts */
	uint32_t pad;
	struct ms_msg_creds_mount mounts[MS_STATUS_MOUNTS];
};

/* A decoded message; pointers point into the buffer that was decoded. */
struct ms_msg {
	struct ms_msg_hdr hdr;
	union {
		struct ms_msg_fill fill;
		struct ms_msg_fill_done done;
		struct ms_msg_status_reply status;
		struct ms_msg_gc gc;
		struct ms_msg_gc_done gc_done;
		struct ms_msg_creds_reply creds;
		struct ms_msg_fill_bytes bytes;
	} u;
	const char *mount; /* fill: mount name, mount_len bytes, not NUL-terminated */
	const char *key;   /* fill: key, key_len bytes */
	const char *text;  /* fill_done, gc_done: message, msg_len bytes */
	const char *tenant; /* gc: tenant_len bytes */
};

/* Encoders return the message length, or -EMSGSIZE if it would not fit in BUF / MS_MSG_MAX. */
int ms_proto_fill(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino);
int ms_proto_fill_done(void *buf, size_t cap, uint64_t id, int32_t status, const char *text);
int ms_proto_status(void *buf, size_t cap, uint64_t id);
int ms_proto_status_reply(void *buf, size_t cap, uint64_t id, const struct ms_msg_status_reply *r);
int ms_proto_creds(void *buf, size_t cap, uint64_t id);
int ms_proto_creds_reply(void *buf, size_t cap, uint64_t id, const struct ms_msg_creds_reply *r);
int ms_proto_gc(void *buf, size_t cap, uint64_t id, const struct ms_msg_gc *gc, const char *tenant);
int ms_proto_gc_done(void *buf, size_t cap, uint64_t id, const struct ms_msg_gc_done *r,
    const char *text);
/* FILL/PREFETCH/TOUCH with FLAGS (ms_proto_fill sends 0). */
int ms_proto_fill_flags(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino, uint32_t flags);

/* The head of a MS_MSG_FILL_BYTES (header and struct; LEN <= MS_FILL_BYTES_MAX bytes follow). */
#define MS_FILL_BYTES_HEAD (sizeof(struct ms_msg_hdr) + sizeof(struct ms_msg_fill_bytes))
int ms_proto_fill_bytes_head(void *buf, size_t cap, uint64_t id, uint64_t off, uint32_t len);

/*
 * Decodes the LEN bytes of BUF into OUT. Checks the version, that the type is known, that the
 * header's length is LEN, and that the body and what it announces end exactly at LEN.
 * Returns 0 or -EBADMSG (-EPROTO for a version mismatch).
 */
int ms_proto_decode(const void *buf, size_t len, struct ms_msg *out) __attribute__((warn_unused_result));
/*
 * Decodes the head of a MS_MSG_FILL_BYTES: HEAD holds its first MS_FILL_BYTES_HEAD bytes, TOTAL
 * is the whole message's length as received. Checks the version, the type, that the header's
 * length is TOTAL and that the bytes announced are what follows the head, at most
 * MS_FILL_BYTES_MAX. Returns 0 or -EBADMSG (-EPROTO for a version mismatch).
 */
int ms_proto_decode_fill_bytes(const void *head, size_t total, struct ms_msg *out)
    __attribute__((warn_unused_result));

#endif
