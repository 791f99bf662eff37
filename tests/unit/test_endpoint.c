/* test_endpoint.c: each mount's endpoint and region: config keys, then the AWS variables, then the defaults. */
#include <errno.h>
#include <string.h>

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
	{ "http://key:1", NULL, { "AWS_ENDPOINT_URL=http://minio:9000", "AWS_ENDPOINT_URL_S3=https://s3.lan" },
	    0, "http://key:1", "us-east-1" },
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
