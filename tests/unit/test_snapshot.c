/*
 * test_snapshot: a namespace snapshot written by core/snapshot.c walks back (ms_s3_snapshot_walk)
 * to exactly what was written: keys with every kind of byte S3 allows, ETags with quotes and
 * XML's special characters, sizes and times, under a prefix; what cannot be written is refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "s3.h"
#include "snapshot.h"

struct obj {
	const char *key;
	uint64_t size;
	int64_t mtime;
	const char *etag;
};

static const struct obj objs[] = {
	{ "model.safetensors", 5368709120ull, 1795624137, "\"9b2cf535f27731c974343645a3985328\"" },
	{ "lora/a b&c<d>'e\".bin", 0, 0, "\"d41d8cd98f00b204e9800998ecf8427e-3\"" },
	{ "ünï/çødé/%41%zz+=?#", 17, 1700000000, "W/\"a&b<c>\"" },
	{ "deep/er/than/that/x", 1, 86400, "\"\"" },
};
#define NOBJS (sizeof objs / sizeof objs[0])

struct seen {
	unsigned n;
	bool same[NOBJS];
};

static int
check(void *arg, const struct ms_s3_object *o)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, NOBJS, "more objects walked than written");
	const struct obj *w = &objs[s->n];
	s->same[s->n] = o->key_len == strlen(w->key) && memcmp(o->key, w->key, o->key_len) == 0 &&
	    o->size == w->size && o->mtime == w->mtime && strcmp(o->etag, w->etag) == 0;
	cr_expect(s->same[s->n], "object %u: walked \"%.*s\" %" PRIu64 " %" PRId64 " %s", s->n,
	    (int)o->key_len, o->key, o->size, o->mtime, o->etag);
	s->n++;
	return 0;
}

static struct ms_mount
mount(const char *prefix)
{
	struct ms_mount m;

	memset(&m, 0, sizeof m);
	strcpy(m.name, "m");
	strcpy(m.bucket, "models&co");
	strcpy(m.prefix, prefix);
	strcpy(m.endpoint, "http://127.0.0.1:9000");
	m.tier = -1;
	return m;
}

static void
round_trip(const char *prefix)
{
	struct ms_mount m = mount(prefix);
	struct ms_config cfg = { 0 };
	struct ms_creds creds = { 0 };
	struct ms_snapshot sn;
	struct seen seen = { 0 };
	struct ms_s3 *s3;
	char err[512] = "";

	ms_snapshot_begin(&sn, &m);
	for (unsigned i = 0; i < NOBJS; i++)
		ms_snapshot_add(&sn, &m, objs[i].key, objs[i].size, objs[i].mtime, objs[i].etag);
	cr_assert_eq(ms_snapshot_end(&sn), 0);
	s3 = ms_s3_new(&cfg, &m, &creds);
	cr_assert_not_null(s3);
	cr_assert_eq(ms_s3_snapshot_walk(s3, sn.p, sn.len, check, &seen, err, sizeof err), 0, "%s",
	    err);
	cr_expect_eq(seen.n, NOBJS);
	/* Under another prefix, none of its keys are the mount's. */
	struct ms_mount other = mount("elsewhere/");
	struct ms_s3 *s3o = ms_s3_new(&cfg, &other, &creds);
	seen.n = 0;
	cr_assert_eq(ms_s3_snapshot_walk(s3o, sn.p, sn.len, check, &seen, err, sizeof err), 0);
	cr_expect_eq(seen.n, 0, "%u keys of another prefix walked", seen.n);
	ms_s3_free(s3o);
	ms_s3_free(s3);
	free(sn.p);
}

Test(snapshot, round_trip_without_prefix)
{
	round_trip("");
}

Test(snapshot, round_trip_under_a_prefix)
{
	round_trip("team a/models&loras/");
}

Test(snapshot, refuses_what_xml_cannot_hold)
{
	struct ms_mount m = mount("");
	struct ms_snapshot sn;

	ms_snapshot_begin(&sn, &m);
	ms_snapshot_add(&sn, &m, "ok", 1, 0, "\"x\"");
	ms_snapshot_add(&sn, &m, "bad", 1, 0, "\"a\001b\"");
	ms_snapshot_add(&sn, &m, "after", 1, 0, "\"y\"");
	cr_expect_eq(ms_snapshot_end(&sn), -EINVAL);
	cr_expect_null(sn.p);
}

Test(snapshot, a_truncated_or_broken_snapshot_is_refused)
{
	struct ms_mount m = mount("");
	struct ms_config cfg = { 0 };
	struct ms_creds creds = { 0 };
	struct ms_s3 *s3 = ms_s3_new(&cfg, &m, &creds);
	struct seen seen = { 0 };
	char err[512] = "";
	const char *trunc = "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>t</NextContinuationToken></ListBucketResult>";
	const char *cut = "<ListBucketResult><Contents><Key>model.safetensors</Key><Size>5";

	cr_expect_eq(ms_s3_snapshot_walk(s3, trunc, strlen(trunc), check, &seen, err, sizeof err),
	    -EBADMSG);
	cr_expect(strstr(err, "truncated") != NULL, "%s", err);
	cr_expect_eq(ms_s3_snapshot_walk(s3, cut, strlen(cut), check, &seen, err, sizeof err),
	    -EBADMSG);
	cr_expect_eq(seen.n, 0);
	ms_s3_free(s3);
}
