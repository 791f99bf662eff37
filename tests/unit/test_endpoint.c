/* test_endpoint.c: a mount's endpoint, region, CA file: its keys, AWS variables, defaults. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "endpoint.h"
#include "table.h"

/* The environment of one case: up to 4 NAME=VALUE strings (VALUE may be ""), NULL-terminated. */
static const char *const *fake_env;

static char *
fake_getenv(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *e = fake_env; e != NULL && *e != NULL; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return (char *)*e + n + 1;
	return NULL;
}

struct endpoint_case {
	const char *endpoint_key, *region_key; /* the mount's config keys; NULL: absent */
	const char *env[5];
	int rc;
	const char *endpoint, *region; /* the outcome, or (rc < 0) the error's start and a part of it */
};

static const struct endpoint_case cases[] = {
	/* Nothing given: us-east-1 and AWS's own endpoint for it. */
	{ NULL, NULL, { NULL }, 0, "https://s3.us-east-1.amazonaws.com", "us-east-1" },
	/* Region: AWS_REGION over AWS_DEFAULT_REGION; "" counts as unset; the key over both. */
	{ NULL, NULL, { "AWS_DEFAULT_REGION=eu-west-1" }, 0, "https://s3.eu-west-1.amazonaws.com",
	    "eu-west-1" },
	{ NULL, NULL, { "AWS_DEFAULT_REGION=eu-west-1", "AWS_REGION=eu-central-1" }, 0,
	    "https://s3.eu-central-1.amazonaws.com", "eu-central-1" },
	{ NULL, NULL, { "AWS_REGION=", "AWS_DEFAULT_REGION=eu-west-1" }, 0,
	    "https://s3.eu-west-1.amazonaws.com", "eu-west-1" },
	{ NULL, "ap-south-1", { "AWS_REGION=eu-central-1", "AWS_DEFAULT_REGION=eu-west-1" }, 0,
	    "https://s3.ap-south-1.amazonaws.com", "ap-south-1" },
	{ NULL, NULL, { "AWS_REGION=cn-north-1" }, 0, "https://s3.cn-north-1.amazonaws.com.cn",
	    "cn-north-1" },
	/* Endpoint: AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL; "" counts as unset; the key over both. */
	{ NULL, NULL, { "AWS_ENDPOINT_URL=http://minio:9000" }, 0, "http://minio:9000", "us-east-1" },
	{ NULL, NULL, { "AWS_ENDPOINT_URL=http://minio:9000", "AWS_ENDPOINT_URL_S3=https://s3.lan" }, 0,
	    "https://s3.lan", "us-east-1" },
	{ NULL, NULL, { "AWS_ENDPOINT_URL_S3=", "AWS_ENDPOINT_URL=http://minio:9000" }, 0,
	    "http://minio:9000", "us-east-1" },
	{ "http://key:1", NULL,
	    { "AWS_ENDPOINT_URL=http://minio:9000", "AWS_ENDPOINT_URL_S3=https://s3.lan" }, 0,
	    "http://key:1", "us-east-1" },
	{ "http://key:1", "key-region", { "AWS_ENDPOINT_URL_S3=https://s3.lan", "AWS_REGION=env-region" },
	    0, "http://key:1", "key-region" },
	/* The variable's endpoint with the environment's region (signing), not AWS's endpoint. */
	{ NULL, NULL, { "AWS_ENDPOINT_URL=https://[::1]:9000/", "AWS_REGION=eu-west-3" }, 0,
	    "https://[::1]:9000", "eu-west-3" },
	/* A variable that is not used is not judged. */
	{ "http://key:1", NULL, { "AWS_ENDPOINT_URL_S3=ftp://x" }, 0, "http://key:1", "us-east-1" },
	{ NULL, NULL, { "AWS_ENDPOINT_URL=nonsense", "AWS_ENDPOINT_URL_S3=http://s3:80" }, 0,
	    "http://s3:80", "us-east-1" },
	{ NULL, "key-region", { "AWS_REGION=not a region" }, 0, "https://s3.key-region.amazonaws.com",
	    "key-region" },
	/* A variable that is used is held to the key's grammar, and named in the error. */
	{ NULL, NULL, { "AWS_ENDPOINT_URL_S3=ftp://x" }, -EINVAL, "AWS_ENDPOINT_URL_S3: 'ftp://x' must "
	    "start with http:// or https://", "for [mount \"m\"], which has no endpoint key" },
	{ NULL, NULL, { "AWS_ENDPOINT_URL=http://h/bucket" }, -EINVAL, "AWS_ENDPOINT_URL: ",
	    "with no path" },
	{ NULL, NULL, { "AWS_ENDPOINT_URL=http://h:0" }, -EINVAL, "AWS_ENDPOINT_URL: ", "port" },
	{ NULL, NULL, { "AWS_REGION=eu west" }, -EINVAL, "AWS_REGION: 'eu west' is not",
	    "which has no region key" },
	{ NULL, NULL, { "AWS_DEFAULT_REGION=../x" }, -EINVAL, "AWS_DEFAULT_REGION: '../x'", NULL },
};

static void
one_mount(struct ms_config *cfg, const char *endpoint, const char *region)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->nmounts = 1;
	strlcpy(cfg->mounts[0].name, "m", sizeof cfg->mounts[0].name);
	strlcpy(cfg->mounts[0].endpoint, endpoint ? endpoint : "", sizeof cfg->mounts[0].endpoint);
	strlcpy(cfg->mounts[0].region, region ? region : "", sizeof cfg->mounts[0].region);
}

ParameterizedTestParameters(endpoint, precedence)
{
	static size_t idx[TABLE_LEN(cases)];

	return table_rows(idx, TABLE_LEN(idx));
}

ParameterizedTest(size_t *i, endpoint, precedence)
{
	const struct endpoint_case *c = &cases[*i];
	static struct ms_config cfg;
	char err[512] = "";
	int rc;

	one_mount(&cfg, c->endpoint_key, c->region_key);
	fake_env = c->env;
	rc = ms_endpoint_resolve(&cfg, fake_getenv, err, sizeof err);
	cr_assert_eq(rc, c->rc, "case %zu: rc %d (%s)", *i, rc, err);
	if (rc < 0) {
		cr_expect(!strncmp(err, c->endpoint, strlen(c->endpoint)), "case %zu: error '%s'", *i,
		    err);
		cr_expect(c->region == NULL || strstr(err, c->region) != NULL,
		    "case %zu: error '%s' lacks '%s'", *i, err, c->region);
		return;
	}
	cr_expect_str_eq(cfg.mounts[0].endpoint, c->endpoint, "case %zu", *i);
	cr_expect_str_eq(cfg.mounts[0].region, c->region, "case %zu", *i);
}

/* Each mount on its own: the one with keys keeps them, the other takes the environment's. */
Test(endpoint, per_mount)
{
	static struct ms_config cfg;
	static const char *const env[] = { "AWS_ENDPOINT_URL=http://env:9000", "AWS_REGION=eu-west-1",
		NULL };
	char err[512] = "";

	one_mount(&cfg, "https://key.example", "us-west-2");
	cfg.nmounts = 2;
	strlcpy(cfg.mounts[1].name, "n", sizeof cfg.mounts[1].name);
	fake_env = env;
	cr_assert_eq(ms_endpoint_resolve(&cfg, fake_getenv, err, sizeof err), 0, "%s", err);
	cr_expect_str_eq(cfg.mounts[0].endpoint, "https://key.example");
	cr_expect_str_eq(cfg.mounts[0].region, "us-west-2");
	cr_expect_str_eq(cfg.mounts[1].endpoint, "http://env:9000");
	cr_expect_str_eq(cfg.mounts[1].region, "eu-west-1");
}

/* A CA file: the ca_bundle key over AWS_CA_BUNDLE, "" (none) without either; it must exist. */
Test(endpoint, ca_bundle)
{
	static struct ms_config cfg;
	char a[] = "/tmp/ms-test-ca-a-XXXXXX", b[] = "/tmp/ms-test-ca-b-XXXXXX";
	char env_b[64], err[512];
	int fa = mkstemp(a), fb = mkstemp(b);
	const char *env[3] = { NULL };
	struct {
		const char *key, *var; /* the key's value and AWS_CA_BUNDLE's (NULL: unset) */
		int rc;
		const char *want;      /* the CA file, or a part of the error */
	} ca_cases[] = {
		{ NULL, NULL, 0, "" },
		{ NULL, "", 0, "" },
		{ NULL, b, 0, b },
		{ a, b, 0, a },
		{ a, "relative/ca.pem", 0, a },
		{ NULL, "relative/ca.pem", -EINVAL, "AWS_CA_BUNDLE: 'relative/ca.pem' is not an absolute path" },
		{ NULL, "/nonexistent/ca.pem", -ENOENT, "AWS_CA_BUNDLE: /nonexistent/ca.pem: No such file" },
		{ "/nonexistent/ca.pem", b, -ENOENT, "[mount \"m\"] ca_bundle: /nonexistent/ca.pem: No such" },
		{ NULL, "/tmp", -EISDIR, "AWS_CA_BUNDLE: /tmp: Is a directory" },
	};

	cr_assert(fa >= 0 && fb >= 0);
	close(fa);
	close(fb);
	fake_env = env;
	for (size_t i = 0; i < sizeof ca_cases / sizeof ca_cases[0]; i++) {
		one_mount(&cfg, "https://s3.lan", "r");
		if (ca_cases[i].key != NULL)
			strlcpy(cfg.mounts[0].ca_bundle, ca_cases[i].key, sizeof cfg.mounts[0].ca_bundle);
		env[0] = NULL;
		if (ca_cases[i].var != NULL) {
			snprintf(env_b, sizeof env_b, "AWS_CA_BUNDLE=%s", ca_cases[i].var);
			env[0] = env_b;
		}
		err[0] = '\0';
		int rc = ms_endpoint_resolve(&cfg, fake_getenv, err, sizeof err);

		cr_expect_eq(rc, ca_cases[i].rc, "case %zu: rc %d (%s)", i, rc, err);
		if (rc == 0)
			cr_expect_str_eq(cfg.mounts[0].ca_bundle, ca_cases[i].want, "case %zu", i);
		else
			cr_expect(strstr(err, ca_cases[i].want) == err, "case %zu: error '%s'", i, err);
	}
	unlink(a);
	unlink(b);
}
