/*
 * daemon_client.c: the daemon's clients: accepting connections, decoding their requests, and
 * sending replies. Every request is decoded strictly and its key validated before it reaches
 * an object; a client that sends garbage is dropped, never trusted. Replies to a client that has
 * gone are dropped silently.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon.h"
#include "keys.h"
#include "log.h"

int
client_fd(const struct client *cl)
{
	return cl->fd;
}

void
client_ref(struct client *cl)
{
	cl->refs++;
}

/*
 * Not inlined: GCC 12 at -O3, inlining it twice into client_readable (the drop's unref, then the
 * handler's), reports a use after free it cannot rule out (the handler's reference keeps CL).
 */
__attribute__((noinline)) void
client_unref(struct daemon *d, struct client *cl)
{
	(void)d;
	if (--cl->refs == 0)
		free(cl);
}

int
clients_accept(struct daemon *d)
{
	struct client *cl;
	int fd;

	for (;;) {
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		cl = calloc(1, sizeof *cl);
		if (cl == NULL) {
			close(fd);
			return -ENOMEM;
		}
		if (peer_identify(d, cl, fd) < 0) {
			ms_warn("refusing a client whose credentials cannot be read: %s",
			    strerror(errno));
			free(cl);
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->refs = 1;
		TAILQ_INSERT_TAIL(&d->clients, cl, link);
		d->nclients++;
	}
}

void
client_drop(struct daemon *d, struct client *cl)
{
	if (cl->fd < 0)
		return;
	close(cl->fd);
	cl->fd = -1;
	TAILQ_REMOVE(&d->clients, cl, link);
	d->nclients--;
	client_unref(d, cl);
}

static void
client_send(struct daemon *d, struct client *cl, const void *buf, int len)
{
	ssize_t n;

	if (cl->fd < 0 || len < 0)
		return;
	do
		n = send(cl->fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* A client that does not read its replies, or has gone: let it go. */
		client_drop(d, cl);
	}
}

void
client_reply(struct daemon *d, struct client *cl, uint64_t id, int status, const char *msg)
{
	char buf[MS_MSG_MAX];

	client_send(d, cl, buf, ms_proto_fill_done(buf, sizeof buf, id, status, msg));
}

bool
client_reply_bytes(struct daemon *d, struct client *cl, uint64_t id, uint64_t off,
    const uint8_t *bytes, uint32_t len)
{
	char head[MS_FILL_BYTES_HEAD];
	struct iovec iov[2] = { { head, sizeof head }, { (void *)bytes, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (cl->fd < 0)
		return true;
	if (ms_proto_fill_bytes_head(head, sizeof head, id, off, len) < 0)
		return false;
	do
		n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		d->stats.bytes_answers++;
		return true;
	}
	/* No room in the socket for so large a message now: the client is answered the other way. */
	if (errno == EAGAIN || errno == ENOBUFS || errno == EMSGSIZE)
		return false;
	client_drop(d, cl);
	return true;
}

void
client_reply_done(struct daemon *d, struct client *cl, uint64_t id, int status, const char *msg)
{
	if (status < 0)
		d->stats.errors++;
	client_reply(d, cl, id, status, msg);
}

static int
find_mount(const struct daemon *d, const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < d->cfg.nmounts; i++)
		if (strlen(d->cfg.mounts[i].name) == len && memcmp(d->cfg.mounts[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* Logs the first refusal of CL (a hostile client must not flood the log). */
static void
refused(struct client *cl, const char *what)
{
	if (!cl->warned)
		ms_warn("refused uid %u (pid %u): %s", cl->uid, cl->pid, what);
	cl->warned = true;
}

/*
 * Checks O's present chunks against their checksums; those that fail are dropped (and their
 * bytes no longer counted as cached), so the next read of them refetches. Done inline: a client
 * asks only for an object it found bad (`modelshim verify`, verify-on-open).
 */
static void
handle_verify(struct daemon *d, struct client *cl, uint64_t id, struct obj *o)
{
	uint32_t checked, bad;
	uint64_t bytes;
	char text[256];
	int rc;

	rc = obj_verify_chunks(o, &checked, &bad, &bytes);
	account_cached(d, o->mount_idx, -(int64_t)bytes);
	if (rc < 0)
		snprintf(text, sizeof text, "%s: verifying: %s", o->key, strerror(-rc));
	else if (bad > 0)
		snprintf(text, sizeof text, "%s: %u of %u chunks failed their checksum and were "
		    "dropped; they are refetched when read", o->key, bad, checked);
	else
		snprintf(text, sizeof text, "%s: %u chunks match their checksums", o->key, checked);
	if (bad > 0 || rc < 0)
		ms_warn("%s", text);
	client_reply_done(d, cl, id, rc < 0 ? rc : bad > 0 ? -EBADMSG : 0, text);
}

static void
handle_fill(struct daemon *d, struct client *cl, const struct ms_msg *msg)
{
	enum fill_kind kind = msg->hdr.type == MS_MSG_FILL ?
	    ((msg->u.fill.flags & MS_FILL_WARM) != 0 ? FILL_WARM :
	    (msg->u.fill.flags & MS_FILL_FAULT) != 0 ? FILL_FAULT : FILL_DEMAND) : FILL_PREFETCH;
	bool demand = msg->hdr.type == MS_MSG_FILL || msg->hdr.type == MS_MSG_VERIFY ||
	    msg->hdr.type == MS_MSG_LOOKUP;
	char key[MS_KEY_PATH_MAX + 1], err[512];
	struct obj *o;
	int mount, rc;

	if (msg->hdr.type != MS_MSG_TOUCH && msg->hdr.type != MS_MSG_VERIFY &&
	    msg->hdr.type != MS_MSG_LOOKUP)
		d->stats.requests++;
	mount = find_mount(d, msg->mount, msg->u.fill.mount_len);
	if (mount >= 0 && msg->hdr.type == MS_MSG_FILL)
		d->stats.mounts[mount].requests++;
	if (mount < 0) {
		if (demand)
			client_reply_done(d, cl, msg->hdr.id, -ENOENT, "no such mount");
		return;
	}
	if ((cl->mounts_ok & ((uint64_t)1 << mount)) == 0) {
		snprintf(err, sizeof err, "mount %s (tenant %s) is not open to uid %u: not in the "
		    "tenant's group", d->cfg.mounts[mount].name, d->cfg.mounts[mount].tenant, cl->uid);
		refused(cl, err);
		if (demand)
			client_reply_done(d, cl, msg->hdr.id, -EACCES, err);
		return;
	}
	if (ms_key_check(msg->key, msg->u.fill.key_len) != MS_KEY_OK) {
		if (demand)
			client_reply_done(d, cl, msg->hdr.id, -EINVAL, "invalid key");
		return;
	}
	memcpy(key, msg->key, msg->u.fill.key_len);
	key[msg->u.fill.key_len] = '\0';
	if (msg->hdr.type == MS_MSG_LOOKUP) {
		lookup_request(d, cl, msg->hdr.id, (unsigned)mount, key);
		return;
	}
	err[0] = '\0';
	rc = obj_get(d, (unsigned)mount, key, msg->u.fill.ino, &o, err, sizeof err);
	if (rc < 0) {
		ms_warn("%s", err[0] != '\0' ? err : strerror(-rc));
		if (demand)
			client_reply_done(d, cl, msg->hdr.id, rc, err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	if (msg->hdr.type == MS_MSG_FILL && (msg->u.fill.flags & MS_FILL_TIER) != 0) {
		warm_tier_request(d, o, cl, msg->hdr.id, msg->u.fill.off, msg->u.fill.len);
		obj_unref(d, o);
		return;
	}
	if (msg->hdr.type == MS_MSG_TOUCH) {
		obj_touch(d, o);
		model_open(d, o);
		obj_unref(d, o);
		return;
	}
	if (msg->hdr.type == MS_MSG_VERIFY) {
		handle_verify(d, cl, msg->hdr.id, o);
		obj_unref(d, o);
		return;
	}
	/* A lazy-mmap fault may take its piece's range once written, never bytes over the socket. */
	rc = obj_request(d, o, cl, msg->hdr.id, msg->u.fill.off, msg->u.fill.len, kind,
	    kind == FILL_DEMAND ? msg->u.fill.flags & (MS_FILL_RANGE | MS_FILL_BYTES) :
	    kind == FILL_FAULT ? msg->u.fill.flags & MS_FILL_RANGE : 0);
	if (rc < 0 && demand)
		client_reply_done(d, cl, msg->hdr.id, rc, strerror(-rc));
	obj_unref(d, o);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
handle_status(struct daemon *d, struct client *cl, const struct ms_msg *msg)
{
	uint32_t sorted[sizeof d->lat_us / sizeof d->lat_us[0]];
	struct ms_msg_status_reply reply;
	char buf[MS_MSG_MAX];
	unsigned i;

	if (d->lat_n > 0) {
		memcpy(sorted, d->lat_us, d->lat_n * sizeof sorted[0]);
		qsort(sorted, d->lat_n, sizeof sorted[0], cmp_u32);
		d->stats.fill_p50_us = sorted[d->lat_n / 2];
		d->stats.fill_p99_us = sorted[(d->lat_n * 99) / 100];
	}
	d->stats.cached_bytes = d->cached;
	d->stats.quota = d->cfg.cache_size;
	d->stats.nmounts = d->cfg.nmounts;
	d->stats.clients = d->nclients;
	d->stats.uptime_s = (ms_now_ms() - d->started_ms) / 1000;
	d->store->ops->status(d->store, &d->stats);
	reply = d->stats;
	/* Another tenant's traffic is not this client's business. */
	for (i = 0; i < d->cfg.nmounts; i++)
		if ((cl->mounts_ok & ((uint64_t)1 << i)) == 0)
			memset(&reply.mounts[i], 0, sizeof reply.mounts[i]);
	client_send(d, cl, buf, ms_proto_status_reply(buf, sizeof buf, msg->hdr.id, &reply));
}

/* Each mount's credential source and expiry (never a key); another tenant's mounts stay blank. */
static void
handle_creds(struct daemon *d, struct client *cl, const struct ms_msg *msg)
{
	struct ms_msg_creds_reply reply;
	char buf[MS_MSG_MAX];

	memset(&reply, 0, sizeof reply);
	if (d->store->ops->creds != NULL)
		d->store->ops->creds(d->store, &reply);
	for (unsigned i = 0; i < reply.nmounts; i++)
		if ((cl->mounts_ok & ((uint64_t)1 << i)) == 0)
			memset(&reply.mounts[i], 0, sizeof reply.mounts[i]);
	client_send(d, cl, buf, ms_proto_creds_reply(buf, sizeof buf, msg->hdr.id, &reply));
}

/* One eviction pass asked by `modelshim gc`; the CLI holds the node's GC lock. */
static void
handle_gc(struct daemon *d, struct client *cl, const struct ms_msg *msg)
{
	char tenant[MS_NAME_MAX], text[256], buf[MS_MSG_MAX];
	struct ms_msg_gc_done out;
	uint64_t target = msg->u.gc.target;
	int rc;

	memset(&out, 0, sizeof out);
	if (msg->u.gc.tenant_len >= sizeof tenant) {
		out.status = -EINVAL;
		client_send(d, cl, buf, ms_proto_gc_done(buf, sizeof buf, msg->hdr.id, &out, "tenant name too long"));
		return;
	}
	memcpy(tenant, msg->tenant, msg->u.gc.tenant_len);
	tenant[msg->u.gc.tenant_len] = '\0';
	/* A tenant may make room in its own share; only the daemon's user may evict others. */
	if (!cl->admin && (msg->u.gc.mode != MS_GC_TENANT || !peer_of_tenant(d, cl, tenant))) {
		snprintf(text, sizeof text, "gc of %s is not open to uid %u: only the daemon's user "
		    "may evict other tenants", msg->u.gc.mode == MS_GC_TENANT ? tenant : "the node",
		    cl->uid);
		refused(cl, text);
		out.status = -EACCES;
		client_send(d, cl, buf, ms_proto_gc_done(buf, sizeof buf, msg->hdr.id, &out, text));
		return;
	}
	if (target == UINT64_MAX && d->cfg.cache_size > 0)
		target = d->cfg.cache_size / 100 * d->cfg.low_pct;
	rc = evict_pass(d, (enum ms_gc_mode)msg->u.gc.mode, tenant, target, msg->u.gc.need, &out);
	out.status = rc;
	snprintf(text, sizeof text, rc < 0 ? "could not free enough: everything left is in use or "
	    "belongs to other tenants" : "ok");
	client_send(d, cl, buf, ms_proto_gc_done(buf, sizeof buf, msg->hdr.id, &out, text));
}

static bool
client_handle(struct daemon *d, struct client *cl, const char *buf, ssize_t n)
{
	struct ms_msg msg;

	if (ms_proto_decode(buf, (size_t)n, &msg) < 0) {
		ms_warn("dropping a client that sent a malformed message (%zd bytes)", n);
		return false;
	}
	switch (msg.hdr.type) {
	case MS_MSG_FILL:
	case MS_MSG_PREFETCH:
	case MS_MSG_TOUCH:
	case MS_MSG_VERIFY:
	case MS_MSG_LOOKUP:
		handle_fill(d, cl, &msg);
		return true;
	case MS_MSG_GC:
		handle_gc(d, cl, &msg);
		return true;
	case MS_MSG_STATUS:
		handle_status(d, cl, &msg);
		return true;
	case MS_MSG_CREDS:
		handle_creds(d, cl, &msg);
		return true;
	default:
		ms_warn("dropping a client that sent message type %u", msg.hdr.type);
		return false;
	}
}

void
client_readable(struct daemon *d, struct client *cl)
{
	char buf[MS_MSG_MAX + 1];
	unsigned budget;
	ssize_t n;

	/* Held while handling: a failed reply may drop the client under our feet. */
	client_ref(cl);
	/* A bounded number of messages per wake-up keeps one busy client from starving others. */
	for (budget = 64; budget > 0 && cl->fd >= 0; budget--) {
		n = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0 || !client_handle(d, cl, buf, n)) {
			client_drop(d, cl);
			break;
		}
	}
	client_unref(d, cl);
}
