/*
 * daemon_metrics.c: the daemon's optional HTTP endpoint ([cache] metrics = HOST:PORT): GET
 * /metrics (the daemon's counters in the Prometheus text format), /healthz and /readyz. Owns the
 * listening socket and libmicrohttpd's state, run from the daemon's own loop (external polling on
 * MHD's epoll fd): the handlers read struct daemon in the loop's thread, so nothing is locked or
 * copied. It must never block the loop (no walk of the cache dir, no disk I/O), change the cache
 * or any counter, or put an object key in a label: labels are config names (mount, tenant) only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon.h"
#include "log.h"

/* Upper bounds of the fill latency histogram's buckets, in microseconds (+Inf after them). */
static const uint32_t fill_bounds_us[FILL_HIST_BOUNDS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

struct metrics {
	struct MHD_Daemon *mhd;
	int epoll_fd;
	uint64_t due_ms;   /* MHD_run must run by then (MHD_get_timeout); 0: only on activity */
	double start_time; /* the daemon's start, seconds since the epoch */
	char where[80];    /* HOST:PORT, for messages */
};

void
metrics_observe_fill(struct daemon *d, uint64_t ms)
{
	unsigned i;

	for (i = 0; i < FILL_HIST_BOUNDS; i++)
		if (ms * 1000 <= fill_bounds_us[i])
			break;
	d->fill_hist.buckets[i]++;
	d->fill_hist.count++;
	d->fill_hist.sum_ms += ms;
}

/* One metric's HELP and TYPE lines. */
static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Mount I's labels. Mount and tenant names are [A-Za-z0-9._-] (config.c): nothing to escape. */
static void
mount_labels(FILE *f, const struct daemon *d, unsigned i)
{
	fprintf(f, "mount=\"%s\",tenant=\"%s\"", d->cfg.mounts[i].name, d->cfg.mounts[i].tenant);
}

/* A counter or gauge with one sample per mount, FIELD of the status counters or VALUES. */
static void
per_mount(FILE *f, const struct daemon *d, const char *name, const char *type, const char *help,
    size_t field, const uint64_t *values)
{
	unsigned i;

	head(f, name, type, help);
	for (i = 0; i < d->cfg.nmounts && i < MS_STATUS_MOUNTS; i++) {
		uint64_t v = values != NULL ? values[i] :
		    *(const uint64_t *)(const void *)((const char *)&d->stats.mounts[i] + field);

		fprintf(f, "%s{", name);
		mount_labels(f, d, i);
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

static void
fill_histogram(FILE *f, const struct daemon *d)
{
	const char *name = "modelshim_fill_duration_seconds";
	uint64_t cum = 0;
	unsigned i;

	head(f, name, "histogram", "Time programs waited for demand fills that found chunks "
	    "missing, from request to reply.");
	for (i = 0; i < FILL_HIST_BOUNDS; i++) {
		cum += d->fill_hist.buckets[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, fill_bounds_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)d->fill_hist.count);
	fprintf(f, "%s_sum %.3f\n", name, (double)d->fill_hist.sum_ms / 1000);
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)d->fill_hist.count);
}

/* One sample of every tier node: FIELD of its counters. Node names are HOST:PORT (config.c). */
static void
per_tier_node(FILE *f, const struct daemon *d, const struct ms_msg_status_reply *r,
    const char *name, const char *type, const char *help, size_t field)
{
	head(f, name, type, help);
	for (unsigned i = 0; i < r->ntier_nodes && i < MS_STATUS_TIER_NODES; i++) {
		const struct ms_msg_status_tier_node *n = &r->tier_nodes[i];

		fprintf(f, "%s{tier=\"%s\",node=\"%s\"} %llu\n", name, d->cfg.tiers[n->tier].name,
		    d->cfg.tiers[n->tier].nodes[n->node],
		    (unsigned long long)*(const uint64_t *)(const void *)((const char *)n + field));
	}
}

/* The daemon's view of each node of its cluster cache tiers, when it has any. */
static void
tier_nodes(FILE *f, const struct daemon *d)
{
	struct ms_msg_status_reply r;

#define TIER_FIELD(f) offsetof(struct ms_msg_status_tier_node, f)
	if (d->cfg.ntiers == 0)
		return;
	d->store->ops->status(d->store, &r);
	per_tier_node(f, d, &r, "modelshim_tier_requests_total", "counter", "Block requests sent "
	    "to a node of a cluster cache tier.", TIER_FIELD(requests));
	per_tier_node(f, d, &r, "modelshim_tier_hits_total", "counter", "Of them, answered from "
	    "the node's cache.", TIER_FIELD(hits));
	per_tier_node(f, d, &r, "modelshim_tier_misses_total", "counter", "Of them, answered "
	    "after the node fetched the block from the origin.", TIER_FIELD(misses));
	per_tier_node(f, d, &r, "modelshim_tier_received_bytes_total", "counter", "Body bytes "
	    "received from the node.", TIER_FIELD(bytes));
	per_tier_node(f, d, &r, "modelshim_tier_failures_total", "counter", "Requests to the "
	    "node that failed (no connection, timeout, 5xx, a refused answer).",
	    TIER_FIELD(failures));
	head(f, "modelshim_tier_node_up", "gauge", "1 unless the node is marked down after a "
	    "failure.");
	for (unsigned i = 0; i < r.ntier_nodes && i < MS_STATUS_TIER_NODES; i++)
		fprintf(f, "modelshim_tier_node_up{tier=\"%s\",node=\"%s\"} %d\n",
		    d->cfg.tiers[r.tier_nodes[i].tier].name,
		    d->cfg.tiers[r.tier_nodes[i].tier].nodes[r.tier_nodes[i].node],
		    !r.tier_nodes[i].down);
#undef TIER_FIELD
}

/* The daemon's own numbers, one family each without labels (the store's requests by op). */
static void
daemon_totals(FILE *f, const struct daemon *d)
{
	const struct ms_msg_status_reply *s = &d->stats;
	const struct {
		const char *name, *type, *help, *labels;
		uint64_t v;
		bool absent;
	} rows[] = {
		{ "modelshim_requests_total", "counter", "Fill, warm-up and prefetch requests received "
		    "from programs and commands.", "", s->requests, false },
		{ "modelshim_request_errors_total", "counter", "Requests answered with an error.", "",
		    s->errors, false },
		{ "modelshim_connected_clients", "gauge", "Programs and commands connected to the "
		    "daemon's socket.", "", d->nclients, false },
		{ "modelshim_chunks_in_flight", "gauge", "Chunks being fetched from the object store.",
		    "", s->inflight, false },
		{ "modelshim_bytes_answers_total", "counter", "Reads answered with their bytes from a "
		    "receive buffer, before those bytes were in the cache file.", "", s->bytes_answers,
		    false },
		{ "modelshim_store_requests_total", "counter", "Requests sent to the object store, "
		    "retries included.", "{op=\"GET\"}", s->gets, false },
		{ "modelshim_store_retries_total", "counter", "Object store requests retried after a "
		    "transient failure (5xx, 429, reset, stall, short body).", "", s->retries, false },
		{ "modelshim_cache_bytes", "gauge", "Bytes of present chunks in the cache dir.", "",
		    d->cached, false },
		{ "modelshim_cache_reserved_bytes", "gauge", "Bytes held against the quota for fills "
		    "in flight.", "", d->reserved, false },
		{ "modelshim_cache_quota_bytes", "gauge", "The cache dir's quota ([cache] size); "
		    "absent when unlimited.", "", d->cfg.cache_size, d->cfg.cache_size == 0 },
		{ "modelshim_evictions_total", "counter", "Objects evicted from the cache.", "",
		    s->evictions, false },
		{ "modelshim_evicted_bytes_total", "counter", "Bytes evicted from the cache.", "",
		    s->evicted_bytes, false },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].absent)
			continue;
		head(f, rows[i].name, rows[i].type, rows[i].help);
		fprintf(f, "%s%s %llu\n", rows[i].name, rows[i].labels, (unsigned long long)rows[i].v);
	}
}

/* The exposition: everything `status --json` has from the daemon, but ratios and map walks. */
static void
expose(FILE *f, const struct daemon *d, const struct metrics *m)
{
	const struct ms_msg_status_reply *s = &d->stats;
	uint64_t objects[MS_MAX_MOUNTS];
	unsigned i;

#define MOUNT_FIELD(f) offsetof(struct ms_msg_status_mount, f)

	head(f, "modelshim_build_info", "gauge", "Always 1; the wire protocol version as a label.");
	fprintf(f, "modelshim_build_info{protocol_version=\"%d\"} 1\n", MODELSHIM_PROTOCOL_VERSION);
	head(f, "modelshim_start_time_seconds", "gauge", "When the daemon started, in seconds "
	    "since the Unix epoch.");
	fprintf(f, "modelshim_start_time_seconds %.3f\n", m->start_time);
	daemon_totals(f, d);
	fill_histogram(f, d);

	per_mount(f, d, "modelshim_fill_requests_total", "counter", "Fill and warm-up requests "
	    "for the mount's objects.", MOUNT_FIELD(requests), NULL);
	head(f, "modelshim_chunk_requests_total", "counter", "Chunks those requests covered: hit "
	    "if present when asked, miss if it had to be fetched (reads of complete files never "
	    "reach the daemon).");
	for (i = 0; i < d->cfg.nmounts && i < MS_STATUS_MOUNTS; i++) {
		const struct ms_msg_status_mount *sm = &s->mounts[i];

		fprintf(f, "modelshim_chunk_requests_total{");
		mount_labels(f, d, i);
		fprintf(f, ",result=\"hit\"} %llu\n", (unsigned long long)sm->chunks_present);
		fprintf(f, "modelshim_chunk_requests_total{");
		mount_labels(f, d, i);
		fprintf(f, ",result=\"miss\"} %llu\n",
		    (unsigned long long)(sm->chunks_requested - sm->chunks_present));
	}
	per_mount(f, d, "modelshim_chunks_filled_total", "counter", "Chunks filled from the object "
	    "store.", MOUNT_FIELD(fills), NULL);
	per_mount(f, d, "modelshim_fetched_bytes_total", "counter", "Body bytes received from the "
	    "object store.", MOUNT_FIELD(bytes_fetched), NULL);
	per_mount(f, d, "modelshim_fill_errors_total", "counter", "Object store requests that "
	    "failed for good (after their retries).", MOUNT_FIELD(errors), NULL);
	per_mount(f, d, "modelshim_mount_cache_bytes", "gauge", "Bytes of present chunks of the "
	    "mount's objects.", 0, d->mcached);
	for (i = 0; i < d->cfg.nmounts && i < MS_MAX_MOUNTS; i++)
		objects[i] = d->evict.mounts[i].n + d->evict.mounts[i].nparked;
	per_mount(f, d, "modelshim_mount_cached_objects", "gauge", "Objects of the mount with "
	    "cached bytes.", 0, objects);
	if (d->cfg.ntenants > 0) {
		head(f, "modelshim_tenant_quota_bytes", "gauge", "A tenant's quota ([tenant] size), "
		    "for tenants that have one.");
		for (i = 0; i < d->cfg.ntenants; i++)
			if (d->cfg.tenants[i].size > 0)
				fprintf(f, "modelshim_tenant_quota_bytes{tenant=\"%s\"} %llu\n",
				    d->cfg.tenants[i].name, (unsigned long long)d->cfg.tenants[i].size);
	}
	tier_nodes(f, d);
#undef MOUNT_FIELD
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
    bool must_free)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, must_free ? MHD_RESPMEM_MUST_FREE :
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
text(struct MHD_Connection *c, unsigned status, const char *s)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)(uintptr_t)s, strlen(s),
	    false);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_len, void **req)
{
	struct daemon *d = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	(void)version, (void)upload;
	/* Refused at once, whatever body follows (MHD then closes the connection). */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	/*
	 * The first call only announces the request: answering on the next, once it is all read,
	 * lets MHD keep the connection open for the next scrape.
	 */
	if (*req == NULL) {
		*req = d;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0; /* a body nobody asked for: dropped */
		return MHD_YES;
	}
	/* Alive: the loop that serves programs answered. */
	if (strcmp(url, "/healthz") == 0)
		return text(c, MHD_HTTP_OK, "ok\n");
	/*
	 * Ready: the socket serves. Nothing else is waited for: chunks marked before a reboot are
	 * checked object by object when each is next opened, never before serving.
	 */
	if (strcmp(url, "/readyz") == 0)
		return d->listen_fd >= 0 && !d->stopping ? text(c, MHD_HTTP_OK, "ready\n") :
		    text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping\n");
	if (strcmp(url, "/metrics") != 0)
		return text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics, /healthz, /readyz\n");
	f = open_memstream(&body, &len);
	if (f == NULL)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	expose(f, d, d->metrics);
	if (fclose(f) != 0) {
		free(body);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, true);
}

static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct metrics *m = cls;
	char line[256];
	size_t n;

	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	ms_warn("metrics endpoint %s: %s", m->where, line);
}

/* The listening socket, made here so that a bad address or a port in use gets a clear message. */
static int
listen_tcp(const struct ms_config *cfg, const char *where)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	bool v6 = strchr(cfg->metrics_host, ':') != NULL;
	int fd, one = 1, rc;

	memset(&ss, 0, sizeof ss);
	if (v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(cfg->metrics_port);
		rc = inet_pton(AF_INET6, cfg->metrics_host, &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(cfg->metrics_port);
		rc = inet_pton(AF_INET, cfg->metrics_host, &s4->sin_addr);
	}
	if (rc != 1) {
		ms_error("metrics endpoint %s: not a numeric address", where);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		ms_error("metrics endpoint %s: socket: %s", where, strerror(-rc));
		return rc;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, v6 ? sizeof *s6 : sizeof *s4) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		ms_error("metrics endpoint: cannot listen on %s: %s%s", where, strerror(-rc),
		    rc == -EADDRINUSE ? " (another process has this port: choose another in "
		    "[cache] metrics)" : "");
		close(fd);
		return rc;
	}
	return fd;
}

int
metrics_start(struct daemon *d)
{
	const struct ms_config *cfg = &d->cfg;
	const union MHD_DaemonInfo *info;
	struct timespec real;
	struct metrics *m;
	int fd;

	if (cfg->metrics_port == 0)
		return 0;
	m = calloc(1, sizeof *m);
	if (m == NULL)
		return -ENOMEM;
	m->epoll_fd = -1;
	snprintf(m->where, sizeof m->where, strchr(cfg->metrics_host, ':') ? "[%s]:%u" : "%s:%u",
	    cfg->metrics_host, (unsigned)cfg->metrics_port);
	clock_gettime(CLOCK_REALTIME, &real);
	m->start_time = (double)real.tv_sec + real.tv_nsec / 1e9 -
	    (double)(ms_now_ms() - d->started_ms) / 1000;
	fd = listen_tcp(cfg, m->where);
	if (fd < 0) {
		free(m);
		return fd;
	}
	/* External polling on MHD's epoll fd, from the daemon's loop: no thread of MHD's own. */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, d,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, /* first: it then gets every message */
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_END);
	if (m->mhd == NULL) {
		ms_error("metrics endpoint %s: libmicrohttpd did not start", m->where);
		close(fd);
		free(m);
		return -EIO;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		ms_error("metrics endpoint %s: libmicrohttpd has no epoll fd", m->where);
		MHD_stop_daemon(m->mhd);
		free(m);
		return -EIO;
	}
	m->epoll_fd = info->epoll_fd;
	d->metrics = m;
	ms_info("metrics on http://%s/metrics (and /healthz, /readyz)", m->where);
	return 0;
}

void
metrics_stop(struct daemon *d)
{
	struct metrics *m = d->metrics;

	if (m == NULL)
		return;
	d->metrics = NULL;
	MHD_stop_daemon(m->mhd); /* closes the listening socket it was given too */
	free(m);
}

unsigned
metrics_pollfd(struct daemon *d, struct pollfd *pfd, int *timeout_ms)
{
	struct metrics *m = d->metrics;
	MHD_UNSIGNED_LONG_LONG t;

	if (m == NULL)
		return 0;
	*pfd = (struct pollfd){ .fd = m->epoll_fd, .events = POLLIN };
	m->due_ms = 0;
	if (MHD_get_timeout(m->mhd, &t) == MHD_YES) {
		if (t > INT_MAX)
			t = INT_MAX;
		m->due_ms = ms_now_ms() + t;
		if (*timeout_ms < 0 || (uint64_t)*timeout_ms > t)
			*timeout_ms = (int)t;
	}
	return 1;
}

void
metrics_run(struct daemon *d, const struct pollfd *pfd)
{
	struct metrics *m = d->metrics;

	if (m == NULL)
		return;
	if (pfd->revents != 0 || (m->due_ms != 0 && ms_now_ms() >= m->due_ms))
		MHD_run(m->mhd);
}
