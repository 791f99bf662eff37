/* test_config.c: the INI config parser: every error path, sizes, durations, paths, mount lookup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "config.h"
#include "table.h"

/* Lines 1-2 and 3-6 of most configs below. */
#define CACHE "[cache]\ndir = /var/cache/ms\n"
#define MOUNT \
	"[mount \"m\"]\npath = /models\nsource = s3://bucket/sd\nendpoint = http://127.0.0.1:9000\n"
/* A second mount "n" with its path on the second line of the section. */
#define MOUNT_N(path) \
	"[mount \"n\"]\npath = " path "\nsource = s3://bucket/x\nendpoint = http://h\n"
/* Mount "m" with KV on line 5 (after CACHE), or a chosen source (line 5) or endpoint (line 6). */
#define MOUNT_WITH(kv) \
	"[mount \"m\"]\npath = /models\n" kv "\nsource = s3://bucket/\nendpoint = http://h\n"
#define MOUNT_SRC(src) "[mount \"m\"]\npath = /models\nsource = " src "\nendpoint = http://h\n"
#define MOUNT_EP(ep) "[mount \"m\"]\npath = /models\nsource = s3://bucket/\nendpoint = " ep "\n"

static struct ms_config cfg;
static char file[64];
static char err[1024];

static void
write_file(const char *text, size_t len)
{
	int fd;

	strlcpy(file, "/tmp/ms-test-config-XXXXXX", sizeof file);
	fd = mkstemp(file);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static int
load_text(const char *text)
{
	int rc;

	write_file(text, strlen(text));
	rc = ms_config_load(&cfg, file, err, sizeof err);
	unlink(file);
	return rc;
}

/* Asserts the load failed with -EINVAL and "FILE:LINE: " (LINE 0: "FILE: ") then NEEDLE. */
static void
expect_error(const char *text, int line, const char *needle, const char *needle2)
{
	char prefix[128];
	int rc = load_text(text);

	if (line)
		snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
	else
		snprintf(prefix, sizeof prefix, "%s: ", file);
	cr_assert_eq(rc, -EINVAL, "rc %d for [%s] (err: %s)", rc, needle, err);
	cr_assert(!strncmp(err, prefix, strlen(prefix)), "'%s' does not start with '%s'", err,
	    prefix);
	cr_assert(strstr(err, needle), "'%s' does not contain '%s'", err, needle);
	if (needle2)
		cr_assert(strstr(err, needle2), "'%s' does not contain '%s'", err, needle2);
	cr_assert_eq(cfg.nmounts, 0, "config not cleared after an error");
}

struct bad_case {
	const char *text;
	int line;
	const char *needle;
	const char *needle2;
};

/* Criterion may run each case in a fresh process (pointers differ): parameters are indexes. */
static const struct bad_case bad_cases[] = {
	/* sections */
	{ CACHE MOUNT "[foo]\n", 7, "[foo]: unknown section", NULL },
	{ CACHE MOUNT "[mount]\n", 7, "[mount]", NULL },
	{ CACHE MOUNT "[mount models]\n", 7, "expected [mount \"NAME\"]", NULL },
	{ CACHE MOUNT "[mount \"a b\"]\n", 7, "[mount \"a b\"]: mount name", NULL },
	{ CACHE MOUNT "[mount \"\"]\n", 7, "mount name", NULL },
	{ CACHE MOUNT "[mount \"a/b\"]\n", 7, "mount name", NULL },
	{ CACHE MOUNT "[mount \"0123456789012345678901234567890123456789012345678901234567890123\"]\n",
	    7, "mount name", NULL },
	{ CACHE MOUNT "[mount \"m\"]\n", 7, "[mount \"m\"]: duplicate mount name", "line 3" },
	{ CACHE MOUNT "[cache]\n", 7, "[cache]: duplicate section", "line 1" },
	{ CACHE MOUNT "[cache\n", 7, "without ']'", NULL },
	{ CACHE MOUNT "[cache] junk\n", 7, "after the section header", NULL },
	{ "dir = /x\n" CACHE MOUNT, 1, "dir: key outside any section", NULL },
	{ CACHE "garbage\n" MOUNT, 3, "[cache]: expected 'key = value'", NULL },
	{ CACHE "  continued\n" MOUNT, 3, "[cache]: expected 'key = value'", NULL },
	{ CACHE MOUNT "name ; = x\n", 7, "syntax error", NULL },
	/* keys */
	{ CACHE "bogus = 1\n" MOUNT, 3, "[cache] bogus: unknown key", NULL },
	{ CACHE "path = /x\n" MOUNT, 3, "[cache] path: unknown key", NULL },
	{ CACHE MOUNT "bogus = 1\n", 7, "[mount \"m\"] bogus: unknown key", NULL },
	{ CACHE MOUNT "dir = /x\n", 7, "[mount \"m\"] dir: unknown key", NULL },
	{ CACHE MOUNT "path = /x\n", 7, "[mount \"m\"] path: duplicate key", NULL },
	{ CACHE "dir = /y\n" MOUNT, 3, "[cache] dir: duplicate key", NULL },
	{ CACHE "size =\n" MOUNT, 3, "[cache] size: empty value", NULL },
	{ CACHE MOUNT "region = ; comment\n", 7, "[mount \"m\"] region: empty value", NULL },
	/* missing required keys: at the section header */
	{ "[cache]\nsize = 1G\n" MOUNT, 1, "[cache] dir: required key missing", NULL },
	{ MOUNT, 0, "[cache] dir: required key missing", NULL },
	{ CACHE, 0, "at least one mount", NULL },
	{ CACHE "[mount \"m\"]\nsource = s3://bucket/\nendpoint = http://h\n", 3,
	    "[mount \"m\"] path: required key missing", NULL },
	{ CACHE "[mount \"m\"]\npath = /models\nendpoint = http://h\n", 3,
	    "[mount \"m\"] source: required key missing", NULL },
	{ CACHE MOUNT "[mount \"n\"]\n", 7, "[mount \"n\"] path: required key missing", NULL },
	/* [cache] values */
	{ "[cache]\ndir = var/cache\n" MOUNT, 2, "[cache] dir: 'var/cache' is not an absolute", NULL },
	{ "[cache]\ndir = /var/../cache\n" MOUNT, 2, "[cache] dir:", "'..'" },
	{ "[cache]\ndir = /var/./cache\n" MOUNT, 2, "[cache] dir:", "'.'" },
	{ "[cache]\ndir = //\n" MOUNT, 2, "[cache] dir: the cache dir must not be /", NULL },
	{ CACHE "size = 12X\n" MOUNT, 3, "[cache] size: '12X' is not a size", NULL },
	{ CACHE "size = -1\n" MOUNT, 3, "[cache] size:", NULL },
	{ CACHE "size = 99999999999T\n" MOUNT, 3, "[cache] size:", NULL },
	{ CACHE "size = 1.5G\n" MOUNT, 3, "[cache] size:", NULL },
	{ CACHE "chunk_size = 3M\n" MOUNT, 3, "[cache] chunk_size: '3M' is not a power of two", NULL },
	{ CACHE "chunk_size = 32K\n" MOUNT, 3, "[cache] chunk_size:", NULL },
	{ CACHE "chunk_size = 512M\n" MOUNT, 3, "[cache] chunk_size:", NULL },
	{ CACHE "chunk_size = 0\n" MOUNT, 3, "[cache] chunk_size:", NULL },
	{ CACHE "connections = 0\n" MOUNT, 3, "[cache] connections: '0' is not a whole number from 1 to 256", NULL },
	{ CACHE "connections = 257\n" MOUNT, 3, "[cache] connections:", NULL },
	{ CACHE "connections = -1\n" MOUNT, 3, "[cache] connections:", NULL },
	{ CACHE "connections = 16x\n" MOUNT, 3, "[cache] connections:", NULL },
	{ CACHE "connections = 99999999999999999999999\n" MOUNT, 3, "[cache] connections:", NULL },
	{ CACHE "readahead = lots\n" MOUNT, 3, "[cache] readahead: 'lots'", NULL },
	{ CACHE "timeout = soon\n" MOUNT, 3, "[cache] timeout: 'soon' is not a duration", NULL },
	{ CACHE "timeout = 0\n" MOUNT, 3, "[cache] timeout:", NULL },
	{ CACHE "timeout = 5x\n" MOUNT, 3, "[cache] timeout:", NULL },
	{ CACHE "retries = 0\n" MOUNT, 3, "[cache] retries:", NULL },
	{ CACHE "retries = 101\n" MOUNT, 3, "[cache] retries:", NULL },
	{ CACHE "eviction = fifo\n" MOUNT, 3, "[cache] eviction:", NULL },
	{ CACHE MOUNT "[tenant \"default\"]\nsize = lots\n", 8, "[tenant \"default\"] size:", NULL },
	{ CACHE MOUNT "[tenant \"default\"]\nquota = 1G\n", 8, "[tenant \"default\"] quota: unknown key", NULL },
	{ CACHE MOUNT "[tenant \"nobody\"]\nsize = 1G\n", 7, "[tenant \"nobody\"]: no mount has this tenant", NULL },
	{ CACHE MOUNT "[tenant \"default\"]\n[tenant \"default\"]\n", 8, "duplicate tenant", NULL },
	{ CACHE MOUNT "[tenant \"bad name\"]\n", 7, "tenant name must be", NULL },
	{ CACHE "high_watermark = 101%\n" MOUNT, 3, "[cache] high_watermark:", NULL },
	{ CACHE "high_watermark = 0\n" MOUNT, 3, "[cache] high_watermark:", NULL },
	{ CACHE "low_watermark = 50%%\n" MOUNT, 3, "[cache] low_watermark:", NULL },
	{ CACHE "high_watermark = 80%\nlow_watermark = 90%\n" MOUNT, 1, "[cache] low_watermark:", NULL },
	{ CACHE "min_free = 91\n" MOUNT, 3, "[cache] min_free:", NULL },
	{ CACHE "max_bandwidth = fast\n" MOUNT, 3, "[cache] max_bandwidth:", NULL },
	/* [mount] path */
	{ CACHE "[mount \"m\"]\npath = models\n", 4, "[mount \"m\"] path: 'models' is not an absolute", NULL },
	{ CACHE "[mount \"m\"]\npath = /\n", 4, "[mount \"m\"] path: a mount cannot cover /", NULL },
	{ CACHE "[mount \"m\"]\npath = ///\n", 4, "[mount \"m\"] path: a mount cannot cover /", NULL },
	{ CACHE "[mount \"m\"]\npath = /a/../b\n", 4, "[mount \"m\"] path:", "'..'" },
	{ CACHE "[mount \"m\"]\npath = /a/./b\n", 4, "[mount \"m\"] path:", "'.'" },
	{ CACHE "[mount \"m\"]\npath = /a/b/..\n", 4, "[mount \"m\"] path:", "'..'" },
	{ CACHE "[mount \"m\"]\npath = /var/cache/ms/sub\nsource = s3://bucket/\nendpoint = http://h\n",
	    4, "[mount \"m\"] path: /var/cache/ms/sub is inside the cache dir /var/cache/ms", NULL },
	{ CACHE "[mount \"m\"]\npath = /var/cache/ms/\nsource = s3://bucket/\nendpoint = http://h\n",
	    4, "[mount \"m\"] path: /var/cache/ms is inside the cache dir", NULL },
	{ "[cache]\ndir = /models/cache\n" MOUNT, 4,
	    "[mount \"m\"] path: /models contains the cache dir /models/cache", NULL },
	{ MOUNT "[cache]\ndir = /var/cache/ms/../x\n", 6, "[cache] dir:", NULL },
	{ MOUNT "[cache]\ndir = /models/c\n", 2, "[mount \"m\"] path: /models contains the cache dir", NULL },
	/* two mounts */
	{ CACHE MOUNT MOUNT_N("/models"), 8,
	    "[mount \"n\"] path: /models is the same as /models of [mount \"m\"] (line 4)", NULL },
	{ CACHE MOUNT MOUNT_N("/models/sd"), 8,
	    "[mount \"n\"] path: /models/sd is inside /models of [mount \"m\"]", NULL },
	{ CACHE MOUNT MOUNT_N("//models//sd/x/"), 8,
	    "[mount \"n\"] path: /models/sd/x is inside /models of [mount \"m\"]", NULL },
	{ CACHE MOUNT MOUNT_N("/"), 8, "[mount \"n\"] path: a mount cannot cover /", NULL },
	{ CACHE "[mount \"m\"]\npath = /a/b/c\nsource = s3://bucket/\nendpoint = http://h\n"
	    MOUNT_N("/a"), 8, "[mount \"n\"] path: /a contains /a/b/c of [mount \"m\"]", NULL },
	/* [mount] source */
	{ CACHE MOUNT_SRC("gs://bucket/"), 5, "[mount \"m\"] source: 'gs://bucket/' is not s3://", NULL },
	{ CACHE MOUNT_SRC("bucket"), 5, "[mount \"m\"] source:", NULL },
	{ CACHE MOUNT_SRC("s3://"), 5, "[mount \"m\"] source: invalid bucket name ''", NULL },
	{ CACHE MOUNT_SRC("s3:///x"), 5, "[mount \"m\"] source: invalid bucket name", NULL },
	{ CACHE MOUNT_SRC("s3://ab/x"), 5, "[mount \"m\"] source: invalid bucket name 'ab'", NULL },
	{ CACHE MOUNT_SRC("s3://Bucket/x"), 5, "[mount \"m\"] source: invalid bucket name 'Bucket'", NULL },
	{ CACHE MOUNT_SRC("s3://b_c_d"), 5, "invalid bucket name 'b_c_d'", NULL },
	{ CACHE MOUNT_SRC("s3://-abc"), 5, "invalid bucket name '-abc'", NULL },
	{ CACHE MOUNT_SRC("s3://abc-"), 5, "invalid bucket name 'abc-'", NULL },
	{ CACHE MOUNT_SRC("s3://a..b"), 5, "invalid bucket name 'a..b'", NULL },
	{ CACHE MOUNT_SRC("s3://a234567890123456789012345678901234567890123456789012345678901234"),
	    5, "invalid bucket name", NULL },
	{ CACHE MOUNT_SRC("s3://bucket//x"), 5, "[mount \"m\"] source:", "must not start with '/'" },
	/* [mount] endpoint */
	{ CACHE MOUNT_EP("ftp://h"), 6, "[mount \"m\"] endpoint: 'ftp://h' must start with http://", NULL },
	{ CACHE MOUNT_EP("127.0.0.1:9000"), 6, "[mount \"m\"] endpoint:", "http://" },
	{ CACHE MOUNT_EP("http://"), 6, "[mount \"m\"] endpoint: 'http://' has no host", NULL },
	{ CACHE MOUNT_EP("https:///"), 6, "[mount \"m\"] endpoint:", "has no host" },
	{ CACHE MOUNT_EP("http://:9000"), 6, "[mount \"m\"] endpoint:", "has no host" },
	{ CACHE MOUNT_EP("http://h/path"), 6, "[mount \"m\"] endpoint:", "with no path" },
	{ CACHE MOUNT_EP("http://user@h"), 6, "[mount \"m\"] endpoint:", NULL },
	{ CACHE MOUNT_EP("http://h:0"), 6, "[mount \"m\"] endpoint:", "port" },
	{ CACHE MOUNT_EP("http://h:65536"), 6, "[mount \"m\"] endpoint:", "port" },
	{ CACHE MOUNT_EP("http://h:"), 6, "[mount \"m\"] endpoint:", "port" },
	{ CACHE MOUNT_EP("http://h:80x"), 6, "[mount \"m\"] endpoint:", "port" },
	{ CACHE MOUNT_EP("http://[::1"), 6, "[mount \"m\"] endpoint:", "IPv6" },
	{ CACHE MOUNT_EP("http://[]:80"), 6, "[mount \"m\"] endpoint:", "IPv6" },
	/* other [mount] keys */
	{ CACHE MOUNT_WITH("region = us east"), 5, "[mount \"m\"] region: 'us east'", NULL },
	{ CACHE MOUNT_WITH("tenant = a/b"), 5, "[mount \"m\"] tenant: 'a/b'", NULL },
	{ CACHE MOUNT_WITH("tenant = 0123456789012345678901234567890123456789012345678901234567890123"),
	    5, "[mount \"m\"] tenant:", NULL },
	{ CACHE MOUNT_WITH("profile = a b"), 5, "[mount \"m\"] profile:", NULL },
	{ CACHE MOUNT_WITH("credentials = creds"), 5, "[mount \"m\"] credentials: 'creds' is not an absolute", NULL },
	{ CACHE MOUNT_WITH("credentials = /etc/../creds"), 5, "[mount \"m\"] credentials:", NULL },
	{ CACHE MOUNT_WITH("addressing = vhost"), 5, "[mount \"m\"] addressing: 'vhost' is neither", NULL },
	{ CACHE MOUNT_WITH("addressing = Path"), 5, "[mount \"m\"] addressing:", NULL },
};

ParameterizedTestParameters(config, errors)
{
	static size_t idx[TABLE_LEN(bad_cases)];

	return table_rows(idx, TABLE_LEN(idx));
}

ParameterizedTest(size_t *i, config, errors)
{
	const struct bad_case *bc = &bad_cases[*i];

	expect_error(bc->text, bc->line, bc->needle, bc->needle2);
}

Test(config, spec_example)
{
	const char *text =
	    "[cache]\n"
	    "dir = /var/cache/modelshim\n"
	    "size = 200G\n"
	    "chunk_size = 4M\n"
	    "connections = 16      ; optional\n"
	    "readahead = 64M       ; optional\n"
	    "timeout = 30s         ; optional\n"
	    "retries = 5           ; optional\n"
	    "\n"
	    "[mount \"models\"]\n"
	    "path = /models\n"
	    "source = s3://models/sd/\n"
	    "endpoint = http://127.0.0.1:9000\n"
	    "region = us-east-1\n"
	    "tenant = default\n"
	    "credentials = /etc/modelshim/credentials\n"
	    "profile = default          ; optional\n"
	    "addressing = virtual  ; optional, default path\n";
	const struct ms_mount *m;

	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_str_eq(cfg.file, file);
	cr_assert_str_eq(cfg.cache_dir, "/var/cache/modelshim");
	cr_assert_eq(cfg.cache_size, 200ull << 30);
	cr_assert_eq(cfg.chunk_size, 4u << 20);
	cr_assert_eq(cfg.connections, 16);
	cr_assert_eq(cfg.readahead, 64u << 20);
	cr_assert_eq(cfg.timeout_ms, 30000);
	cr_assert_eq(cfg.retries, 5);
	cr_assert_eq(cfg.nmounts, 1);
	m = &cfg.mounts[0];
	cr_assert_str_eq(m->name, "models");
	cr_assert_str_eq(m->path, "/models");
	cr_assert_str_eq(m->bucket, "models");
	cr_assert_str_eq(m->prefix, "sd/");
	cr_assert_str_eq(m->endpoint, "http://127.0.0.1:9000");
	cr_assert_str_eq(m->region, "us-east-1");
	cr_assert_str_eq(m->tenant, "default");
	cr_assert_str_eq(m->credentials, "/etc/modelshim/credentials");
	cr_assert_str_eq(m->profile, "default");
	cr_assert(m->virtual_hosted);
	cr_assert_eq(m->line, 10);
}

Test(config, eviction_keys)
{
	cr_assert_eq(load_text(CACHE "eviction = 2-random\nhigh_watermark = 90%\nlow_watermark = 70\n"
	    "min_free = 0\nmax_bandwidth = 200M\n" MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.eviction, "2-random");
	cr_expect_eq(cfg.high_pct, 90);
	cr_expect_eq(cfg.low_pct, 70);
	cr_expect_eq(cfg.min_free_pct, 0);
	cr_expect_eq(cfg.max_bandwidth, 200ull << 20);
}

Test(config, tenant_section)
{
	const struct ms_tenant *t;

	cr_assert_eq(load_text(CACHE MOUNT "[tenant \"default\"]\nsize = 50G\n"), 0, "%s", err);
	t = ms_config_tenant(&cfg, "default");
	cr_assert_not_null(t);
	cr_expect_eq(t->size, 50ull << 30);
	cr_expect_null(ms_config_tenant(&cfg, "other"));
	cr_expect_eq(t->gid, 0);
	cr_expect_not(ms_config_shared(&cfg));
}

Test(config, tenant_group_and_verify)
{
	const struct ms_tenant *t;

	cr_assert_eq(load_text(CACHE "verify = open\n" MOUNT "[tenant \"default\"]\ngid = 2001\n"), 0,
	    "%s", err);
	t = ms_config_tenant(&cfg, "default");
	cr_assert_not_null(t);
	cr_expect_eq(t->gid, 2001);
	cr_expect(ms_config_shared(&cfg));
	cr_expect(cfg.verify_on_open);
	expect_error(CACHE MOUNT "[tenant \"default\"]\ngid = 0\n", 8, "gid: '0' is not a numeric group id",
	    NULL);
	expect_error(CACHE MOUNT "[tenant \"default\"]\ngid = wheel\n", 8, "gid: 'wheel'", NULL);
	expect_error(CACHE MOUNT "[tenant \"default\"]\ngid = 4294967295\n", 8, "gid:", NULL);
	expect_error(CACHE "verify = always\n" MOUNT, 3, "verify: 'always' is neither open nor off", NULL);
}

/* io_uring_setup through syscall(2) is refused by the shim unless allowed. */
Test(config, io_uring)
{
	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_expect_not(cfg.io_uring_allowed);
	cr_assert_eq(load_text(CACHE "io_uring = allow\n" MOUNT), 0, "%s", err);
	cr_expect(cfg.io_uring_allowed);
	cr_assert_eq(load_text(CACHE "io_uring = refuse\n" MOUNT), 0, "%s", err);
	cr_expect_not(cfg.io_uring_allowed);
	expect_error(CACHE "io_uring = yes\n" MOUNT, 3, "io_uring: 'yes' is neither allow nor refuse", NULL);
	expect_error(CACHE "io_uring = allow\nio_uring = refuse\n" MOUNT, 4, "io_uring", NULL);
}

/* "." and ".." as a tenant or mount name would name a dir outside the tenant's. */
Test(config, dot_names)
{
	expect_error(CACHE "[mount \"m\"]\npath = /models\nsource = s3://bucket/\nendpoint = http://h\n"
	    "tenant = ..\n", 7, "tenant: '..' is not 1-63", "starting with a letter or digit");
	expect_error(CACHE "[mount \"..\"]\npath = /models\n", 3, "[mount \"..\"]", NULL);
	expect_error(CACHE MOUNT "[tenant \".\"]\nsize = 1G\n", 7, "[tenant \".\"]", NULL);
	expect_error(CACHE "[mount \"m\"]\npath = /models\nsource = s3://bucket/\nendpoint = http://h\n"
	    "tenant = .hidden\n", 7, "tenant: '.hidden'", NULL);
}

Test(config, defaults)
{
	const struct ms_mount *m;

	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_assert_eq(cfg.cache_size, 0);
	cr_assert_eq(cfg.chunk_size, MS_DEFAULT_CHUNK_SIZE);
	cr_assert_eq(cfg.connections, MS_DEFAULT_CONNECTIONS);
	cr_assert_eq(cfg.readahead, MS_DEFAULT_READAHEAD);
	cr_assert_eq(cfg.timeout_ms, 30000);
	cr_assert_eq(cfg.retries, 5);
	cr_assert_str_eq(cfg.eviction, "lru");
	cr_assert_eq(cfg.high_pct, 95);
	cr_assert_eq(cfg.low_pct, 85);
	cr_assert_eq(cfg.min_free_pct, 5);
	cr_assert_eq(cfg.max_bandwidth, 0);
	m = &cfg.mounts[0];
	cr_assert_str_eq(m->region, ""); /* left to ms_endpoint_resolve (test_endpoint.c) */
	cr_assert_str_eq(m->tenant, "default");
	cr_assert_str_eq(m->profile, "default");
	cr_assert_str_eq(m->credentials, "");
	cr_assert_not(m->virtual_hosted);
	cr_assert_eq(m->line, 3);
}

/* Without endpoint and region keys the file loads: the environment or the defaults decide. */
Test(config, endpoint_and_region_optional)
{
	cr_assert_eq(load_text(CACHE "[mount \"m\"]\npath = /models\nsource = s3://bucket/\n"), 0,
	    "%s", err);
	cr_assert_str_eq(cfg.mounts[0].endpoint, "");
	cr_assert_str_eq(cfg.mounts[0].region, "");
}

Test(config, cache_values)
{
	cr_assert_eq(load_text("[cache]\ndir = //var//cache/ms/\nsize = 0\nchunk_size = 64K\n"
	    "connections = 256\nreadahead = 0\ntimeout = 500ms\nretries = 100\n" MOUNT), 0, "%s", err);
	cr_assert_str_eq(cfg.cache_dir, "/var/cache/ms");
	cr_assert_eq(cfg.cache_size, 0);
	cr_assert_eq(cfg.chunk_size, 64u << 10);
	cr_assert_eq(cfg.connections, 256);
	cr_assert_eq(cfg.readahead, 0);
	cr_assert_eq(cfg.timeout_ms, 500);
	cr_assert_eq(cfg.retries, 100);
	cr_assert_eq(load_text(CACHE "chunk_size = 256MiB\nconnections = 1\n" MOUNT), 0, "%s", err);
	cr_assert_eq(cfg.chunk_size, 256u << 20);
	cr_assert_eq(cfg.connections, 1);
}

struct path_case {
	const char *in, *out;
};

Test(config, path_normalisation)
{
	static const struct path_case cases[] = {
		{ "/models", "/models" },
		{ "/models/", "/models" },
		{ "//models", "/models" },
		{ "/models//sd///", "/models/sd" },
		{ "/a/.b/c..", "/a/.b/c.." },
		{ "/a/...", "/a/..." },
	};
	char text[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, CACHE "[mount \"m\"]\npath = %s\nsource = s3://bucket\n"
		    "endpoint = http://h\n", cases[i].in);
		cr_assert_eq(load_text(text), 0, "%s: %s", cases[i].in, err);
		cr_assert_str_eq(cfg.mounts[0].path, cases[i].out, "%s", cases[i].in);
	}
}

struct source_case {
	const char *in, *bucket, *prefix;
};

Test(config, source)
{
	static const struct source_case cases[] = {
		{ "s3://bucket", "bucket", "" },
		{ "s3://bucket/", "bucket", "" },
		{ "s3://bucket/sd", "bucket", "sd/" },
		{ "s3://bucket/sd/", "bucket", "sd/" },
		{ "s3://bucket/a/b/c", "bucket", "a/b/c/" },
		{ "s3://my.bucket-01/x y/", "my.bucket-01", "x y/" },
		{ "s3://abc/x", "abc", "x/" },
		{ "s3://a23456789012345678901234567890123456789012345678901234567890123",
		    "a23456789012345678901234567890123456789012345678901234567890123", "" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, CACHE MOUNT_SRC("%s"), cases[i].in);
		cr_assert_eq(load_text(text), 0, "%s: %s", cases[i].in, err);
		cr_assert_str_eq(cfg.mounts[0].bucket, cases[i].bucket, "%s", cases[i].in);
		cr_assert_str_eq(cfg.mounts[0].prefix, cases[i].prefix, "%s", cases[i].in);
	}
}

Test(config, endpoint)
{
	static const struct path_case cases[] = {
		{ "http://127.0.0.1:9000", "http://127.0.0.1:9000" },
		{ "http://127.0.0.1:9000/", "http://127.0.0.1:9000" },
		{ "https://s3.us-east-1.amazonaws.com//", "https://s3.us-east-1.amazonaws.com" },
		{ "http://minio", "http://minio" },
		{ "http://[::1]:9000/", "http://[::1]:9000" },
		{ "https://h:65535", "https://h:65535" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, CACHE MOUNT_EP("%s"), cases[i].in);
		cr_assert_eq(load_text(text), 0, "%s: %s", cases[i].in, err);
		cr_assert_str_eq(cfg.mounts[0].endpoint, cases[i].out, "%s", cases[i].in);
	}
}

Test(config, syntax_variants)
{
	/* BOM, CRLF, '#' and ';' comments, indentation, ':' separator, blanks around the name. */
	cr_assert_eq(load_text("\xEF\xBB\xBF# comment\r\n; another\r\n[ cache ] ; c\r\n"
	    "  dir = /c\r\n\r\n[mount   \"m\"]\t# c\r\npath: /models\r\n\tsource = s3://bucket/x ; c\r\n"
	    "endpoint = http://h\r\naddressing = path\r\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.cache_dir, "/c");
	cr_assert_str_eq(cfg.mounts[0].name, "m");
	cr_assert_str_eq(cfg.mounts[0].path, "/models");
	cr_assert_str_eq(cfg.mounts[0].prefix, "x/");
	cr_assert_str_eq(cfg.mounts[0].endpoint, "http://h");
	cr_assert_not(cfg.mounts[0].virtual_hosted);
	cr_assert_eq(cfg.mounts[0].line, 6);
}

Test(config, long_names_and_lines)
{
	/* inih truncates section names at 49 characters and lines at 200: neither may bite. */
	char text[4096], path[1001];
	const char *name = "m23456789012345678901234567890123456789012345678901234567890123";

	memset(path, 'p', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	snprintf(text, sizeof text, CACHE "[mount \"%s\"]\npath = %s\nsource = s3://bucket\n"
	    "endpoint = http://h\n", name, path);
	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_str_eq(cfg.mounts[0].name, name);
	cr_assert_str_eq(cfg.mounts[0].path, path);
}

Test(config, line_too_long)
{
	static char text[8192];

	snprintf(text, sizeof text, CACHE "region = ");
	memset(text + strlen(text), 'r', 5000);
	strlcat(text, "\n" MOUNT, sizeof text);
	expect_error(text, 3, "line too long", NULL);
}

Test(config, nul_byte)
{
	static const char text[] = CACHE "size = 1\0G\n" MOUNT;

	write_file(text, sizeof text - 1);
	cr_assert_eq(ms_config_load(&cfg, file, err, sizeof err), -EINVAL);
	unlink(file);
	cr_assert(strstr(err, ":3: NUL byte"), "%s", err);
}

Test(config, path_too_long)
{
	static char text[4096];
	size_t n;

	snprintf(text, sizeof text, CACHE "[mount \"m\"]\npath = /");
	n = strlen(text);
	memset(text + n, 'x', MS_PATH_MAX);
	strlcat(text, "\n", sizeof text);
	expect_error(text, 4, "[mount \"m\"] path: path too long", NULL);
}

Test(config, mount_limit)
{
	static char text[MS_MAX_MOUNTS * 128 + 256];
	char sect[128];

	strlcpy(text, CACHE, sizeof text);
	for (int i = 0; i <= MS_MAX_MOUNTS; i++) {
		snprintf(sect, sizeof sect, "[mount \"m%d\"]\npath = /m%d\nsource = s3://bucket\n"
		    "endpoint = http://h\n", i, i);
		strlcat(text, sect, sizeof text);
	}
	expect_error(text, 3 + 4 * MS_MAX_MOUNTS, "[mount \"m64\"]: too many mounts", NULL);
	/* exactly MS_MAX_MOUNTS is fine */
	*strstr(text, "[mount \"m64\"]") = '\0';
	cr_assert_eq(load_text(text), 0, "%s", err);
	cr_assert_eq(cfg.nmounts, MS_MAX_MOUNTS);
}

Test(config, siblings_are_not_nested)
{
	cr_assert_eq(load_text(CACHE MOUNT MOUNT_N("/modelsX") "[mount \"o\"]\npath = /mod\n"
	    "source = s3://bucket\nendpoint = http://h\n"), 0, "%s", err);
	cr_assert_eq(cfg.nmounts, 3);
}

Test(config, missing_file)
{
	char want[128];

	cr_assert_eq(ms_config_load(&cfg, "/nonexistent/ms.ini", err, sizeof err), -ENOENT);
	snprintf(want, sizeof want, "/nonexistent/ms.ini: %s", strerror(ENOENT));
	cr_assert_str_eq(err, want);
}

Test(config, directory)
{
	cr_assert_eq(ms_config_load(&cfg, "/tmp", err, sizeof err), -EISDIR);
	cr_assert_str_eq(err, "/tmp: is a directory");
}

Test(config, unreadable_file)
{
	char want[128];

	int rc;

	write_file(CACHE MOUNT, strlen(CACHE MOUNT));
	chmod(file, 0);
	/* root reads mode 000 files: be nobody for the load (the saved uid lets us come back) */
	if (geteuid() == 0 && seteuid(65534) != 0)
		cr_skip_test("cannot drop root");
	rc = ms_config_load(&cfg, file, err, sizeof err);
	if (getuid() == 0)
		cr_assert_eq(seteuid(0), 0);
	unlink(file);
	cr_assert_eq(rc, -EACCES, "%s", err);
	snprintf(want, sizeof want, "%s: %s", file, strerror(EACCES));
	cr_assert_str_eq(err, want);
}

Test(config, small_error_buffer)
{
	char small[8];

	cr_assert_eq(ms_config_load(&cfg, "/nonexistent/ms.ini", small, sizeof small), -ENOENT);
	cr_assert_str_eq(small, "/nonexi");
	cr_assert_eq(ms_config_load(&cfg, "/nonexistent/ms.ini", NULL, 0), -ENOENT);
	cr_assert_eq(ms_config_load(&cfg, "", err, sizeof err), -EINVAL);
	cr_assert_str_eq(err, "no config file name given");
	cr_assert_eq(ms_config_load(&cfg, NULL, err, sizeof err), -EINVAL);
}

struct size_case {
	const char *s;
	int rc;
	uint64_t v;
};

Test(config, parse_size)
{
	static const struct size_case cases[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "4096B", 0, 4096 }, { "512K", 0, 512 << 10 },
		{ "512k", 0, 512 << 10 }, { "4M", 0, 4 << 20 }, { "4MB", 0, 4 << 20 },
		{ "4MiB", 0, 4 << 20 }, { "200G", 0, 200ull << 30 }, { "200GiB", 0, 200ull << 30 },
		{ "2T", 0, 2ull << 40 }, { "007K", 0, 7 << 10 },
		{ "16777215T", 0, 16777215ull << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "16777216T", -EINVAL, 0 }, { "18446744073709551616", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { "G", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
		{ "4iB", -EINVAL, 0 }, { "4MiBB", -EINVAL, 0 }, { "4Mb", -EINVAL, 0 },
		{ "4P", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "4MM", -EINVAL, 0 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 12345;
		cr_assert_eq(ms_parse_size(cases[i].s, &v), cases[i].rc, "'%s'", cases[i].s);
		if (cases[i].rc == 0)
			cr_assert_eq(v, cases[i].v, "'%s' gave %llu", cases[i].s,
			    (unsigned long long)v);
		else
			cr_assert_eq(v, 12345, "'%s' wrote its output on failure", cases[i].s);
	}
	cr_assert_eq(ms_parse_size(NULL, &v), -EINVAL);
}

struct duration_case {
	const char *s;
	int rc;
	unsigned ms;
};

Test(config, parse_duration)
{
	static const struct duration_case cases[] = {
		{ "30", 0, 30000 }, { "30s", 0, 30000 }, { "500ms", 0, 500 }, { "2m", 0, 120000 },
		{ "1h", 0, 3600000 }, { "0", 0, 0 }, { "0ms", 0, 0 },
		{ "4294967295ms", 0, 4294967295u }, { "4294967s", 0, 4294967000u },
		{ "4294968s", -EINVAL, 0 }, { "4294967296ms", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "-1s", -EINVAL, 0 }, { "1.5s", -EINVAL, 0 },
		{ "5x", -EINVAL, 0 }, { "5 s", -EINVAL, 0 }, { "5sec", -EINVAL, 0 }, { "5S", -EINVAL, 0 },
		{ "5mss", -EINVAL, 0 }, { "99999999999999999999", -EINVAL, 0 },
	};
	unsigned v;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 12345;
		cr_assert_eq(ms_parse_duration_ms(cases[i].s, &v), cases[i].rc, "'%s'", cases[i].s);
		cr_assert_eq(v, cases[i].rc ? 12345 : cases[i].ms, "'%s' gave %u", cases[i].s, v);
	}
	cr_assert_eq(ms_parse_duration_ms(NULL, &v), -EINVAL);
}

struct lookup_case {
	const char *path;
	const char *mount; /* NULL: no mount */
	const char *rel;
};

Test(config, mount_for_path)
{
	static const struct lookup_case cases[] = {
		{ "/models", "m", "" },
		{ "/models/", "m", "" },
		{ "/models/a", "m", "a" },
		{ "/models/a/b.safetensors", "m", "a/b.safetensors" },
		{ "/models//a", "m", "a" },
		{ "/modelsX", "x", "" },
		{ "/modelsX/y", "x", "y" },
		{ "/modelsY", NULL, NULL },
		{ "/model", NULL, NULL },
		{ "/data/sets/x", "d", "x" },
		{ "/data/set", NULL, NULL },
		{ "/data", NULL, NULL },
		{ "/", NULL, NULL },
		{ "models/a", NULL, NULL },
		{ "", NULL, NULL },
	};
	const struct ms_mount *m;
	const char *rel;

	cr_assert_eq(load_text(CACHE MOUNT "[mount \"x\"]\npath = /modelsX\nsource = s3://bucket\n"
	    "endpoint = http://h\n[mount \"d\"]\npath = /data/sets\nsource = s3://bucket\n"
	    "endpoint = http://h\n"), 0, "%s", err);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rel = "unset";
		m = ms_config_mount_for_path(&cfg, cases[i].path, &rel);
		if (!cases[i].mount) {
			cr_assert_null(m, "'%s' matched %s", cases[i].path, m ? m->name : "");
			cr_assert_str_eq(rel, "unset");
			continue;
		}
		cr_assert_not_null(m, "'%s' matched nothing", cases[i].path);
		cr_assert_str_eq(m->name, cases[i].mount, "'%s'", cases[i].path);
		cr_assert_str_eq(rel, cases[i].rel, "'%s'", cases[i].path);
	}
	cr_assert_not_null(ms_config_mount_for_path(&cfg, "/models/a", NULL));
	cr_assert_null(ms_config_mount_for_path(&cfg, NULL, &rel));
	cr_assert_null(ms_config_mount_for_path(NULL, "/models", &rel));
}

Test(config, mount_by_name)
{
	cr_assert_eq(load_text(CACHE MOUNT MOUNT_N("/other")), 0, "%s", err);
	cr_assert_str_eq(ms_config_mount_by_name(&cfg, "m")->path, "/models");
	cr_assert_str_eq(ms_config_mount_by_name(&cfg, "n")->path, "/other");
	cr_assert_null(ms_config_mount_by_name(&cfg, "o"));
	cr_assert_null(ms_config_mount_by_name(&cfg, ""));
	cr_assert_null(ms_config_mount_by_name(&cfg, NULL));
}

Test(config, config_path)
{
	char out[64], small[4];

	unsetenv("MODELSHIM_CONFIG");
	strlcpy(out, "untouched", sizeof out);
	cr_assert_eq(ms_config_path(NULL, out, sizeof out), -ENOENT);
	cr_assert_str_eq(out, "untouched");
	cr_assert_eq(ms_config_path("", out, sizeof out), -ENOENT);
	cr_assert_str_eq(out, "untouched");
	cr_assert_eq(ms_config_path("/etc/a.ini", out, sizeof out), 0);
	cr_assert_str_eq(out, "/etc/a.ini");

	setenv("MODELSHIM_CONFIG", "/etc/env.ini", 1);
	cr_assert_eq(ms_config_path(NULL, out, sizeof out), 0);
	cr_assert_str_eq(out, "/etc/env.ini");
	cr_assert_eq(ms_config_path("/etc/a.ini", out, sizeof out), 0);
	cr_assert_str_eq(out, "/etc/a.ini");
	strlcpy(small, "abc", sizeof small);
	cr_assert_eq(ms_config_path(NULL, small, sizeof small), -ENAMETOOLONG);
	cr_assert_str_eq(small, "abc");

	setenv("MODELSHIM_CONFIG", "", 1);
	cr_assert_eq(ms_config_path(NULL, out, sizeof out), -ENOENT);
}

/* [cache] metrics = HOST:PORT: off by default; numeric addresses only, a port from 1 to 65535. */
Test(config, metrics)
{
	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_expect_eq(cfg.metrics_port, 0);
	cr_expect_str_empty(cfg.metrics_host);
	cr_assert_eq(load_text(CACHE "metrics = 127.0.0.1:9464\n" MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.metrics_host, "127.0.0.1");
	cr_expect_eq(cfg.metrics_port, 9464);
	cr_assert_eq(load_text(CACHE "metrics = 0.0.0.0:1\n" MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.metrics_host, "0.0.0.0");
	cr_expect_eq(cfg.metrics_port, 1);
	cr_assert_eq(load_text(CACHE "metrics = [::1]:65535\n" MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.metrics_host, "::1");
	cr_expect_eq(cfg.metrics_port, 65535);
	cr_assert_eq(load_text(CACHE "metrics = [::]:9464\n" MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.metrics_host, "::");

	expect_error(CACHE "metrics = 9464\n" MOUNT, 3, "[cache] metrics: '9464' is not HOST:PORT", NULL);
	expect_error(CACHE "metrics = :9464\n" MOUNT, 3, "metrics: ':9464': no address", NULL);
	expect_error(CACHE "metrics = []:9464\n" MOUNT, 3, "no address", NULL);
	expect_error(CACHE "metrics = localhost:9464\n" MOUNT, 3,
	    "'localhost' is not a numeric IPv4 address", "names are not looked up");
	expect_error(CACHE "metrics = ::1:9464\n" MOUNT, 3, "'::1' is not a numeric IPv4", NULL);
	expect_error(CACHE "metrics = [::1]x:9464\n" MOUNT, 3, "is not HOST:PORT", NULL);
	expect_error(CACHE "metrics = [::1:9464\n" MOUNT, 3, "is not HOST:PORT", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:\n" MOUNT, 3, "port must be 1 to 65535", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:0\n" MOUNT, 3, "port must be 1 to 65535", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:65536\n" MOUNT, 3, "port must be 1 to 65535", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:+80\n" MOUNT, 3, "port must be 1 to 65535", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:80x\n" MOUNT, 3, "port must be 1 to 65535", NULL);
	expect_error(CACHE "metrics = 256.0.0.1:80\n" MOUNT, 3, "not a numeric", NULL);
	expect_error(CACHE "metrics = [" "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:80\n"
	    MOUNT, 3, "too long", NULL);
	expect_error(CACHE "metrics = 127.0.0.1:80\nmetrics = 127.0.0.1:81\n" MOUNT, 4,
	    "metrics: duplicate key", NULL);
}

/* [tier "NAME"] and a mount's tier = NAME. */
#define TIER(keys) "[tier \"site-a\"]\n" keys
#define MOUNT_TIER MOUNT "tier = site-a\n"

Test(config, tier_section)
{
	const struct ms_tier *t;

	cr_assert_eq(load_text(CACHE "chunk_size = 4M\n" MOUNT_TIER
	    TIER("nodes = 10.0.0.5:8080 tier-b.local:80 [fd00::7]:8080\nblock = 32M\n")), 0, "%s", err);
	cr_assert_eq(cfg.ntiers, 1);
	t = &cfg.tiers[0];
	cr_expect_str_eq(t->name, "site-a");
	cr_assert_eq(t->nnodes, 3);
	cr_expect_str_eq(t->nodes[0], "10.0.0.5:8080");
	cr_expect_str_eq(t->nodes[1], "tier-b.local:80");
	cr_expect_str_eq(t->nodes[2], "[fd00::7]:8080");
	cr_expect_eq(t->block, 32u << 20);
	cr_expect_eq(cfg.mounts[0].tier, 0);
	cr_assert_eq(t->nallow, 6, "the default allow list: loopback and the private ranges");
	cr_expect_str_eq(t->allow[0], "127.0.0.0/8");

	cr_assert_eq(load_text(CACHE MOUNT TIER("nodes = 127.0.0.1:1\nallow = 10.1.0.0/16 fd00::/8\n")),
	    0, "%s", err);
	cr_expect_eq(cfg.mounts[0].tier, -1, "a mount without tier = reads the origin");
	cr_expect_eq(cfg.tiers[0].block, 16u << 20, "default block");
	cr_assert_eq(cfg.tiers[0].nallow, 2);
	cr_expect_str_eq(cfg.tiers[0].allow[1], "fd00::/8");
}

Test(config, tier_errors)
{
	expect_error(CACHE MOUNT_TIER, 3, "[mount \"m\"] tier: no [tier \"site-a\"] section", NULL);
	expect_error(CACHE MOUNT TIER("block = 16M\n"), 7, "[tier \"site-a\"] nodes: required key missing",
	    NULL);
	expect_error(CACHE MOUNT TIER("nodes = 10.0.0.5\n"), 8, "nodes: '10.0.0.5' is not HOST:PORT", NULL);
	expect_error(CACHE MOUNT TIER("nodes = 10.0.0.5:0\n"), 8, "is not HOST:PORT", NULL);
	expect_error(CACHE MOUNT TIER("nodes = 10.0.0.5:99999\n"), 8, "is not HOST:PORT", NULL);
	expect_error(CACHE MOUNT TIER("nodes = fd00::7:80\n"), 8, "the host is not a name", NULL);
	expect_error(CACHE MOUNT TIER("nodes = [fd00::zz]:80\n"), 8, "in brackets", NULL);
	expect_error(CACHE MOUNT TIER("nodes = a/b:80\n"), 8, "the host is not a name", NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\nblock = 5M\n"), 7, "block: 5242880 is not a multiple",
	    NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\nblock = 2G\n"), 7, "block:", NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\nallow = 10.0.0.0\n"), 9, "allow: '10.0.0.0' is not a network",
	    NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\nallow = 10.0.0.0/33\n"), 9, "is not a network", NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\nallow = ::/129\n"), 9, "is not a network", NULL);
	expect_error(CACHE MOUNT TIER("nodes = h:1\n") TIER("nodes = h:2\n"), 9,
	    "[tier \"site-a\"]: duplicate tier (first at line 7)", NULL);
	expect_error(CACHE MOUNT "[tier site-a]\n", 7, "expected [tier \"NAME\"]", NULL);
}

Test(config, lookup_keys)
{
	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_expect(cfg.lookup);
	cr_expect_eq(cfg.lookup_ttl_ms, 15000);
	cr_assert_eq(load_text(CACHE "lookup = off\nlookup_ttl = 2s\n" MOUNT), 0, "%s", err);
	cr_expect_not(cfg.lookup);
	cr_expect_eq(cfg.lookup_ttl_ms, 2000);
	expect_error(CACHE "lookup = maybe\n" MOUNT, 3, "lookup: 'maybe' is neither on nor off", NULL);
	expect_error(CACHE "lookup_ttl = 0\n" MOUNT, 3, "lookup_ttl: '0' is not a duration above zero",
	    NULL);
}

Test(config, gc_section)
{
	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_expect_not(cfg.gc_lock_etcd);
	cr_expect_eq(cfg.gc_lock_ttl_ms, 30000);
	cr_expect_str_eq(cfg.gc_lock_name, "modelshim-gc");
	cr_assert_eq(load_text(CACHE MOUNT "[gc]\nlock = etcd\netcd_endpoints = http://10.0.0.9:2379 "
	    " https://[fd00::9]:2379\nlock_ttl = 10s\nlock_name = site-a.gc\n"), 0, "%s", err);
	cr_expect(cfg.gc_lock_etcd);
	cr_expect_str_eq(cfg.gc_etcd_endpoints, "http://10.0.0.9:2379,https://[fd00::9]:2379");
	cr_expect_eq(cfg.gc_lock_ttl_ms, 10000);
	cr_expect_str_eq(cfg.gc_lock_name, "site-a.gc");
	cr_assert_eq(load_text(CACHE MOUNT "[gc]\nlock = none\n"), 0, "%s", err);
	cr_expect_not(cfg.gc_lock_etcd);
	expect_error(CACHE MOUNT "[gc]\nlock = etcd\n", 7, "[gc] etcd_endpoints: required with lock = etcd",
	    NULL);
	expect_error(CACHE MOUNT "[gc]\nlock = zookeeper\n", 8, "lock: 'zookeeper' is neither etcd nor none",
	    NULL);
	expect_error(CACHE MOUNT "[gc]\netcd_endpoints = 10.0.0.9:2379\n", 8, "is not an etcd URL", NULL);
	expect_error(CACHE MOUNT "[gc]\netcd_endpoints = http://a:1,http://b:2\n", 8, "is not an etcd URL",
	    NULL);
	expect_error(CACHE MOUNT "[gc]\netcd_endpoints = h://1 \n", 8, "is not an etcd URL", NULL);
	expect_error(CACHE MOUNT "[gc]\n[gc]\n", 8, "[gc]: duplicate section (first at line 7)", NULL);
	expect_error(CACHE MOUNT "[gc]\nsize = 1G\n", 8, "[gc]", NULL);
}

Test(config, namespace_snapshot)
{
	cr_assert_eq(load_text(CACHE MOUNT), 0, "%s", err);
	cr_expect_str_eq(cfg.mounts[0].snapshot, "");
	cr_expect_eq(cfg.mounts[0].snapshot_max_age_ms, 15u * 60 * 1000);
	cr_assert_eq(load_text(CACHE MOUNT_WITH("namespace_snapshot = .modelshim/ns.xml\n"
	    "namespace_snapshot_max_age = 2m")), 0, "%s", err);
	cr_expect_str_eq(cfg.mounts[0].snapshot, ".modelshim/ns.xml");
	cr_expect_eq(cfg.mounts[0].snapshot_max_age_ms, 120000);
	expect_error(CACHE MOUNT_WITH("namespace_snapshot = a/../b"), 5,
	    "namespace_snapshot: 'a/../b' is not an object key under the mount's prefix", NULL);
	expect_error(CACHE MOUNT_WITH("namespace_snapshot = /abs"), 5, "is not an object key", NULL);
	expect_error(CACHE MOUNT_WITH("namespace_snapshot = dir/"), 5, "is not an object key", NULL);
	expect_error(CACHE MOUNT_WITH("namespace_snapshot_max_age = 0"), 5,
	    "namespace_snapshot_max_age: '0' is not a duration above zero", NULL);
}

Test(config, tier_timeout)
{
	cr_assert_eq(load_text(CACHE MOUNT TIER("nodes = h:1\n")), 0, "%s", err);
	cr_expect_eq(cfg.tiers[0].timeout_ms, 120000);
	cr_assert_eq(load_text(CACHE MOUNT TIER("nodes = h:1\ntimeout = 45s\n")), 0, "%s", err);
	cr_expect_eq(cfg.tiers[0].timeout_ms, 45000);
	expect_error(CACHE MOUNT TIER("nodes = h:1\ntimeout = soon\n"), 9,
	    "timeout: 'soon' is not a duration above zero", NULL);
}
