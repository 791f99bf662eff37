/*
 * test_daemon_fetch.c: the fetch state machine (sidecar/daemon_fetch.c) against the in-memory
 * object store (store_mem.c), without a server: what is fetched and in which order (demand
 * before prefetch, a quarter of the connections kept for demand, promotion, one GET per chunk),
 * which answers are refused (another version, no ETag, another range or size), which are retried
 * (transient ones, short bodies, wrong ranges) and when it gives up, what a waiting client is told,
 * and that only checked bytes reach the cache file and its map. A real cache dir in /tmp and a
 * real io_uring; the client is one end of a socketpair. Also: readers that accept a range
 * (MS_FILL_RANGE) answered once their bytes are written, before their chunk is marked.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cache.h"
#include "daemon.h"
#include "namespace.h"
#include "store_mem.h"

#define CHUNK (64u * 1024)
#define SIZE (3 * CHUNK + 8192) /* four chunks, the last one short */
#define PUMP_ROUNDS 3000        /* a bound on loop iterations: about 6 s at most */

static struct daemon *D;
static struct store *S;
static struct client *CL;
static int peer = -1;
static char dir[64];
static uint8_t bytes[5][SIZE]; /* the objects' contents, one pattern each */
/* Replies that came before the one a test waited for: ids below 16. */
static struct { bool got; int status; char msg[256]; } early[16];

static void
start_with(const char *extra)
{
	char path[128], err[512];
	int sv[2];
	FILE *f;

	snprintf(dir, sizeof dir, "/tmp/ms-fetch-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/modelshim.ini", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[cache]\ndir = %s/cache\nchunk_size = 64K\nconnections = 4\n%s\n"
	    "[mount \"models\"]\npath = /models\nsource = s3://models/\n"
	    "endpoint = http://127.0.0.1:9\nregion = us-east-1\ntenant = default\n", dir, extra);
	fclose(f);
	D = daemon_new();
	cr_assert_not_null(D);
	cr_assert_eq(ms_config_load(&D->cfg, path, err, sizeof err), 0, "%s", err);
	cr_assert_eq(ms_cache_init(&D->cfg), 0);
	S = store_mem_new(&fetch_events);
	cr_assert_not_null(S);
	D->store = S;
	cr_assert_eq(fetch_init(D), 0);
	evict_init(D);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CL = calloc(1, sizeof *CL);
	cr_assert_not_null(CL);
	CL->fd = sv[0];
	CL->refs = 1;
	CL->admin = true;
	CL->mounts_ok = ~0ULL;
	TAILQ_INSERT_TAIL(&D->clients, CL, link);
	D->nclients++;
	peer = sv[1];
	for (unsigned o = 0; o < 5; o++)
		for (unsigned i = 0; i < SIZE; i++)
			bytes[o][i] = (uint8_t)(i * 7 + (i >> 11) + o * 53);
}

static void
start(void)
{
	start_with("retries = 3");
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void
stop(void)
{
	struct client *cl;

	if (D == NULL)
		return;
	fetch_cancel_all(D);
	while ((cl = TAILQ_FIRST(&D->clients)) != NULL)
		client_drop(D, cl);
	objs_close_all(D);
	fetch_fini(D);
	free(D);
	D = NULL;
	close(peer);
	memset(early, 0, sizeof early);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Imports object N (0-4) as "m/objN" at version ETAG, serves it from the store, opens it. */
static struct obj *
object(unsigned n, const char *etag)
{
	char key[32], err[512];
	struct obj *o;

	snprintf(key, sizeof key, "m/obj%u", n);
	cr_assert_eq(ms_import_object(&D->cfg, &D->cfg.mounts[0], key, SIZE, 1700000000, etag), 0);
	store_mem_put(S, 0, key, bytes[n], SIZE, etag);
	cr_assert_eq(obj_get(D, 0, key, 0, &o, err, sizeof err), 0, "%s", err);
	return o;
}

/* One turn of the daemon's loop, as loop_once runs it, minus clients and signals. */
static void
pump(void)
{
	struct pollfd ring = { .fd = D->ring_efd, .events = POLLIN };

	fetch_start_due(D);
	fetch_next_pass(D);
	S->ops->progress(S);
	if (D->writes_inflight > 0)
		poll(&ring, 1, 100);
	else
		usleep(2000); /* lets a retry's backoff pass */
	fetch_reap_writes(D);
	fetch_pace(D);
	fetch_start_due(D);
}

/* One turn of the loop, then every reply that came is kept in EARLY (ids below 16, one each). */
static void
pump_and_collect(void)
{
	char buf[MS_MSG_MAX];
	struct ms_msg m;
	ssize_t n;

	pump();
	while ((n = recv(peer, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
		cr_assert_eq(m.hdr.type, MS_MSG_FILL_DONE);
		cr_assert_lt(m.hdr.id, 16);
		cr_assert_not(early[m.hdr.id].got, "two replies to %llu", (unsigned long long)m.hdr.id);
		early[m.hdr.id].got = true;
		early[m.hdr.id].status = m.u.done.status;
		snprintf(early[m.hdr.id].msg, sizeof early[m.hdr.id].msg, "%.*s",
		    (int)m.u.done.msg_len, m.text ? m.text : "");
	}
}

/*
 * Runs the loop until the reply to ID (below 16) arrives, or takes it from those that came
 * first; its status, and its message in MSG.
 */
static int
reply(uint64_t id, char *msg, size_t msglen)
{
	cr_assert_lt(id, 16);
	for (unsigned i = 0; i < PUMP_ROUNDS && !early[id].got; i++)
		pump_and_collect();
	cr_assert(early[id].got, "no reply to request %llu", (unsigned long long)id);
	snprintf(msg, msglen, "%s", early[id].msg);
	return early[id].status;
}

/* Runs the loop until nothing is queued, running or being written. */
static void
drain(void)
{
	for (unsigned i = 0; i < PUMP_ROUNDS; i++) {
		if (TAILQ_EMPTY(&D->demand_q) && TAILQ_EMPTY(&D->prefetch_q) &&
		    TAILQ_EMPTY(&D->retry_q) && D->nactive == 0 && D->writes_inflight == 0)
			return;
		pump();
	}
	cr_assert_fail("the fetch queues never emptied");
}

/* Demand fill of [off, off + len) of O for the test client; returns its reply's status. */
static int
fill(struct obj *o, uint64_t id, uint64_t off, uint64_t len, char *msg, size_t msglen)
{
	cr_assert_eq(obj_request(D, o, CL, id, off, len, FILL_DEMAND, 0), 0);
	return reply(id, msg, msglen);
}

/* True if the cache file of O holds object N's bytes over [off, off + len). */
static bool
cached_bytes_right(struct obj *o, unsigned n, uint64_t off, uint64_t len)
{
	uint8_t *buf = malloc(len);
	bool same;

	cr_assert_not_null(buf);
	cr_assert_eq(pread(o->data_fd, buf, len, (off_t)off), (ssize_t)len);
	same = memcmp(buf, bytes[n] + off, len) == 0;
	free(buf);
	return same;
}

/* Nothing was written into O's data file (it is all a hole). */
static void
assert_nothing_written(struct obj *o)
{
	struct stat st;

	cr_assert_eq(fstat(o->data_fd, &st), 0);
	cr_assert_eq(st.st_blocks, 0, "%lld blocks written to a file no answer was taken for",
	    (long long)st.st_blocks);
	cr_assert_not(ms_map_range_present(&o->map, 0, SIZE));
}

TestSuite(daemon_fetch, .fini = stop);

Test(daemon_fetch, whole_object_in_one_get_checked_and_marked)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	cr_assert_eq(fill(o, 1, 0, SIZE, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 1);
	cr_assert_eq(store_mem_get_at(S, 0)->len, 0, "the whole object is asked without a Range");
	cr_assert_str_eq(store_mem_get_at(S, 0)->etag, "\"v1\"", "the GET names the imported version");
	cr_assert(ms_map_range_present(&o->map, 0, SIZE));
	cr_assert(cached_bytes_right(o, 0, 0, SIZE));
	cr_assert_eq(D->stats.fills, 4);
	cr_assert_eq(D->stats.bytes_fetched, SIZE);
	cr_assert_eq(D->cached, SIZE, "filled bytes count as cached");
	cr_assert_eq(D->reserved, 0, "no reservation left once the fill is done");
	obj_unref(D, o);
}

Test(daemon_fetch, ranged_get_for_the_chunks_asked)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	cr_assert_eq(fill(o, 1, CHUNK + 100, 10, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_get_at(S, 0)->off, CHUNK);
	cr_assert_eq(store_mem_get_at(S, 0)->len, CHUNK);
	cr_assert(ms_map_range_present(&o->map, CHUNK, CHUNK));
	cr_assert_not(ms_map_range_present(&o->map, 0, CHUNK), "chunk 0 was not asked for");
	cr_assert(cached_bytes_right(o, 0, CHUNK, CHUNK));
	obj_unref(D, o);
}

/* start(), then object 0 at ETag "v1", the store's next answer spoilt by FAULT. */
static struct obj *
v1_faulted(enum store_mem_fault fault)
{
	struct obj *o;

	start();
	o = object(0, "\"v1\"");
	store_mem_fault_next(S, fault);
	return o;
}

/*
 * Object 0 asked for [OFF, OFF+LEN) and the store's answer spoilt by FAULT: the fill fails with
 * RC (NEEDLE, unless NULL, in its message), the answer is final (no retry), nothing is written.
 */
static void
expect_refused(enum store_mem_fault fault, uint64_t off, uint64_t len, int rc, const char *needle)
{
	struct obj *o = v1_faulted(fault);
	char msg[256];

	cr_assert_eq(fill(o, 1, off, len, msg, sizeof msg), rc, "%s", msg);
	cr_assert(needle == NULL || strstr(msg, needle) != NULL, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 1, "a refused answer is final: no retry");
	assert_nothing_written(o);
	obj_unref(D, o);
}

Test(daemon_fetch, another_version_is_refused_and_not_retried)
{
	expect_refused(MEM_OTHER_ETAG, 0, SIZE, -ESTALE, "changed in the store since import");
}

Test(daemon_fetch, another_size_is_refused)
{
	expect_refused(MEM_WRONG_TOTAL, CHUNK, CHUNK, -ESTALE, NULL);
}

Test(daemon_fetch, an_answer_without_etag_is_refused)
{
	expect_refused(MEM_NO_ETAG, 0, SIZE, -EIO, "no ETag");
}

Test(daemon_fetch, another_range_is_refused_then_retried)
{
	struct obj *o = v1_faulted(MEM_WRONG_RANGE);
	char msg[256];

	cr_assert_eq(fill(o, 1, CHUNK, CHUNK, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 2);
	cr_assert_eq(D->stats.retries, 1);
	cr_assert(cached_bytes_right(o, 0, CHUNK, CHUNK));
	obj_unref(D, o);
}

Test(daemon_fetch, a_whole_object_answer_is_usable_only_from_its_start)
{
	struct obj *o = v1_faulted(MEM_WHOLE_OBJECT);
	char msg[256];

	/* To a GET of chunk 1: the bytes would land at the wrong offset. */
	cr_assert_eq(fill(o, 1, CHUNK, CHUNK, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 2, "refused, then asked again");
	cr_assert(cached_bytes_right(o, 0, CHUNK, CHUNK));
	/* To a GET of chunk 0: its first chunk is taken, the rest left. */
	store_mem_fault_next(S, MEM_WHOLE_OBJECT);
	cr_assert_eq(fill(o, 2, 0, CHUNK, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_get_at(S, 2)->off, 0);
	cr_assert_eq(store_mem_get_at(S, 2)->len, CHUNK);
	cr_assert(cached_bytes_right(o, 0, 0, CHUNK));
	drain();
	obj_unref(D, o);
}

Test(daemon_fetch, a_short_body_is_retried_and_only_whole_chunks_are_kept)
{
	struct obj *o = v1_faulted(MEM_SHORT_BODY);
	char msg[256];

	cr_assert_eq(fill(o, 1, 0, SIZE, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 2);
	cr_assert_eq(D->stats.retries, 1);
	/* Half the body (chunks 0 and part of 1) came first: the retry asks from chunk 1 on. */
	cr_assert_eq(store_mem_get_at(S, 1)->off, CHUNK);
	cr_assert(cached_bytes_right(o, 0, 0, SIZE));
	cr_assert_eq(D->stats.fills, 4);
	obj_unref(D, o);
}

Test(daemon_fetch, transient_failures_give_up_after_the_retries)
{
	struct obj *o;
	char msg[256];

	start_with("retries = 2");
	o = object(0, "\"v1\"");
	store_mem_fault_next(S, MEM_HTTP_503);
	store_mem_fault_next(S, MEM_HTTP_503);
	cr_assert_eq(fill(o, 1, 0, SIZE, msg, sizeof msg), -EIO, "%s", msg);
	cr_assert(strstr(msg, "HTTP 503 SlowDown") != NULL, "%s", msg);
	cr_assert(strstr(msg, "gave up after 2 attempts") != NULL, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 2);
	assert_nothing_written(o);
	cr_assert_eq(D->reserved, 0, "a failed fill holds no quota");
	obj_unref(D, o);
}

Test(daemon_fetch, final_statuses_are_not_retried)
{
	static const struct { enum store_mem_fault f; int err; } cases[] = {
		{ MEM_HTTP_403, -EACCES }, { MEM_HTTP_404, -ENOENT }, { MEM_HTTP_412, -ESTALE },
	};
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	for (unsigned i = 0; i < 3; i++) {
		store_mem_fault_next(S, cases[i].f);
		cr_assert_eq(fill(o, i + 1, CHUNK, CHUNK, msg, sizeof msg), cases[i].err, "case %u: %s",
		    i, msg);
		cr_assert_eq(store_mem_gets(S), i + 1, "case %u was retried", i);
	}
	assert_nothing_written(o);
	obj_unref(D, o);
}

/*
 * Opens objects 0 to N-1 (answers held) and prefetches the first four on four connections:
 * three run, the fourth waits (a quarter of the connections is kept for demand).
 */
static void
four_prefetches_held(struct obj **o, unsigned n)
{
	start();
	for (unsigned i = 0; i < n; i++) {
		o[i] = object(i, "\"v1\"");
		store_mem_fault_next(S, MEM_HOLD);
	}
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(obj_request(D, o[i], NULL, 0, 0, SIZE, FILL_PREFETCH, 0), 0);
	pump();
	cr_assert_eq(store_mem_running(S), 3);
}

Test(daemon_fetch, demand_keeps_a_quarter_of_the_connections)
{
	struct obj *o[5];
	char msg[256];

	four_prefetches_held(o, 5);
	cr_assert_eq(obj_request(D, o[4], CL, 9, 0, SIZE, FILL_DEMAND, 0), 0);
	pump();
	cr_assert_eq(store_mem_running(S), 4);
	cr_assert_str_eq(store_mem_get_at(S, 3)->key, "m/obj4",
	    "the demand fill did not get the kept connection");
	store_mem_release(S);
	cr_assert_eq(reply(9, msg, sizeof msg), 0, "%s", msg);
	drain();
	for (unsigned i = 0; i < 5; i++) {
		cr_assert(cached_bytes_right(o[i], i, 0, SIZE), "object %u", i);
		obj_unref(D, o[i]);
	}
}

Test(daemon_fetch, a_demand_fill_promotes_the_queued_prefetch_of_its_chunks)
{
	struct obj *o[4];
	char msg[256];

	four_prefetches_held(o, 4); /* object 3's prefetch waits in the queue */
	cr_assert_eq(obj_request(D, o[3], CL, 7, 0, SIZE, FILL_DEMAND, 0), 0);
	pump();
	cr_assert_eq(store_mem_running(S), 4, "the queued prefetch was not promoted");
	cr_assert_str_eq(store_mem_get_at(S, 3)->key, "m/obj3");
	store_mem_release(S);
	cr_assert_eq(reply(7, msg, sizeof msg), 0, "%s", msg);
	drain();
	cr_assert_eq(store_mem_gets(S), 4, "one GET per chunk range, not one per request");
	for (unsigned i = 0; i < 4; i++)
		obj_unref(D, o[i]);
}

Test(daemon_fetch, readers_of_the_same_chunks_share_one_get)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	cr_assert_eq(obj_request(D, o, CL, 1, 0, SIZE, FILL_DEMAND, 0), 0);
	cr_assert_eq(obj_request(D, o, CL, 2, CHUNK, CHUNK, FILL_DEMAND, 0), 0);
	cr_assert_eq(reply(1, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(reply(2, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 1);
	obj_unref(D, o);
}

Test(daemon_fetch, stopping_fails_the_fills_in_flight)
{
	struct obj *o;
	char buf[MS_MSG_MAX];
	struct ms_msg m;
	ssize_t n;

	start();
	o = object(0, "\"v1\"");
	store_mem_fault_next(S, MEM_HOLD);
	cr_assert_eq(obj_request(D, o, CL, 5, 0, SIZE, FILL_DEMAND, 0), 0);
	pump();
	cr_assert_eq(store_mem_running(S), 1);
	fetch_cancel_all(D);
	cr_assert_eq(store_mem_running(S), 0, "the transfer was not aborted");
	n = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
	cr_assert_gt(n, 0, "the waiting client was not told");
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, &m), 0);
	cr_assert_eq(m.u.done.status, -ESHUTDOWN);
	assert_nothing_written(o);
	obj_unref(D, o);
}

Test(daemon_fetch, the_bandwidth_limit_pauses_and_resumes_transfers)
{
	struct obj *o;
	char msg[256];
	bool paused = false;

	/* 512 KiB of burst at 2 MiB/s: the 200 KiB object passes, a second read of it must wait. */
	start_with("retries = 3\nmax_bandwidth = 2M");
	D->bw_tokens = 0;
	D->bw_last_ms = ms_now_ms();
	o = object(0, "\"v1\"");
	cr_assert_eq(obj_request(D, o, CL, 1, 0, SIZE, FILL_DEMAND, 0), 0);
	fetch_start_due(D);
	S->ops->progress(S);
	paused = store_mem_paused(S) == 1 && D->npaused == 1;
	cr_assert(paused, "no tokens, yet the body was taken");
	cr_assert_eq(reply(1, msg, sizeof msg), 0, "%s", msg);
	cr_assert(cached_bytes_right(o, 0, 0, SIZE));
	cr_assert_eq(D->npaused, 0);
	obj_unref(D, o);
}

Test(daemon_fetch, a_reader_that_accepts_a_range_is_answered_before_its_chunk_is_complete)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	store_mem_fault_next(S, MEM_HOLD_HALF); /* chunk 0's GET: half of it comes, then it waits */
	cr_assert_eq(obj_request(D, o, CL, 1, 100, 4096, FILL_DEMAND, MS_FILL_RANGE), 0);
	cr_assert_eq(obj_request(D, o, CL, 2, 100, 4096, FILL_DEMAND, 0), 0);
	cr_assert_eq(obj_request(D, o, CL, 3, CHUNK - 4096, 4096, FILL_DEMAND, MS_FILL_RANGE), 0);
	cr_assert_eq(reply(1, msg, sizeof msg), MS_FILL_RANGE_READY, "%s", msg);
	cr_assert(cached_bytes_right(o, 0, 100, 4096), "answered before its bytes were written");
	cr_assert_neq(o->state[0], MS_CHUNK_PRESENT);
	cr_assert_not(ms_map_range_present(&o->map, 0, CHUNK), "a chunk marked before it was whole");
	/* A new reader of bytes already written is answered at once; past them it waits. */
	cr_assert_eq(obj_request(D, o, CL, 4, 0, 8192, FILL_DEMAND, MS_FILL_RANGE), 0);
	cr_assert_eq(reply(4, msg, sizeof msg), MS_FILL_RANGE_READY, "%s", msg);
	for (unsigned i = 0; i < 20; i++)
		pump_and_collect();
	cr_assert_not(early[2].got, "a reader that did not ask for a range was answered early");
	cr_assert_not(early[3].got, "answered for bytes that were not written yet");
	store_mem_release(S);
	cr_assert_eq(reply(2, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(reply(3, msg, sizeof msg), 0, "the chunk's end, once whole: %s", msg);
	cr_assert(ms_map_range_present(&o->map, 0, CHUNK));
	cr_assert(cached_bytes_right(o, 0, 0, CHUNK));
	drain();
	obj_unref(D, o);
}

Test(daemon_fetch, a_range_over_a_present_chunk_waits_only_for_the_bytes_of_the_next)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	/* Chunk 1 present first; then a range over chunks 1 and 2 waits only on chunk 2's bytes. */
	cr_assert_eq(fill(o, 1, CHUNK, CHUNK, msg, sizeof msg), 0, "%s", msg);
	drain();
	store_mem_fault_next(S, MEM_HOLD_HALF);
	cr_assert_eq(obj_request(D, o, CL, 2, 2 * CHUNK - 4096, 8192, FILL_DEMAND, MS_FILL_RANGE), 0);
	cr_assert_eq(reply(2, msg, sizeof msg), MS_FILL_RANGE_READY, "%s", msg);
	cr_assert(cached_bytes_right(o, 0, 2 * CHUNK - 4096, 8192));
	store_mem_release(S);
	drain();
	cr_assert(ms_map_range_present(&o->map, CHUNK, 2 * CHUNK));
	cr_assert(cached_bytes_right(o, 0, CHUNK, 2 * CHUNK));
	obj_unref(D, o);
}

Test(daemon_fetch, a_transfer_takes_at_most_a_mebibyte_a_pass_and_goes_on_in_the_next)
{
	static uint8_t big[3 << 20];
	char err[512], msg[256];
	struct obj *o;

	start();
	for (unsigned i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 13 + (i >> 16));
	cr_assert_eq(ms_import_object(&D->cfg, &D->cfg.mounts[0], "m/big", sizeof big, 1700000000,
	    "\"b1\""), 0);
	store_mem_put(S, 0, "m/big", big, sizeof big, "\"b1\"");
	cr_assert_eq(obj_get(D, 0, "m/big", 0, &o, err, sizeof err), 0, "%s", err);
	cr_assert_eq(obj_request(D, o, CL, 1, 0, sizeof big, FILL_DEMAND, 0), 0);
	fetch_start_due(D);
	fetch_next_pass(D);
	S->ops->progress(S); /* one pass: the store would hand over all 3 MiB */
	cr_assert_leq(D->stats.bytes_fetched, (1u << 20) + 64 * 1024, "%llu bytes taken in one pass",
	    (unsigned long long)D->stats.bytes_fetched);
	cr_assert_eq(D->nheld, 1);
	cr_assert_eq(fetch_next_timeout_ms(D), 0, "a held transfer must not wait for its socket");
	cr_assert_eq(reply(1, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(D->nheld, 0);
	cr_assert_eq(D->stats.bytes_fetched, sizeof big);
	cr_assert(ms_map_range_present(&o->map, 0, sizeof big));
	{
		uint8_t *buf = malloc(sizeof big);

		cr_assert_not_null(buf);
		cr_assert_eq(pread(o->data_fd, buf, sizeof big, 0), (ssize_t)sizeof big);
		cr_assert(memcmp(buf, big, sizeof big) == 0, "the held and resumed bytes are not right");
		free(buf);
	}
	obj_unref(D, o);
}

Test(daemon_fetch, an_idle_daemon_primes_receive_buffers_one_a_pass_never_while_busy_nor_past_those_lent)
{
	uint8_t *taken[4];
	struct obj *o;
	unsigned i;

	start(); /* 64 KiB chunks, 4 connections: one buffer per connection */
	cr_assert_eq(D->nfree_bufs, 0);
	D->writes_inflight = 1;
	cr_assert_not(recv_bufs_want_prime(D), "primed while a write was in flight");
	D->writes_inflight = 0;
	cr_assert(recv_bufs_want_prime(D));
	recv_bufs_prime_one(D);
	cr_assert_eq(D->nfree_bufs, 1, "one buffer a pass");
	for (i = 0; i < 10 && recv_bufs_want_prime(D); i++)
		recv_bufs_prime_one(D);
	cr_assert_eq(D->nfree_bufs, 4, "primed up to one buffer per connection");
	recv_bufs_prime_one(D);
	cr_assert_eq(D->nfree_bufs, 4, "nothing past it");
	for (i = 0; i < 4; i++) {
		taken[i] = recv_buf_get(D, D->cfg.chunk_size);
		cr_assert_not_null(taken[i]);
		cr_assert_eq(taken[i][D->cfg.chunk_size - 1], 0);
	}
	cr_assert_eq(D->nfree_bufs, 0, "the fills take the primed buffers");
	cr_assert_not(recv_bufs_want_prime(D), "the buffers lent out come back: none to prime");
	o = object(0, "\"v1\"");
	cr_assert_eq(obj_request(D, o, CL, 1, 0, SIZE, FILL_DEMAND, 0), 0);
	cr_assert_not(recv_bufs_want_prime(D), "a GET runs or waits");
	recv_bufs_prime_one(D);
	cr_assert_eq(D->nfree_bufs, 0, "primed while a GET ran");
	for (i = 0; i < 4; i++)
		recv_buf_put(D, taken[i], D->cfg.chunk_size);
	obj_unref(D, o);
}

/*
 * Runs the loop until a message reaches the test client; decodes it into M (an answer with bytes
 * puts them in DATA, MS_FILL_BYTES_MAX bytes of room). False if none came within ROUNDS turns.
 */
static bool
next_message(unsigned rounds, struct ms_msg *m, uint8_t *data)
{
	static uint8_t buf[MS_FILL_BYTES_HEAD + MS_FILL_BYTES_MAX];
	ssize_t n = -1;

	for (unsigned i = 0; i < rounds && n < 0; i++) {
		n = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			pump();
	}
	if (n < 0)
		return false;
	if (n >= (ssize_t)sizeof(struct ms_msg_hdr) &&
	    ((const struct ms_msg_hdr *)(const void *)buf)->type == MS_MSG_FILL_BYTES) {
		cr_assert_eq(ms_proto_decode_fill_bytes(buf, (size_t)n, m), 0);
		memcpy(data, buf + MS_FILL_BYTES_HEAD, m->u.bytes.len);
		return true;
	}
	cr_assert_eq(ms_proto_decode(buf, (size_t)n, m), 0);
	return true;
}

Test(daemon_fetch, a_reader_that_takes_bytes_gets_them_from_the_receive_buffer_once_received)
{
	static uint8_t data[MS_FILL_BYTES_MAX];
	const uint32_t both = MS_FILL_RANGE | MS_FILL_BYTES;
	struct ms_msg m;
	struct obj *o;

	start();
	o = object(0, "\"v1\"");
	store_mem_fault_next(S, MEM_HOLD_HALF); /* chunk 0's GET: half of it comes, then it waits */
	cr_assert_eq(obj_request(D, o, CL, 1, 100, 4096, FILL_DEMAND, both), 0);
	cr_assert_eq(obj_request(D, o, CL, 2, CHUNK - 4096, 4096, FILL_DEMAND, both), 0);
	cr_assert(next_message(PUMP_ROUNDS, &m, data), "no answer to a reader whose bytes came");
	cr_assert_eq(m.hdr.type, MS_MSG_FILL_BYTES, "answered with %u, not its bytes", m.hdr.type);
	cr_assert_eq(m.hdr.id, 1);
	cr_assert_eq(m.u.bytes.off, 100);
	cr_assert_eq(m.u.bytes.len, 4096);
	cr_assert(memcmp(data, bytes[0] + 100, 4096) == 0, "bytes other than the object's");
	cr_assert_neq(o->state[0], MS_CHUNK_PRESENT);
	/* Over chunks 0 and 1: not in one receive buffer, answered the usual way. */
	cr_assert_eq(obj_request(D, o, CL, 3, CHUNK - 100, 200, FILL_DEMAND, both), 0);
	/* Bytes past what came: nothing, while the rest is held. */
	cr_assert_not(next_message(20, &m, data), "answer %llu to bytes that never came",
	    (unsigned long long)m.hdr.id);
	store_mem_release(S);
	cr_assert(next_message(PUMP_ROUNDS, &m, data));
	cr_assert_eq(m.hdr.type, MS_MSG_FILL_BYTES, "the chunk's end: answered with %u", m.hdr.type);
	cr_assert_eq(m.hdr.id, 2);
	cr_assert_eq(m.u.bytes.off, CHUNK - 4096);
	cr_assert(memcmp(data, bytes[0] + CHUNK - 4096, 4096) == 0);
	cr_assert(next_message(PUMP_ROUNDS, &m, data));
	cr_assert_eq(m.hdr.type, MS_MSG_FILL_DONE, "over two chunks: answered with %u", m.hdr.type);
	cr_assert_eq(m.hdr.id, 3);
	cr_assert_geq(m.u.done.status, 0);
	cr_assert_eq(D->stats.bytes_answers, 2);
	drain();
	cr_assert(cached_bytes_right(o, 0, 0, 2 * CHUNK), "the file got the same bytes");
	obj_unref(D, o);
}

Test(daemon_fetch, neighbouring_chunks_asked_one_by_one_join_one_get_until_it_starts)
{
	struct obj *o;
	char msg[256];

	start();
	o = object(0, "\"v1\"");
	/* A lazy-mmap handler asks for each chunk of its run on its own, in one burst. */
	cr_assert_eq(obj_request(D, o, CL, 1, 0, CHUNK, FILL_FAULT, 0), 0);
	cr_assert_eq(obj_request(D, o, CL, 2, CHUNK, CHUNK, FILL_FAULT, 0), 0);
	cr_assert_eq(reply(1, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(reply(2, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 1, "two neighbouring chunks queued together: one GET");
	cr_assert_eq(store_mem_get_at(S, 0)->off, 0);
	cr_assert_eq(store_mem_get_at(S, 0)->len, 2 * CHUNK);
	/* Once a GET has started, the next chunk is a GET of its own. */
	cr_assert_eq(obj_request(D, o, CL, 3, 2 * CHUNK, CHUNK, FILL_FAULT, 0), 0);
	fetch_start_due(D);
	cr_assert_eq(obj_request(D, o, CL, 4, 3 * CHUNK, SIZE - 3 * CHUNK, FILL_FAULT, 0), 0);
	cr_assert_eq(reply(3, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(reply(4, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(store_mem_gets(S), 3);
	cr_assert_eq(store_mem_get_at(S, 2)->off, 3 * CHUNK);
	cr_assert(ms_map_range_present(&o->map, 0, SIZE));
	cr_assert(cached_bytes_right(o, 0, 0, SIZE));
	obj_unref(D, o);
}
