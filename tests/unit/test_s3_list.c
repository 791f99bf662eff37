/* test_s3_list: the ListObjectsV2 and S3 error body parsers, and ms_parse_time, on real-looking input. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "s3.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
#define TAIL "</ListBucketResult>"
#define OBJ(key, size, etag, mtime) \
	"<Contents><Key>" key "</Key><LastModified>" mtime "</LastModified><ETag>" etag \
	"</ETag><Size>" size "</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a" \
	"</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"

/* Collects "key size etag mtime;" per object. */
struct sink {
	char text[8192];
	size_t len;
	int count;
	int stop_after; /* 0: never */
	size_t last_len; /* key_len of the last object */
	char last_key[64];
};

static int
collect(void *arg, const struct ms_s3_object *o)
{
	struct sink *s = arg;
	int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s %" PRIu64 " %s %" PRId64 ";",
	    o->key, o->size, o->etag, o->mtime);

	if (n > 0 && (size_t)n < sizeof s->text - s->len)
		s->len += (size_t)n;
	s->last_len = o->key_len;
	memcpy(s->last_key, o->key, o->key_len < sizeof s->last_key ? o->key_len : sizeof s->last_key);
	s->count++;
	if (s->stop_after && s->count >= s->stop_after)
		return 42;
	return 0;
}

struct list_case {
	const char *name;
	const char *body;
	int rc;
	bool truncated;
	const char *token;
	const char *objects; /* what collect() saw */
	const char *err;     /* substring of the message, or NULL */
};

/* 2026-11-25T16:28:57Z */
#define T1 "2026-11-25T16:28:57.000Z"
#define E1 "1795624137"

static const struct list_case cases[] = {
	{ "truncated with a token",
	  HEAD "<Name>models</Name><Prefix>repo/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	  "<IsTruncated>true</IsTruncated>"
	  OBJ("repo/a.bin", "10", "&quot;0cc175b9c0f1b6a831c399e269772661&quot;", T1)
	  OBJ("repo/b c.bin", "0", "&quot;d41d8cd98f00b204e9800998ecf8427e-2&quot;", T1)
	  "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
	  TAIL,
	  0, true, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
	  "repo/a.bin 10 \"0cc175b9c0f1b6a831c399e269772661\" " E1 ";"
	  "repo/b c.bin 0 \"d41d8cd98f00b204e9800998ecf8427e-2\" " E1 ";", NULL },
	{ "not truncated, big size",
	  HEAD "<Name>models</Name><IsTruncated>false</IsTruncated>"
	  OBJ("ckpt/model.safetensors", "17179869184", "&quot;x&quot;", "2026-01-01T00:00:00Z") TAIL,
	  0, false, "", "ckpt/model.safetensors 17179869184 \"x\" 1767225600;", NULL },
	{ "entities, CDATA, character references, spaces kept",
	  HEAD "<IsTruncated>false</IsTruncated>"
	  OBJ("a&amp;b &lt;c&gt; &apos;d&apos;.bin", "1", "&quot;e&quot;", T1)
	  OBJ("&#x4E2D;&#25991;.bin", "2", "", T1)
	  OBJ("<![CDATA[x<y>&z]]>", "3", "\"q\"", T1)
	  OBJ(" lead/trail ", "4", "", T1) TAIL,
	  0, false, "",
	  "a&b <c> 'd'.bin 1 \"e\" " E1 ";\xe4\xb8\xad\xe6\x96\x87.bin 2  " E1 ";"
	  "x<y>&z 3 \"q\" " E1 "; lead/trail  4  " E1 ";", NULL },
	{ "empty listing",
	  HEAD "<Name>models</Name><Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
	  "<IsTruncated>false</IsTruncated>" TAIL,
	  0, false, "", "", NULL },
	{ "no LastModified or ETag, pretty-printed",
	  HEAD "\n  <IsTruncated>\n false\n </IsTruncated>\n  <Contents>\n    <Key>k</Key>\n"
	  "    <Size> 5 </Size>\n  </Contents>\n" TAIL "\n",
	  0, false, "", "k 5  0;", NULL },
	{ "malformed: unclosed element",
	  HEAD "<IsTruncated>false</IsTruncated>\n<Contents><Key>k</Key><Size>1</Size>" TAIL,
	  -EBADMSG, false, "", "", "malformed XML at line 3: mismatched tag" },
	{ "malformed: not XML at all",
	  "<html>502 Bad Gateway",
	  -EBADMSG, false, "", "", "not a ListBucketResult (root element <html>)" },
	{ "malformed: text only",
	  "502 Bad Gateway",
	  -EBADMSG, false, "", "", "malformed XML at line 1: syntax error" },
	{ "empty body", "", -EBADMSG, false, "", "", "no element found" },
	{ "error body instead of a listing",
	  "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code></Error>",
	  -EBADMSG, false, "", "", "not a ListBucketResult (root element <Error>)" },
	{ "missing Size",
	  HEAD "<IsTruncated>false</IsTruncated><Contents><Key>k</Key></Contents>" TAIL,
	  -EBADMSG, false, "", "", "<Contents> without <Size> for key \"k\"" },
	{ "missing Key",
	  HEAD "<IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>" TAIL,
	  -EBADMSG, false, "", "", "<Contents> without <Key>" },
	{ "empty Key",
	  HEAD "<IsTruncated>false</IsTruncated><Contents><Key></Key><Size>1</Size></Contents>" TAIL,
	  -EBADMSG, false, "", "", "empty <Key>" },
	{ "non-numeric Size",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "12a", "", T1) TAIL,
	  -EBADMSG, false, "", "", "size \"12a\" of key \"k\" is not a number" },
	{ "negative Size",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "-1", "", T1) TAIL,
	  -EBADMSG, false, "", "", "is not a number" },
	{ "Size overflows",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "99999999999999999999", "", T1) TAIL,
	  -EBADMSG, false, "", "", "is not a number" },
	{ "Size over INT64_MAX",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "9223372036854775808", "", T1) TAIL,
	  -EBADMSG, false, "", "", "is not a number" },
	{ "bad LastModified",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("k", "1", "", "yesterday") TAIL,
	  -EBADMSG, false, "", "", "LastModified \"yesterday\" of key \"k\" is not a time" },
	{ "Key given twice",
	  HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Key>b</Key><Size>1</Size>"
	  "</Contents>" TAIL,
	  -EBADMSG, false, "", "", "<Key> given twice" },
	{ "element inside Key",
	  HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a<b/></Key><Size>1</Size></Contents>" TAIL,
	  -EBADMSG, false, "", "", "unexpected <b> inside <Key>" },
	{ "ETag over its cap",
	  HEAD "<IsTruncated>false</IsTruncated>"
	  OBJ("k", "1", "\"0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789\"", T1) TAIL,
	  -EBADMSG, false, "", "", "<ETag> over 127 bytes" },
	{ "truncated without a token",
	  HEAD "<IsTruncated>true</IsTruncated>" OBJ("k", "1", "", T1) TAIL,
	  -EBADMSG, false, "", "k 1  " E1 ";", "truncated listing without <NextContinuationToken>" },
	{ "no IsTruncated",
	  HEAD OBJ("k", "1", "", T1) TAIL,
	  -EBADMSG, false, "", "k 1  " E1 ";", "without <IsTruncated>" },
	{ "IsTruncated neither true nor false",
	  HEAD "<IsTruncated>maybe</IsTruncated>" TAIL,
	  -EBADMSG, false, "", "", "neither true nor false" },
	{ "DOCTYPE with entities refused",
	  "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
	  "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
	  -EBADMSG, false, "", "", "DOCTYPE declarations are not accepted" },
	{ "undefined entity",
	  HEAD "<IsTruncated>false</IsTruncated>" OBJ("&nope;", "1", "", T1) TAIL,
	  -EBADMSG, false, "", "", "undefined entity" },
	{ "NUL byte in body is malformed (length includes it)",
	  NULL, -EBADMSG, false, "", "", "malformed XML" },
};

Test(s3_list, parse_table)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct list_case *c = &cases[i];
		struct sink sink = { .len = 0 };
		char token[128] = "stale", err[512] = "";
		bool truncated = !c->truncated;
		const char *body = c->body;
		size_t len;
		int rc;

		if (body == NULL) {
			body = HEAD "<IsTruncated>false</IsTruncated>\0" TAIL;
			len = sizeof(HEAD "<IsTruncated>false</IsTruncated>\0" TAIL) - 1;
		} else {
			len = strlen(body);
		}
		rc = ms_s3_list_parse(body, len, collect, &sink, &truncated, token, sizeof token, err,
		    sizeof err);
		cr_expect_eq(rc, c->rc, "%s: rc %d (%s)", c->name, rc, err);
		cr_expect_eq(truncated, c->truncated, "%s: truncated", c->name);
		if (c->rc == 0)
			cr_expect_str_eq(token, c->token, "%s: token", c->name);
		cr_expect_str_eq(sink.text, c->objects, "%s: objects", c->name);
		if (c->err != NULL)
			cr_expect(strstr(err, c->err) != NULL, "%s: message \"%s\", want \"%s\"", c->name,
			    err, c->err);
		else
			cr_expect_str_eq(err, "", "%s: message", c->name);
	}
}

/* Key lengths around the cap, and a key made only of escaped bytes. */
Test(s3_list, key_cap)
{
	static const size_t lens[] = { 1, MS_KEY_MAX - 1, MS_KEY_MAX, MS_KEY_MAX + 1, 4 * MS_KEY_MAX };
	size_t cap = 8 * MS_KEY_MAX + 512;
	char *body = malloc(cap);

	cr_assert_not_null(body);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct sink sink = { .len = 0 };
		char token[64], err[256] = "";
		bool truncated;
		size_t n = 0;
		int rc;

		n += (size_t)snprintf(body + n, cap - n, HEAD "<IsTruncated>false</IsTruncated><Contents><Key>");
		memset(body + n, 'k', lens[i]);
		n += lens[i];
		n += (size_t)snprintf(body + n, cap - n, "</Key><Size>7</Size></Contents>" TAIL);
		rc = ms_s3_list_parse(body, n, collect, &sink, &truncated, token, sizeof token, err,
		    sizeof err);
		/* An over-long key is passed on with its length (one bad object, not a bad page). */
		cr_expect_eq(rc, 0, "len %zu: %s", lens[i], err);
		cr_expect_eq(sink.count, 1);
		cr_expect_eq(sink.last_len, lens[i]);
	}
	free(body);
}

/* With <EncodingType>url</EncodingType> (wherever it stands) keys are percent-decoded. */
Test(s3_list, url_encoded_keys)
{
	static const struct {
		const char *xml_key;
		const char *key;
		size_t len;
	} t[] = {
		{ "a%2Fb+c%25", "a/b c%", 6 },
		{ "x%00..%2F..%2Fetc", "x\0../../etc", 11 },
		{ "ctl%01%7F", "ctl\x01\x7f", 5 },
		{ "plain/key.bin", "plain/key.bin", 13 },
	};
	char body[1024], token[64], err[256];
	bool truncated;
	int rc;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int before = 0; before < 2; before++) {
			struct sink sink = { .len = 0 };

			snprintf(body, sizeof body, HEAD "%s<IsTruncated>false</IsTruncated><Contents><Key>%s"
			    "</Key><Size>1</Size></Contents>%s" TAIL,
			    before ? "<EncodingType>url</EncodingType>" : "", t[i].xml_key,
			    before ? "" : "<EncodingType>url</EncodingType>");
			rc = ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token,
			    sizeof token, err, sizeof err);
			cr_expect_eq(rc, 0, "%s: %s", t[i].xml_key, err);
			cr_expect_eq(sink.last_len, t[i].len, "%s: len %zu", t[i].xml_key, sink.last_len);
			cr_expect(memcmp(sink.last_key, t[i].key, t[i].len) == 0, "%s", t[i].xml_key);
		}
	}
	/* Without the marker, a '%' is a '%'. */
	{
		struct sink sink = { .len = 0 };

		snprintf(body, sizeof body, "%s", HEAD "<IsTruncated>false</IsTruncated>"
		    OBJ("a%2Fb+c", "1", "", T1) TAIL);
		cr_assert_eq(ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token,
		    sizeof token, err, sizeof err), 0, "%s", err);
		cr_expect_eq(sink.last_len, 7);
		cr_expect(memcmp(sink.last_key, "a%2Fb+c", 7) == 0);
	}
	/* A broken escape is a broken page. */
	for (size_t i = 0; i < 3; i++) {
		static const char *const bad[] = { "a%2", "a%zz", "%" };
		struct sink sink = { .len = 0 };

		snprintf(body, sizeof body, HEAD "<EncodingType>url</EncodingType><Contents><Key>%s</Key>"
		    "<Size>1</Size></Contents>" TAIL, bad[i]);
		rc = ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token,
		    sizeof token, err, sizeof err);
		cr_expect_eq(rc, -EBADMSG, "%s", bad[i]);
		cr_expect(strstr(err, "not URL-encoded") != NULL, "%s: %s", bad[i], err);
		cr_expect_eq(sink.count, 0);
	}
}

Test(s3_list, token_cap_and_stop)
{
	const char *body = HEAD "<IsTruncated>true</IsTruncated>" OBJ("a", "1", "", T1)
	    OBJ("b", "2", "", T1) "<NextContinuationToken>0123456789</NextContinuationToken>" TAIL;
	struct sink sink = { .stop_after = 1 };
	char token[10], err[256] = "";
	bool truncated;
	int rc;

	rc = ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token, sizeof token,
	    err, sizeof err);
	cr_expect_eq(rc, 42, "callback's value passes through");
	cr_expect_eq(sink.count, 1);
	cr_expect_str_eq(err, "");

	sink = (struct sink){ .len = 0 };
	rc = ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token, sizeof token,
	    err, sizeof err);
	cr_expect_eq(rc, -EBADMSG);
	cr_expect(strstr(err, "<NextContinuationToken> over 9 bytes") != NULL, "%s", err);

	cr_expect_eq(ms_s3_list_parse(body, strlen(body), collect, &sink, &truncated, token, 0,
	    err, sizeof err), -EINVAL);
	/* err may be NULL */
	cr_expect_eq(ms_s3_list_parse("<x", 2, collect, &sink, &truncated, token, sizeof token,
	    NULL, 0), -EBADMSG);
}

struct err_case {
	const char *body;
	int rc;
	const char *code;
	const char *msg;
};

static const struct err_case err_cases[] = {
	{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
	  "<Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>",
	  0, "AccessDenied", "Access Denied" },
	{ "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
	  "<BucketName>mo", 0, "NoSuchBucket", "The specified bucket does not exist" },
	{ "<Error><Message>no code</Message></Error>", -EBADMSG, "", "" },
	{ "<Error><Code>Slow&#x9;Down\xc3\xa9</Code></Error>", 0, "Slow?Down??", "" },
	{ "<html><body>502</body></html>", -EBADMSG, "", "" },
	{ "", -EBADMSG, "", "" },
};

Test(s3_list, error_body)
{
	for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
		const struct err_case *c = &err_cases[i];
		char code[32] = "x", msg[64] = "x";
		int rc = ms_s3_error_parse(c->body, strlen(c->body), code, sizeof code, msg, sizeof msg);

		cr_expect_eq(rc, c->rc, "case %zu", i);
		cr_expect_str_eq(code, c->code, "case %zu", i);
		cr_expect_str_eq(msg, c->msg, "case %zu", i);
	}
	{
		char code[5];
		const char *b = "<Error><Code>InternalError</Code></Error>";

		cr_expect_eq(ms_s3_error_parse(b, strlen(b), code, sizeof code, NULL, 0), 0);
		cr_expect_str_eq(code, "Inte");
	}
}

struct time_case {
	const char *in;
	int rc;
	int64_t want;
};

static const struct time_case time_cases[] = {
	{ "2026-11-25T16:28:57.000Z", 0, 1795624137 },
	{ "2026-11-25T16:28:57Z", 0, 1795624137 },
	{ "2026-11-25T16:28:57.123456+00:00", 0, 1795624137 },
	{ "1970-01-01T00:00:00.000Z", 0, 0 },
	{ "2024-02-29T12:00:00Z", 0, 1709208000 },
	{ "Wed, 25 Nov 2026 16:28:57 GMT", 0, 1795624137 },
	{ "Thu, 01 Jan 1970 00:00:00 GMT", 0, 0 },
	{ "Wednesday, 25-Nov-26 16:28:57 GMT", 0, 1795624137 },
	{ "Wed Nov 25 16:28:57 2026", 0, 1795624137 },
	{ "Thu Jan  1 00:00:00 1970", 0, 0 },
	{ "", -EINVAL, 0 },
	{ "2026-11-25", -EINVAL, 0 },
	{ "2026-11-25T16:28:57", -EINVAL, 0 },        /* no zone: not UTC for sure */
	{ "2026-11-25T16:28:57+02:00", -EINVAL, 0 },
	{ "2026-11-25T16:28:57.Z", -EINVAL, 0 },
	{ "2026-13-25T16:28:57Z", -EINVAL, 0 },
	{ "2026-02-29T16:28:57Z", -EINVAL, 0 },
	{ "2026-11-25T24:00:00Z", -EINVAL, 0 },
	{ "2026-11-25T16:28:57Zjunk", -EINVAL, 0 },
	{ "Wed, 25 Nov 2026 16:28:57 UTC", -EINVAL, 0 },
	{ "Wed, 25 Nox 2026 16:28:57 GMT", -EINVAL, 0 },
	{ "Wed, 5 Nov 2026 16:28:57 GMT", -EINVAL, 0 },
	{ "Wed, 25 Nov 2026 16:28 GMT", -EINVAL, 0 },
	{ "Foo, 25 Nov 2026 16:28:57 GMT", -EINVAL, 0 },
	{ "Wed, 31 Nov 2026 16:28:57 GMT", -EINVAL, 0 },
	{ "yesterday", -EINVAL, 0 },
};

Test(s3_list, parse_time)
{
	for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
		const struct time_case *c = &time_cases[i];
		int64_t t = -7;
		int rc = ms_parse_time(c->in, &t);

		cr_expect_eq(rc, c->rc, "\"%s\": rc %d", c->in, rc);
		if (c->rc == 0)
			cr_expect_eq(t, c->want, "\"%s\": %" PRId64, c->in, t);
	}
	cr_expect_eq(ms_parse_time(NULL, NULL), -EINVAL);
}
