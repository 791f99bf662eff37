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

#define MODELSHIM_PROTOCOL_VERSION 1
#define MS_MSG_MAX 4096 /* no message is larger: the decoder rejects anything bigger */

enum ms_msg_type {
	/* Requests, client to daemon: 100-199. */
	MS_MSG_FILL = 100,     /* struct ms_msg_fill + mount + key: reply MS_MSG_FILL_DONE when done */
	MS_MSG_PREFETCH = 101, /* same body: no reply */
	MS_MSG_STATUS = 102,   /* no body: reply MS_MSG_STATUS_REPLY */

	/* Replies, daemon to client: 200-299. */
	MS_MSG_FILL_DONE = 200,    /* struct ms_msg_fill_done + message text */
	MS_MSG_STATUS_REPLY = 201, /* struct ms_msg_status_reply */
};

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
	uint32_t flags;     /* reserved, 0 */
};

struct ms_msg_fill_done {
	int32_t status;   /* 0 or -errno */
	uint32_t msg_len; /* bytes of message text that follow (no NUL) */
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
};

/* A decoded message; pointers point into the buffer that was decoded. */
struct ms_msg {
	struct ms_msg_hdr hdr;
	union {
		struct ms_msg_fill fill;
		struct ms_msg_fill_done done;
		struct ms_msg_status_reply status;
	} u;
	const char *mount; /* fill: mount name, mount_len bytes, not NUL-terminated */
	const char *key;   /* fill: key, key_len bytes */
	const char *text;  /* fill_done: message, msg_len bytes */
};

/* Encoders return the message length, or -EMSGSIZE if it would not fit in BUF / MS_MSG_MAX. */
int ms_proto_fill(void *buf, size_t cap, uint16_t type, uint64_t id, const char *mount,
    const char *key, uint64_t off, uint64_t len, uint64_t ino);
int ms_proto_fill_done(void *buf, size_t cap, uint64_t id, int32_t status, const char *text);
int ms_proto_status(void *buf, size_t cap, uint64_t id);
int ms_proto_status_reply(void *buf, size_t cap, uint64_t id, const struct ms_msg_status_reply *r);

/*
 * Decodes the LEN bytes of BUF into OUT. Checks the version, that the type is known, that the
 * header's length is LEN, and that the body and what it announces end exactly at LEN.
 * Returns 0 or -EBADMSG (-EPROTO for a version mismatch).
 */
int ms_proto_decode(const void *buf, size_t len, struct ms_msg *out) __attribute__((warn_unused_result));

#endif
