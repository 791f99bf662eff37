/* test_s3_classify: the verdict of every transfer outcome, and the bounds of the retry backoff. */
#include <criterion/criterion.h>

#include "plan.h"
#include "s3.h"

struct verdict_case {
	CURLcode cc;
	long http;
	enum ms_s3_verdict want;
};

static const struct verdict_case cases[] = {
	{ CURLE_OK, 200, MS_S3_OK },
	{ CURLE_OK, 206, MS_S3_OK },
	{ CURLE_OK, 204, MS_S3_FATAL },
	{ CURLE_OK, 304, MS_S3_FATAL },
	{ CURLE_OK, 301, MS_S3_FATAL },
	{ CURLE_OK, 400, MS_S3_FATAL },
	{ CURLE_OK, 416, MS_S3_FATAL },
	{ CURLE_OK, 412, MS_S3_STALE },
	{ CURLE_OK, 401, MS_S3_DENIED },
	{ CURLE_OK, 403, MS_S3_DENIED },
	{ CURLE_OK, 404, MS_S3_NOTFOUND },
	{ CURLE_OK, 408, MS_S3_RETRY },
	{ CURLE_OK, 429, MS_S3_RETRY },
	{ CURLE_OK, 500, MS_S3_RETRY },
	{ CURLE_OK, 502, MS_S3_RETRY },
	{ CURLE_OK, 503, MS_S3_RETRY },
	{ CURLE_OK, 504, MS_S3_RETRY },
	{ CURLE_OK, 599, MS_S3_RETRY },
	{ CURLE_OK, 0, MS_S3_FATAL },
	/* CURLOPT_FAILONERROR (ms_s3_prepare_get sets it): judged by the status */
	{ CURLE_HTTP_RETURNED_ERROR, 412, MS_S3_STALE },
	{ CURLE_HTTP_RETURNED_ERROR, 403, MS_S3_DENIED },
	{ CURLE_HTTP_RETURNED_ERROR, 404, MS_S3_NOTFOUND },
	{ CURLE_HTTP_RETURNED_ERROR, 503, MS_S3_RETRY },
	{ CURLE_HTTP_RETURNED_ERROR, 416, MS_S3_FATAL },
	/* transport trouble: retry, whatever status was seen */
	{ CURLE_COULDNT_CONNECT, 0, MS_S3_RETRY },
	{ CURLE_COULDNT_RESOLVE_HOST, 0, MS_S3_RETRY },
	{ CURLE_RECV_ERROR, 0, MS_S3_RETRY },
	{ CURLE_SEND_ERROR, 0, MS_S3_RETRY },
	{ CURLE_OPERATION_TIMEDOUT, 0, MS_S3_RETRY },
	{ CURLE_OPERATION_TIMEDOUT, 206, MS_S3_RETRY },
	{ CURLE_PARTIAL_FILE, 206, MS_S3_RETRY },
	{ CURLE_GOT_NOTHING, 0, MS_S3_RETRY },
	{ CURLE_HTTP2, 0, MS_S3_RETRY },
	{ CURLE_HTTP2_STREAM, 200, MS_S3_RETRY },
	{ CURLE_SSL_CONNECT_ERROR, 0, MS_S3_RETRY },
	/* ours or not recoverable */
	{ CURLE_WRITE_ERROR, 206, MS_S3_FATAL },
	{ CURLE_ABORTED_BY_CALLBACK, 200, MS_S3_FATAL },
	{ CURLE_OUT_OF_MEMORY, 0, MS_S3_FATAL },
	{ CURLE_URL_MALFORMAT, 0, MS_S3_FATAL },
	{ CURLE_UNSUPPORTED_PROTOCOL, 0, MS_S3_FATAL },
	{ CURLE_PEER_FAILED_VERIFICATION, 0, MS_S3_FATAL },
	{ CURLE_SSL_CACERT_BADFILE, 0, MS_S3_FATAL },
};

Test(s3_classify, table)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct verdict_case *c = &cases[i];
		enum ms_s3_verdict v = ms_s3_classify(c->cc, c->http);

		cr_expect_eq(v, c->want, "case %zu (curl %d, HTTP %ld): %s, want %s", i, (int)c->cc,
		    c->http, ms_s3_verdict_str(v), ms_s3_verdict_str(c->want));
	}
}

Test(s3_classify, verdict_names)
{
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_OK), "ok");
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_RETRY), "retry");
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_STALE), "stale");
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_DENIED), "denied");
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_NOTFOUND), "not found");
	cr_expect_str_eq(ms_s3_verdict_str(MS_S3_FATAL), "fatal");
	cr_expect_str_eq(ms_s3_verdict_str((enum ms_s3_verdict)99), "unknown");
}

/* Full jitter: uniform in [0, min(10 s, 100 ms << (attempt - 1))]. */
Test(s3_classify, backoff_bounds)
{
	static const struct {
		unsigned attempt;
		unsigned cap;
	} bounds[] = {
		{ 0, 100 }, { 1, 100 }, { 2, 200 }, { 3, 400 }, { 4, 800 }, { 5, 1600 }, { 6, 3200 },
		{ 7, 6400 }, { 8, 10000 }, { 9, 10000 }, { 31, 10000 }, { 32, 10000 }, { 1000, 10000 },
		{ ~0u, 10000 },
	};

	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		unsigned lo = ~0u, hi = 0;

		for (int k = 0; k < 2000; k++) {
			unsigned ms = ms_backoff_ms(bounds[i].attempt);

			lo = ms < lo ? ms : lo;
			hi = ms > hi ? ms : hi;
		}
		cr_expect_leq(hi, bounds[i].cap, "attempt %u: %u over %u", bounds[i].attempt, hi,
		    bounds[i].cap);
		/* 2000 draws: the spread must reach both ends' neighbourhoods */
		cr_expect_lt(lo, bounds[i].cap / 10 + 1, "attempt %u: min %u", bounds[i].attempt, lo);
		cr_expect_gt(hi, bounds[i].cap - bounds[i].cap / 10 - 1, "attempt %u: max %u",
		    bounds[i].attempt, hi);
	}
}
