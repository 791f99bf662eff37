/*
 * store_s3.c: the daemon's object-store backend (store.h): ranged GETs of S3 objects, signed per
 * mount (core/s3.c), run together on one curl multi handle at most [cache] connections per host.
 * Owns the credentials of the node's fills: fetched once per mount from its source when the
 * backend is made and renewed before they expire (store_creds.c), held only inside the clients;
 * a request refused for an expired token is sent again once, signed with renewed ones. Turns curl's results and S3's error bodies into a
 * store_result; never judges a 2xx answer (the state machine does) and never logs a credential.
 *
 * A mount with a cluster tier ([tier "NAME"]) sends each whole aligned block to one tier node,
 * the same for every daemon: the highest rendezvous hash of (node, origin, bucket, key, ETag,
 * block). A node that fails (no connection within MS_TIER_CONNECT_MS, no byte for the tier's
 * timeout, a 5xx, an answer the state machine refused) is marked down for TIER_DOWN_MS; the
 * retry goes to the next node up in that order, and after as many tries as there are nodes, to
 * the origin. Anything else goes to the origin.
 * A tier hit checks no signature: before a mount takes tier bytes of an object, its own
 * credentials prove they may read that object at that ETag (a signed 1-byte GET with If-Match to
 * the origin, remembered for the last PROVEN_MAX objects); a mount that cannot gets the origin's
 * refusal, never the tier's bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <xxhash.h>

#include "clock.h"
#include "log.h"
#include "s3.h"
#include "store.h"
#include "store_creds.h"
#include "store_s3.h"
#include "tier.h"

/*
 * Receive buffers of 128 KiB: one recv per 128 KiB instead of per 16 KiB (curl's default), and
 * no larger: when the daemon's loop pauses a transfer (its share of a pass is taken), curl keeps
 * what its buffer still holds in a new allocation, and with 512 KiB those copies into fresh
 * memory took a quarter of the daemon's CPU in a cold read from nginx (2 GiB in 16 MiB GETs,
 * perf; 3.5-6.4 s against 1.8-4.2 s with 128 KiB).
 */
#define RECV_BUFFER_SIZE (128L * 1024)
#define TIER_DOWN_MS 30000
#define PROVEN_MAX 4096

struct tier_nodes {
	const struct ms_tier *cfg;
	uint64_t down_until_ms[MS_MAX_TIER_NODES];
	struct ms_msg_status_tier_node stats[MS_MAX_TIER_NODES];
};

struct store_s3 {
	struct store base;
	const struct ms_config *cfg;
	unsigned timeout_ms;
	unsigned nmounts;
	struct ms_s3 *s3[MS_MAX_MOUNTS];
	struct store_creds *creds[MS_MAX_MOUNTS]; /* their source, expiry and renewals */
	struct tier_nodes tiers[MS_MAX_TIERS];
	uint64_t proven[PROVEN_MAX]; /* (mount, key, ETag) hashes a mount's credentials may read */
	unsigned nproven, proven_next;
	CURLM *multi;
};

struct store_xfer {
	struct store_s3 *s;
	void *job;
	struct tier_nodes *tier; /* sent to node NODE of this tier, or NULL: to the origin */
	unsigned node;
	struct store_get g;      /* what the state machine asked (its strings are the job's) */
	bool proving;            /* the 1-byte GET to the origin that proves read access runs */
	store_lookup_fn lookup_done; /* a HEAD (store_ops.lookup): its result goes here, with ARG */
	void *lookup_arg;
	CURL *easy;
	struct curl_slist *hdrs;
	unsigned creds_gen;   /* the credentials' renewal it was signed under */
	bool creds_retried;   /* sent again once already after an expired-token answer */
	bool headed;   /* head() was called */
	bool refused;  /* head() or body() stopped the transfer */
	struct ms_s3_answer ans; /* its headers */
	char errbody[512]; /* the start of an error answer's body: its S3 <Code> */
	size_t errbody_len;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct store_xfer *x = arg;
	const struct store_events *ev = x->s->base.ev;
	size_t n = size * nmemb, taken;
	long http = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
	if (x->proving && (http == 200 || http == 206))
		return n; /* the proof's byte: nothing for the state machine */
	if (http != 200 && http != 206) {
		size_t take = n < sizeof x->errbody - 1 - x->errbody_len ?
		    n : sizeof x->errbody - 1 - x->errbody_len;

		memcpy(x->errbody + x->errbody_len, ptr, take);
		x->errbody_len += take;
		x->errbody[x->errbody_len] = '\0';
		return n;
	}
	if (!x->headed) {
		struct store_head h = {
			.status = (int)http, .etag = x->ans.etag, .have_range = x->ans.have_range,
			.range_start = x->ans.range_start, .range_total = x->ans.range_total,
		};

		x->headed = true;
		if (ev->head(x->job, &h) < 0) {
			x->refused = true;
			return 0;
		}
	}
	taken = ev->body(x->job, (const uint8_t *)ptr, n);
	if (taken == STORE_BODY_PAUSE)
		return CURL_WRITEFUNC_PAUSE;
	if (taken < n)
		x->refused = true;
	return taken;
}

static void
xfer_free(struct store_xfer *x)
{
	if (x->hdrs != NULL)
		curl_slist_free_all(x->hdrs);
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	free(x);
}

/*
 * The tier node for G: the up node of highest weight, when G is one whole aligned block of an
 * object of a tier mount and fewer tries than nodes were made; else -1 (the origin).
 */
static int
pick_node(struct store_s3 *s, const struct store_get *g, struct tier_nodes **tier)
{
	const struct ms_mount *m = &s->cfg->mounts[g->mount_idx];
	const struct ms_tier *t;
	uint64_t w, best_w = 0, now = ms_now_ms();
	int best = -1;

	if (m->tier < 0)
		return -1;
	*tier = &s->tiers[m->tier];
	t = (*tier)->cfg;
	if (g->len == 0 || g->off % t->block != 0 ||
	    (g->len != t->block && g->off + g->len != g->size) || g->attempt >= t->nnodes)
		return -1;
	for (unsigned i = 0; i < t->nnodes; i++) {
		if ((*tier)->down_until_ms[i] > now)
			continue;
		w = ms_tier_weight(m, t, i, g->key, g->etag, g->off);
		if (best < 0 || w > best_w) {
			best = (int)i;
			best_w = w;
		}
	}
	return best;
}

static uint64_t
proof_id(const struct store_get *g)
{
	char id[MS_PATH_MAX + MS_ETAG_MAX + 16];
	int n = snprintf(id, sizeof id, "%u|%s|%s", g->mount_idx, g->key, g->etag);

	return XXH3_64bits(id, n < (int)sizeof id ? (size_t)n : sizeof id - 1);
}

static bool
proven(const struct store_s3 *s, uint64_t id)
{
	for (unsigned i = 0; i < s->nproven; i++)
		if (s->proven[i] == id)
			return true;
	return false;
}

static void
prove_done(struct store_s3 *s, uint64_t id)
{
	s->proven[s->proven_next] = id;
	s->proven_next = (s->proven_next + 1) % PROVEN_MAX;
	if (s->nproven < PROVEN_MAX)
		s->nproven++;
}

/* Sends X: the proof (1 byte from the origin) while proving, else what was asked, where routed. */
static int
xfer_send(struct store_s3 *s, struct store_xfer *x)
{
	const struct store_get *g = &x->g;
	int rc;

	if (x->hdrs != NULL)
		curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	x->headed = x->refused = false;
	ms_s3_answer_reset(&x->ans);
	x->errbody_len = 0;
	x->errbody[0] = '\0';
	store_creds_due(s->creds[g->mount_idx], s->s3[g->mount_idx]);
	x->creds_gen = store_creds_generation(s->creds[g->mount_idx]);
	if (x->proving)
		rc = ms_s3_prepare_get(s->s3[g->mount_idx], x->easy, g->key, 0, 1, g->etag, NULL,
		    &x->hdrs);
	else if (x->lookup_done != NULL)
		rc = ms_s3_prepare_get(s->s3[g->mount_idx], x->easy, g->key, 0, 0, NULL, NULL,
		    &x->hdrs);
	else
		rc = ms_s3_prepare_get(s->s3[g->mount_idx], x->easy, g->key, g->off, g->len, g->etag,
		    x->tier != NULL ? x->tier->cfg->nodes[x->node] : NULL, &x->hdrs);
	if (rc < 0)
		return rc;
	if (x->tier != NULL && !x->proving) { /* see MS_TIER_CONNECT_MS */
		curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, MS_TIER_CONNECT_MS);
		curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME,
		    (long)(x->tier->cfg->timeout_ms + 999) / 1000);
	}
	if (x->lookup_done != NULL) { /* a HEAD, its Last-Modified parsed by curl */
		curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(x->easy, CURLOPT_FILETIME, 1L);
	}
	curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, RECV_BUFFER_SIZE);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, ms_s3_answer_curl_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, &x->ans);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	return curl_multi_add_handle(s->multi, x->easy) == CURLM_OK ? 0 : -EIO;
}

static int
s3_start(struct store *base, const struct store_get *g, void *job, struct store_xfer **out)
{
	struct store_s3 *s = (struct store_s3 *)base;
	struct tier_nodes *tier = NULL;
	struct store_xfer *x;
	int rc, node;

	if (g->mount_idx >= s->nmounts)
		return -EINVAL;
	x = calloc(1, sizeof *x);
	if (x == NULL)
		return -ENOMEM;
	x->s = s;
	x->job = job;
	x->g = *g;
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return -ENOMEM;
	}
	node = pick_node(s, g, &tier);
	if (node < 0 && g->tier_only) { /* a warm-up into the tier: no node left, no origin */
		xfer_free(x);
		return -EHOSTDOWN;
	}
	if (node >= 0) {
		x->tier = tier;
		x->node = (unsigned)node;
		x->proving = !proven(s, proof_id(g));
	}
	rc = xfer_send(s, x);
	if (rc < 0) {
		xfer_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static int
s3_lookup(struct store *base, unsigned mount_idx, const char *key, store_lookup_fn done, void *arg,
    struct store_xfer **out)
{
	struct store_s3 *s = (struct store_s3 *)base;
	struct store_xfer *x;
	int rc;

	if (mount_idx >= s->nmounts)
		return -EINVAL;
	x = calloc(1, sizeof *x);
	if (x == NULL)
		return -ENOMEM;
	x->s = s;
	x->g = (struct store_get){ .mount_idx = mount_idx, .key = key, .etag = "" };
	x->lookup_done = done;
	x->lookup_arg = arg;
	x->easy = curl_easy_init();
	rc = x->easy != NULL ? xfer_send(s, x) : -ENOMEM;
	if (rc < 0) {
		xfer_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

/* A HEAD ended with R: what it found, to its caller. */
static void
lookup_finish(const struct store_xfer *x, const struct store_result *r)
{
	struct store_lookup l = { .err = r->err };
	curl_off_t size = -1, mtime = -1;

	snprintf(l.what, sizeof l.what, "%s", r->what);
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
	curl_easy_getinfo(x->easy, CURLINFO_FILETIME_T, &mtime);
	if (l.err == 0 && (size < 0 || x->ans.etag[0] == '\0')) {
		l.err = -EIO;
		snprintf(l.what, sizeof l.what, "the store's answer to HEAD names no %s",
		    size < 0 ? "Content-Length" : "ETag");
	}
	l.size = size < 0 ? 0 : (uint64_t)size;
	l.mtime = mtime < 0 ? 0 : (int64_t)mtime;
	snprintf(l.etag, sizeof l.etag, "%s", x->ans.etag);
	x->lookup_done(x->lookup_arg, &l);
}

static void
s3_resume(struct store *base, struct store_xfer *x)
{
	(void)base;
	curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may deliver body (and pause again) at once */
}

static void
s3_abort(struct store *base, struct store_xfer *x)
{
	struct store_s3 *s = (struct store_s3 *)base;

	curl_multi_remove_handle(s->multi, x->easy);
	xfer_free(x);
}

static void
s3_wait(struct store *base, struct pollfd *fds, unsigned nfds, int timeout_ms)
{
	struct store_s3 *s = (struct store_s3 *)base;
	struct curl_waitfd wfds[STORE_WAIT_FDS_MAX];
	unsigned i;

	if (nfds > STORE_WAIT_FDS_MAX)
		nfds = STORE_WAIT_FDS_MAX;
	for (i = 0; i < nfds; i++) {
		wfds[i] = (struct curl_waitfd){ .fd = fds[i].fd };
		if (fds[i].events & POLLIN)
			wfds[i].events |= CURL_WAIT_POLLIN;
		if (fds[i].events & POLLOUT)
			wfds[i].events |= CURL_WAIT_POLLOUT;
	}
	curl_multi_poll(s->multi, wfds, nfds, timeout_ms, NULL);
	for (i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (wfds[i].revents & CURL_WAIT_POLLIN)
			fds[i].revents |= POLLIN;
		if (wfds[i].revents & CURL_WAIT_POLLOUT)
			fds[i].revents |= POLLOUT;
		if (wfds[i].revents & CURL_WAIT_POLLPRI)
			fds[i].revents |= POLLPRI;
	}
}

/* A transfer that failed below HTTP, in words: which limit ran out, or how far the body got. */
static void
describe_transport(const struct store_xfer *x, CURLcode cc, long http, char *out, size_t outlen)
{
	curl_off_t got = 0, want = -1, pretransfer = 0;
	unsigned timeout_ms = x->s->timeout_ms, secs;
	long oserr = 0;
	char of[32] = "", limit[MS_NAME_MAX + 24] = "[cache] timeout";

	curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &want);
	curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
	if (want >= 0)
		snprintf(of, sizeof of, " of %lld", (long long)want);
	if (x->tier != NULL && !x->proving) { /* a tier node: its own limits */
		snprintf(limit, sizeof limit, "[tier \"%s\"] timeout", x->tier->cfg->name);
		timeout_ms = pretransfer == 0 ? (unsigned)MS_TIER_CONNECT_MS : x->tier->cfg->timeout_ms;
	}
	secs = (timeout_ms + 999) / 1000;
	if (ms_s3_tls_refused(&x->s->cfg->mounts[x->g.mount_idx], cc, NULL, out, outlen))
		return; /* the endpoint's certificate, or the CA file: what to set */
	if (cc == CURLE_OPERATION_TIMEDOUT && pretransfer == 0)
		snprintf(out, outlen, "timed out connecting to the server (%s = %u ms)",
		    x->tier != NULL && !x->proving ? "a tier node's connect timeout" : limit, timeout_ms);
	else if (cc == CURLE_OPERATION_TIMEDOUT && http == 0)
		snprintf(out, outlen, "timed out: no response from the server for %u s (%s)", secs,
		    limit);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, outlen, "timed out: the body stalled after %lld%s bytes, under 1 KiB/s "
		    "for %u s (%s)", (long long)got, of, secs, limit);
	else if (cc == CURLE_PARTIAL_FILE)
		snprintf(out, outlen, "the server closed the connection after %lld%s body bytes",
		    (long long)got, of);
	else if ((cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) && oserr != 0)
		snprintf(out, outlen, "connection lost after %lld%s body bytes: %s", (long long)got, of,
		    strerror((int)oserr));
	else if (cc == CURLE_GOT_NOTHING)
		snprintf(out, outlen, "the server closed the connection without a response");
	else
		snprintf(out, outlen, "%s", curl_easy_strerror(cc));
}

/* The result of a finished transfer: its errno class and, for a failure, what happened. */
static void
result_of(const struct store_xfer *x, CURLcode cc, struct store_result *r)
{
	const char *code = strstr(x->errbody, "<Code>"), *end;
	long http = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
	r->what[0] = '\0';
	switch (ms_s3_classify(cc, http)) {
	case MS_S3_OK: r->err = 0; break;
	case MS_S3_RETRY: r->err = -EAGAIN; break;
	case MS_S3_STALE: r->err = -ESTALE; break;
	case MS_S3_DENIED: r->err = -EACCES; break;
	case MS_S3_NOTFOUND: r->err = -ENOENT; break;
	default: r->err = -EIO; break;
	}
	if (x->refused) /* the state machine stopped it: the reason is its own */
		r->err = -EIO;
	else if (http == 412)
		snprintf(r->what, sizeof r->what, "the object changed in the store since import "
		    "(HTTP 412 on If-Match): run 'modelshim import'");
	else if (http >= 300 && code != NULL && (end = strstr(code, "</Code>")) != NULL)
		snprintf(r->what, sizeof r->what, "HTTP %ld %.*s", http, (int)(end - code - 6),
		    code + 6);
	else if (http >= 300)
		snprintf(r->what, sizeof r->what, "HTTP %ld", http);
	else if (cc != CURLE_OK)
		describe_transport(x, cc, http, r->what, sizeof r->what);
}

/*
 * The proof of X ended: passed, X is sent to its tier node (true: it goes on); failed, R says
 * why in the origin's words (false: X ends with it). The node is not to blame either way.
 */
static bool
proof_passed(struct store_s3 *s, struct store_xfer *x, struct store_result *r)
{
	char what[sizeof r->what];

	x->proving = false;
	if (r->err == 0) {
		prove_done(s, proof_id(&x->g));
		if (xfer_send(s, x) == 0)
			return true;
		r->err = -EIO;
		snprintf(r->what, sizeof r->what, "cannot send the request to tier node %s",
		    x->tier->cfg->nodes[x->node]);
	} else {
		snprintf(what, sizeof what, "%s", r->what);
		snprintf(r->what, sizeof r->what, "the mount may not read it (asked the origin before "
		    "taking tier bytes): %.100s", what);
	}
	x->tier = NULL; /* not the node's fault */
	return false;
}

/* One answer of a tier node, in its counters: a request, its bytes, a hit or a miss. */
static void
count_tier_answer(const struct store_xfer *x)
{
	struct ms_msg_status_tier_node *st = &x->tier->stats[x->node];
	curl_off_t got = 0;

	curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
	st->requests++;
	st->bytes += (uint64_t)got;
	if (x->ans.tier_hit == 1)
		st->hits++;
	else if (x->ans.tier_hit == 0)
		st->misses++;
}

static void
s3_status(struct store *base, struct ms_msg_status_reply *r)
{
	struct store_s3 *s = (struct store_s3 *)base;
	uint64_t now = ms_now_ms();

	r->ntier_nodes = 0;
	for (unsigned t = 0; t < s->cfg->ntiers; t++) {
		for (unsigned n = 0; n < s->cfg->tiers[t].nnodes; n++) {
			struct ms_msg_status_tier_node *out;

			if (r->ntier_nodes == MS_STATUS_TIER_NODES)
				return;
			out = &r->tier_nodes[r->ntier_nodes++];
			*out = s->tiers[t].stats[n];
			out->down = s->tiers[t].down_until_ms[n] > now;
			out->tier = (uint16_t)t;
			out->node = (uint16_t)n;
		}
	}
}

/*
 * X was refused because its token expired: the credentials are renewed (once for all the
 * requests signed with the old ones) and X is sent again, once (true: it goes on). Else false,
 * with R saying why when the renewal failed.
 */
static bool
expired_resent(struct store_s3 *s, struct store_xfer *x, struct store_result *r)
{
	long http = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
	if (x->creds_retried || x->refused || !store_creds_expired_answer(http, x->errbody))
		return false;
	x->creds_retried = true;
	if (store_creds_expired(s->creds[x->g.mount_idx], s->s3[x->g.mount_idx], x->creds_gen,
	    r->what, sizeof r->what) < 0) {
		r->err = -EIO;
		return false;
	}
	if (xfer_send(s, x) == 0)
		return true;
	r->err = -EIO;
	snprintf(r->what, sizeof r->what, "cannot send the request again after renewing the "
	    "credentials");
	return false;
}

static void
s3_progress(struct store *base)
{
	struct store_s3 *s = (struct store_s3 *)base;
	struct store_result r;
	struct store_xfer *x;
	CURLMsg *m;
	int running, left;

	curl_multi_perform(s->multi, &running);
	while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		result_of(x, m->data.result, &r);
		curl_multi_remove_handle(s->multi, x->easy);
		if (expired_resent(s, x, &r))
			continue;
		if (x->proving && proof_passed(s, x, &r))
			continue;
		if (x->lookup_done != NULL) {
			lookup_finish(x, &r);
			xfer_free(x);
			continue;
		}
		if (x->tier != NULL)
			count_tier_answer(x);
		/* A tier node that failed or sent what was refused: the others take its blocks. */
		if (x->tier != NULL && (r.err == -EAGAIN || x->refused)) {
			x->tier->stats[x->node].failures++;
			x->tier->down_until_ms[x->node] = ms_now_ms() + TIER_DOWN_MS;
			ms_warn("tier node %s: %s: marked down for %d s", x->tier->cfg->nodes[x->node],
			    r.what[0] ? r.what : "refused answer", TIER_DOWN_MS / 1000);
		}
		s->base.ev->done(x->job, &r);
		xfer_free(x);
	}
}

static void
s3_creds(struct store *base, struct ms_msg_creds_reply *r)
{
	struct store_s3 *s = (struct store_s3 *)base;

	memset(r, 0, sizeof *r);
	for (unsigned i = 0; i < s->nmounts && i < MS_STATUS_MOUNTS; i++)
		store_creds_report(s->creds[i], &r->mounts[i]);
	r->nmounts = s->nmounts < MS_STATUS_MOUNTS ? s->nmounts : MS_STATUS_MOUNTS;
}

static void
s3_free(struct store *base)
{
	struct store_s3 *s = (struct store_s3 *)base;
	unsigned i;

	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	for (i = 0; i < s->nmounts; i++) {
		ms_s3_free(s->s3[i]);
		store_creds_free(s->creds[i]);
	}
	free(s);
}

static const struct store_ops s3_ops = {
	.name = "s3",
	.start = s3_start,
	.resume = s3_resume,
	.abort = s3_abort,
	.wait = s3_wait,
	.progress = s3_progress,
	.lookup = s3_lookup,
	.status = s3_status,
	.creds = s3_creds,
	.free = s3_free,
};

int
store_s3_new(const struct ms_config *cfg, const struct store_events *ev, struct store **out)
{
	struct store_s3 *s;
	char err[1024];
	unsigned i;
	int rc;

	s = calloc(1, sizeof *s);
	if (s == NULL)
		return -ENOMEM;
	s->base.ops = &s3_ops;
	s->base.ev = ev;
	s->cfg = cfg;
	s->timeout_ms = cfg->timeout_ms;
	for (i = 0; i < cfg->ntiers; i++)
		s->tiers[i].cfg = &cfg->tiers[i];
	for (i = 0; i < cfg->nmounts; i++) {
		rc = store_creds_open(cfg, &cfg->mounts[i], &s->s3[i], &s->creds[i], err, sizeof err);
		if (rc < 0) {
			ms_error("mount %s: %s", cfg->mounts[i].name, err);
			s3_free(&s->base);
			return rc;
		}
		s->nmounts = i + 1;
	}
	s->multi = curl_multi_init();
	if (s->multi == NULL) {
		s3_free(&s->base);
		return -ENOMEM;
	}
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->connections);
	*out = &s->base;
	return 0;
}
