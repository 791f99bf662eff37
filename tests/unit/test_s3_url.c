/* test_s3_url: percent-encoding and canonical object / ListObjectsV2 URLs (SigV4 needs them exact). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "s3.h"

struct enc_case {
	const char *in;
	size_t inlen; /* 0: strlen(in) */
	bool keep_slash;
	const char *want;
};

static const struct enc_case enc_cases[] = {
	{ "", 0, true, "" },
	{ "model.safetensors", 0, true, "model.safetensors" },
	{ "AZaz09-_.~", 0, false, "AZaz09-_.~" },
	{ "with space", 0, true, "with%20space" },
	{ "a+b=c.bin", 0, true, "a%2Bb%3Dc.bin" },
	{ "100%", 0, true, "100%25" },
	{ "a(1)!*'.bin", 0, true, "a%281%29%21%2A%27.bin" },
	{ "~tilde", 0, true, "~tilde" },
	{ "-leading-dash", 0, true, "-leading-dash" },
	{ "ckpt/model.bin", 0, true, "ckpt/model.bin" },
	{ "ckpt/model.bin", 0, false, "ckpt%2Fmodel.bin" },
	{ "repo/", 0, false, "repo%2F" },
	{ "\xe4\xb8\xad\xe6\x96\x87.bin", 0, true, "%E4%B8%AD%E6%96%87.bin" },
	{ "caf\xc3\xa9", 0, true, "caf%C3%A9" },
	{ "\xff\x01\x7f", 0, true, "%FF%01%7F" },
	{ "a\0b", 3, true, "a%00b" },
	{ "q?x=1&y#f", 0, true, "q%3Fx%3D1%26y%23f" },
	{ "a//b/../c", 0, true, "a//b/../c" },
	{ "a:b;c,d@e$f", 0, true, "a%3Ab%3Bc%2Cd%40e%24f" },
	{ "tok/+=", 0, false, "tok%2F%2B%3D" },
};

Test(s3_url, encode_table)
{
	for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
		const struct enc_case *c = &enc_cases[i];
		size_t inlen = c->inlen ? c->inlen : strlen(c->in);
		char out[256];
		int n;

		memset(out, 'X', sizeof out);
		n = ms_uri_encode(c->in, inlen, c->keep_slash, out, sizeof out);
		cr_expect_eq(n, (int)strlen(c->want), "case %zu: length %d", i, n);
		cr_expect_str_eq(out, c->want, "case %zu", i);
	}
}

Test(s3_url, encode_buffer_sizes)
{
	char out[16];

	/* "a b" -> "a%20b": 5 bytes + NUL. */
	cr_expect_eq(ms_uri_encode("a b", 3, true, out, 6), 5);
	cr_expect_str_eq(out, "a%20b");
	cr_expect_eq(ms_uri_encode("a b", 3, true, out, 5), -ENAMETOOLONG);
	cr_expect_eq(ms_uri_encode("a b", 3, true, out, 4), -ENAMETOOLONG); /* mid-escape */
	cr_expect_eq(ms_uri_encode("ab", 2, true, out, 3), 2);
	cr_expect_eq(ms_uri_encode("ab", 2, true, out, 2), -ENAMETOOLONG);
	cr_expect_eq(ms_uri_encode("", 0, true, out, 1), 0);
	cr_expect_eq(ms_uri_encode("", 0, true, out, 0), -ENAMETOOLONG);
}

static struct ms_mount
mount(const char *endpoint, const char *bucket, const char *prefix, bool vhost)
{
	struct ms_mount m;

	memset(&m, 0, sizeof m);
	snprintf(m.endpoint, sizeof m.endpoint, "%s", endpoint);
	snprintf(m.bucket, sizeof m.bucket, "%s", bucket);
	snprintf(m.prefix, sizeof m.prefix, "%s", prefix);
	snprintf(m.region, sizeof m.region, "us-east-1");
	m.virtual_hosted = vhost;
	return m;
}

struct url_case {
	const char *endpoint;
	const char *bucket;
	const char *prefix;
	bool vhost;
	const char *key; /* object URL; NULL: list URL */
	const char *token;
	const char *want;
};

static const struct url_case url_cases[] = {
	/* objects, path-style */
	{ "http://127.0.0.1:9000", "models", "", false, "ckpt/model.safetensors", NULL,
	  "http://127.0.0.1:9000/models/ckpt/model.safetensors" },
	{ "http://127.0.0.1:9000", "models", "repo/", false, "odd/with space+plus=.bin", NULL,
	  "http://127.0.0.1:9000/models/repo/odd/with%20space%2Bplus%3D.bin" },
	{ "https://s3.us-east-1.amazonaws.com", "models", "a b/", false, "\xe4\xb8\xad.bin", NULL,
	  "https://s3.us-east-1.amazonaws.com/models/a%20b/%E4%B8%AD.bin" },
	{ "http://127.0.0.1:9000/", "models", "", false, "a(1)!*'.bin", NULL,
	  "http://127.0.0.1:9000/models/a%281%29%21%2A%27.bin" },
	{ "http://h", "b", "p/", false, "-dash/./x/../y", NULL, "http://h/b/p/-dash/./x/../y" },
	/* objects, virtual-hosted */
	{ "https://s3.eu-west-1.amazonaws.com", "models", "repo/", true, "ckpt/m.bin", NULL,
	  "https://models.s3.eu-west-1.amazonaws.com/repo/ckpt/m.bin" },
	{ "http://localhost:9000", "my.bucket", "", true, "x y", NULL,
	  "http://my.bucket.localhost:9000/x%20y" },
	/* listings, path-style */
	{ "http://127.0.0.1:9000", "models", "", false, NULL, NULL,
	  "http://127.0.0.1:9000/models?encoding-type=url&list-type=2&max-keys=1000" },
	{ "http://127.0.0.1:9000", "models", "repo/", false, NULL, "",
	  "http://127.0.0.1:9000/models?encoding-type=url&list-type=2&max-keys=1000&prefix=repo%2F" },
	{ "http://127.0.0.1:9000", "models", "repo/sub dir/", false, NULL, "1/abc+def==",
	  "http://127.0.0.1:9000/models?continuation-token=1%2Fabc%2Bdef%3D%3D&encoding-type=url&list-type=2"
	  "&max-keys=1000&prefix=repo%2Fsub%20dir%2F" },
	{ "http://127.0.0.1:9000", "models", "a+b/", false, NULL, NULL,
	  "http://127.0.0.1:9000/models?encoding-type=url&list-type=2&max-keys=1000&prefix=a%2Bb%2F" },
	/* listings, virtual-hosted */
	{ "https://s3.amazonaws.com", "models", "loras/", true, NULL, "tok",
	  "https://models.s3.amazonaws.com/?continuation-token=tok&encoding-type=url&list-type=2&max-keys=1000"
	  "&prefix=loras%2F" },
	{ "https://s3.amazonaws.com", "models", "", true, NULL, NULL,
	  "https://models.s3.amazonaws.com/?encoding-type=url&list-type=2&max-keys=1000" },
};

Test(s3_url, url_table)
{
	for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *c = &url_cases[i];
		struct ms_mount m = mount(c->endpoint, c->bucket, c->prefix, c->vhost);
		char out[MS_URL_MAX];
		int rc;

		if (c->key != NULL)
			rc = ms_s3_object_url(&m, c->key, out, sizeof out);
		else
			rc = ms_s3_list_url(&m, c->token, out, sizeof out);
		cr_expect_eq(rc, 0, "case %zu: rc %d", i, rc);
		cr_expect_str_eq(out, c->want, "case %zu", i);
	}
}

Test(s3_url, url_errors)
{
	struct ms_mount m = mount("http://127.0.0.1:9000", "models", "repo/", false);
	char out[MS_URL_MAX], key[MS_KEY_MAX + 2];

	cr_expect_eq(ms_s3_object_url(&m, "", out, sizeof out), -EINVAL);
	cr_expect_eq(ms_s3_object_url(&m, "k", out, 0), -ENAMETOOLONG);
	/* "http://127.0.0.1:9000/models/repo/k" is 35 bytes: 35 does not fit, 36 does. */
	cr_expect_eq(ms_s3_object_url(&m, "k", out, 35), -ENAMETOOLONG);
	cr_expect_str_eq(out, "");
	cr_expect_eq(ms_s3_object_url(&m, "k", out, 36), 0);
	cr_expect_eq(ms_s3_list_url(&m, NULL, out, 20), -ENAMETOOLONG);

	/* prefix + key over S3's 1024 bytes */
	memset(key, 'k', sizeof key - 1);
	key[MS_KEY_MAX - strlen(m.prefix)] = '\0';
	cr_expect_eq(ms_s3_object_url(&m, key, out, sizeof out), 0);
	key[MS_KEY_MAX - strlen(m.prefix)] = 'k';
	key[MS_KEY_MAX - strlen(m.prefix) + 1] = '\0';
	cr_expect_eq(ms_s3_object_url(&m, key, out, sizeof out), -ENAMETOOLONG);

	/* a worst case still fits MS_URL_MAX: 1024 bytes all escaped */
	m = mount("https://s3.us-east-1.amazonaws.com", "models", "", false);
	memset(key, ' ', MS_KEY_MAX);
	key[MS_KEY_MAX] = '\0';
	cr_expect_eq(ms_s3_object_url(&m, key, out, sizeof out), 0);

	m = mount("127.0.0.1:9000", "models", "", false);
	cr_expect_eq(ms_s3_object_url(&m, "k", out, sizeof out), -EINVAL);
	cr_expect_eq(ms_s3_list_url(&m, NULL, out, sizeof out), -EINVAL);
	m = mount("http://", "models", "", false);
	cr_expect_eq(ms_s3_list_url(&m, NULL, out, sizeof out), -EINVAL);
	m = mount("http://h", "", "", false);
	cr_expect_eq(ms_s3_list_url(&m, NULL, out, sizeof out), -EINVAL);
}
