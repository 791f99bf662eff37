/*
 * config.c: reads and validates the modelshim INI file into a struct ms_config (the values'
 * grammars are in config_value.c, the lookups in a loaded config in config_lookup.c). It never
 * reads credentials, never touches the cache,
 * never prints (errors go back in the caller's buffer as "FILE:LINE: [section] key: ...") and never
 * exits. The shim calls it inside host processes, so it allocates nothing it does not free.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <ini.h>

#include "config.h"
#include "ini_line.h"
#include "keys.h"
#include "log.h"

enum sect { SECT_NONE, SECT_CACHE, SECT_MOUNT, SECT_TENANT, SECT_TIER, SECT_GC };

/* State of one ms_config_load(): inih calls read_line() and on_key() with it. */
struct parse {
	struct ms_config *cfg;
	FILE *f;
	char *err;
	size_t errlen;
	int rc;                 /* first error (-errno), 0 while none */
	int lineno;             /* lines read so far */
	enum sect sect;         /* section of the line being parsed */
	char label[MS_NAME_MAX + 16]; /* "[cache]" or "[mount "NAME"]", for messages */
	struct ms_mount *mount; /* when sect == SECT_MOUNT */
	struct ms_tenant *tenant; /* when sect == SECT_TENANT */
	struct ms_tier *tier;   /* when sect == SECT_TIER */
	uint64_t seen;          /* one bit per key of keys[] seen in the current section */
	int cache_line;         /* line of [cache], 0 if none yet */
	int gc_line;            /* line of [gc], 0 if none */
	int path_line[MS_MAX_MOUNTS];
	char why[512];          /* what is wrong with the value being set */
};

/*
 * Records the first error as "FILE:LINE: message" (LINE 0: "FILE: message") with p->rc -EINVAL;
 * callers with another errno set p->rc after. Returns p->rc.
 */
static int __attribute__((format(printf, 3, 4)))
fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc)
		return p->rc;
	p->rc = -EINVAL;
	if (!p->err || !p->errlen)
		return p->rc;
	if (!p->cfg->file[0])
		n = 0;
	else if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->cfg->file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->cfg->file);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return p->rc;
}

/* Says in p->why what is wrong with a value; on_key() adds file, line, section and key. */
static int __attribute__((format(printf, 2, 3)))
bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof p->why, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool
valid_name(const char *s, size_t len)
{
	/* A letter or digit first: "." and ".." would name a dir outside the one meant. */
	if (len < 1 || len >= MS_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool
ms_config_valid_name(const char *s)
{
	return valid_name(s, strlen(s));
}

/* Bucket names: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit, no "..". */
static bool
valid_bucket(const char *s, size_t len)
{
	if (len < 3 || len > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '.' && s[i] != '-') || (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return true;
}

/* Absolute path IN into OUT[MS_PATH_MAX]: "//" collapsed, no trailing '/', no "." or "..". */
static int
norm_path(struct parse *p, const char *in, char *out)
{
	const char *s = in;
	size_t o = 0, n;

	if (*s != '/')
		return bad(p, "'%.64s' is not an absolute path", in);
	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		n = strcspn(s, "/");
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return bad(p, "'%.64s': '.' and '..' components are not allowed", in);
		if (o + 1 + n + 1 > MS_PATH_MAX)
			return bad(p, "path too long (max %d characters)", MS_PATH_MAX - 1);
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static int
check_dir(struct parse *p, const char *v)
{
	(void)v;
	return strcmp(p->cfg->cache_dir, "/") ? 0 : bad(p, "the cache dir must not be /");
}

static int
set_chunk_size(struct parse *p, const char *v)
{
	uint64_t n;

	if (ms_parse_size(v, &n) || n < (64u << 10) || n > (256u << 20) || (n & (n - 1)))
		return bad(p, "'%.64s' is not a power of two from 64K to 256M", v);
	p->cfg->chunk_size = (uint32_t)n;
	return 0;
}

static int
check_path(struct parse *p, const char *v)
{
	(void)v;
	if (!strcmp(p->mount->path, "/"))
		return bad(p, "a mount cannot cover /");
	p->path_line[p->mount - p->cfg->mounts] = p->lineno;
	return 0;
}

static int
set_source(struct parse *p, const char *v)
{
	struct ms_mount *m = p->mount;
	const char *b = v + 5, *pre;
	size_t blen, plen;

	if (strncmp(v, "s3://", 5))
		return bad(p, "'%.64s' is not s3://BUCKET[/PREFIX]", v);
	blen = strcspn(b, "/");
	if (!valid_bucket(b, blen))
		return bad(p, "invalid bucket name '%.*s' (3-63 of a-z 0-9 . -, starting and "
		    "ending with a letter or digit)", (int)(blen > 64 ? 64 : blen), b);
	pre = b[blen] == '/' ? b + blen + 1 : b + blen;
	plen = strlen(pre);
	if (*pre == '/')
		return bad(p, "the prefix in '%.64s' must not start with '/'", v);
	for (size_t i = 0; i < plen; i++)
		if (iscntrl((unsigned char)pre[i]))
			return bad(p, "control character in the prefix");
	if (plen + 2 > sizeof m->prefix)
		return bad(p, "prefix too long (max %zu characters)", sizeof m->prefix - 2);
	memcpy(m->bucket, b, blen);
	m->bucket[blen] = '\0';
	memcpy(m->prefix, pre, plen + 1);
	if (plen && pre[plen - 1] != '/')
		strlcat(m->prefix, "/", sizeof m->prefix);
	return 0;
}

static int
set_endpoint(struct parse *p, const char *v)
{
	char why[160];

	if (ms_config_endpoint(v, p->mount->endpoint, sizeof p->mount->endpoint, why, sizeof why))
		return bad(p, "%s", why);
	return 0;
}

/* A key that takes one of two words: *IS_YES says which; the error of anything else. */
static int
one_of_two(struct parse *p, const char *v, const char *yes, const char *no, bool *is_yes)
{
	if (strcmp(v, yes) != 0 && strcmp(v, no) != 0)
		return bad(p, "'%.64s' is neither %s nor %s", v, yes, no);
	*is_yes = strcmp(v, yes) == 0;
	return 0;
}

static int
set_addressing(struct parse *p, const char *v)
{
	bool path = true;
	int rc = one_of_two(p, v, "path", "virtual", &path);

	if (rc == 0)
		p->mount->virtual_hosted = !path;
	return rc;
}

static int
set_eviction(struct parse *p, const char *v)
{
	bool lru = true;
	int rc = one_of_two(p, v, "lru", "2-random", &lru);

	if (rc == 0)
		strlcpy(p->cfg->eviction, v, sizeof p->cfg->eviction);
	return rc;
}

static int
set_verify(struct parse *p, const char *v)
{
	return one_of_two(p, v, "open", "off", &p->cfg->verify_on_open);
}

static int
set_fill(struct parse *p, const char *v)
{
	return one_of_two(p, v, "open", "demand", &p->mount->fill_on_open);
}

/* A key under the mount's prefix that an import can skip: one an import would accept. */
static int
set_snapshot(struct parse *p, const char *v)
{
	size_t len = strlen(v);
	enum ms_key_verdict kv = ms_key_check(v, len);

	if (kv != MS_KEY_OK || len >= sizeof p->mount->snapshot)
		return bad(p, "'%.64s' is not an object key under the mount's prefix (%s)", v,
		    kv != MS_KEY_OK ? ms_key_verdict_str(kv) : "too long");
	memcpy(p->mount->snapshot, v, len + 1);
	return 0;
}

static int
set_gc_lock(struct parse *p, const char *v)
{
	return one_of_two(p, v, "etcd", "none", &p->cfg->gc_lock_etcd);
}

/* Up to 8 etcd client URLs, http[s]://HOST:PORT, separated by blanks; kept joined with ','. */
static int
set_etcd_endpoints(struct parse *p, const char *v)
{
	char *out = p->cfg->gc_etcd_endpoints;
	size_t len = 0, n, cap = sizeof p->cfg->gc_etcd_endpoints;
	unsigned count = 0;

	for (v += strspn(v, " \t"); *v != '\0'; v += strspn(v, " \t")) {
		n = strcspn(v, " \t");
		if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:/[]-_") < n)
			return bad(p, "'%.*s' is not an etcd URL (http[s]://HOST:PORT)", (int)(n > 64 ? 64 : n), v);
		if (++count > 8 || len + n + 2 > cap)
			return bad(p, "too many endpoints (at most 8, %zu characters)", cap - 1);
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, v, n);
		len += n;
		out[len] = '\0';
		v += n;
	}
	return count > 0 ? 0 : bad(p, "no endpoint given");
}

static int
set_lookup(struct parse *p, const char *v)
{
	return one_of_two(p, v, "on", "off", &p->cfg->lookup);
}

static int
set_io_uring(struct parse *p, const char *v)
{
	return one_of_two(p, v, "allow", "refuse", &p->cfg->io_uring_allowed);
}

/*
 * HOST:PORT of the daemon's metrics endpoint: HOST a numeric IPv4 address or a bracketed IPv6
 * one (no names: the config is also read inside host programs, where NSS lookups are not safe),
 * PORT 1 to 65535.
 */
static int
set_metrics(struct parse *p, const char *v)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon = strrchr(v, ':'), *end;
	char host[sizeof p->cfg->metrics_host];
	size_t hlen;
	uint64_t port;
	bool v6 = v[0] == '[';

	if (colon == NULL || (v6 && colon[-1] != ']'))
		return bad(p, "'%.64s' is not HOST:PORT (like 127.0.0.1:9464 or [::1]:9464)", v);
	hlen = (size_t)(colon - v) - (v6 ? 2 : 0);
	if (hlen == 0)
		return bad(p, "'%.64s': no address before the port", v);
	if (hlen >= sizeof host)
		return bad(p, "'%.64s': the address is too long", v);
	memcpy(host, v + (v6 ? 1 : 0), hlen);
	host[hlen] = '\0';
	if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 : inet_pton(AF_INET, host, &a4) != 1)
		return bad(p, "'%.64s': '%s' is not a numeric IPv4 address or a bracketed IPv6 one "
		    "(names are not looked up; 0.0.0.0 or [::] for every interface)", v, host);
	if (ms_parse_u64(colon + 1, &port, &end) || *end || port < 1 || port > 65535)
		return bad(p, "'%.64s': port must be 1 to 65535", v);
	strlcpy(p->cfg->metrics_host, host, sizeof p->cfg->metrics_host);
	p->cfg->metrics_port = (uint16_t)port;
	return 0;
}

/* nodes = HOST:PORT ...: at most MS_MAX_TIER_NODES, HOST a name, an IPv4 or a [IPv6] address. */
static int
set_nodes(struct parse *p, const char *v)
{
	char node[MS_NAME_MAX + 1];
	const char *s = v, *colon, *end;
	struct in6_addr a6;
	uint64_t port;
	size_t n;

	while (*(s += strspn(s, " \t"))) {
		n = strcspn(s, " \t");
		if (n >= sizeof node - 1)
			return bad(p, "'%.*s' is too long for a HOST:PORT", (int)(n > 64 ? 64 : n), s);
		memcpy(node, s, n);
		node[n] = '\0';
		s += n;
		colon = strrchr(node, ':');
		if (colon == NULL || colon == node || ms_parse_u64(colon + 1, &port, &end) || *end ||
		    port == 0 || port > 65535)
			return bad(p, "'%s' is not HOST:PORT (a port from 1 to 65535)", node);
		if (node[0] == '[') {
			char host[MS_NAME_MAX];

			snprintf(host, sizeof host, "%.*s", (int)(colon - node - 2), node + 1);
			if (colon[-1] != ']' || inet_pton(AF_INET6, host, &a6) != 1)
				return bad(p, "'%s': an IPv6 address goes in brackets, [ADDR]:PORT", node);
		} else if (strspn(node, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-") != (size_t)(colon - node)) {
			return bad(p, "'%s': the host is not a name or an address", node);
		}
		if (p->tier->nnodes == MS_MAX_TIER_NODES)
			return bad(p, "more than %d nodes", MS_MAX_TIER_NODES);
		strlcpy(p->tier->nodes[p->tier->nnodes++], node, MS_NAME_MAX);
	}
	return p->tier->nnodes > 0 ? 0 : bad(p, "no HOST:PORT given");
}

/* allow = CIDR ...: at most MS_MAX_TIER_ALLOW IPv4 or IPv6 networks. */
static int
set_allow(struct parse *p, const char *v)
{
	char cidr[48], addr[48];
	const char *s = v, *slash, *end;
	unsigned char buf[16];
	uint64_t bits;
	size_t n;
	int v6;

	while (*(s += strspn(s, " \t"))) {
		n = strcspn(s, " \t");
		if (n >= sizeof cidr)
			return bad(p, "'%.*s' is not a network like 10.0.0.0/16", (int)(n > 64 ? 64 : n), s);
		memcpy(cidr, s, n);
		cidr[n] = '\0';
		s += n;
		slash = strchr(cidr, '/');
		snprintf(addr, sizeof addr, "%.*s", slash ? (int)(slash - cidr) : (int)n, cidr);
		v6 = strchr(addr, ':') != NULL;
		if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1 || slash == NULL ||
		    ms_parse_u64(slash + 1, &bits, &end) || *end || bits > (v6 ? 128u : 32u))
			return bad(p, "'%s' is not a network like 10.0.0.0/16 or fd00::/8", cidr);
		if (p->tier->nallow == MS_MAX_TIER_ALLOW)
			return bad(p, "more than %d networks", MS_MAX_TIER_ALLOW);
		strlcpy(p->tier->allow[p->tier->nallow++], cidr, sizeof p->tier->allow[0]);
	}
	return p->tier->nallow > 0 ? 0 : bad(p, "no network given");
}

const char *const ms_cred_source_names[MS_CRED_COUNT] = {
	[MS_CRED_CHAIN] = "chain", [MS_CRED_ENV] = "env", [MS_CRED_WEB_IDENTITY] = "web-identity",
	[MS_CRED_PROFILE] = "profile", [MS_CRED_PROCESS] = "process",
	[MS_CRED_CONTAINER] = "container", [MS_CRED_IMDS] = "imds", [MS_CRED_ANONYMOUS] = "anonymous",
};

static int
set_credential_source(struct parse *p, const char *v)
{
	for (int i = 0; i < MS_CRED_COUNT; i++) {
		if (strcmp(v, ms_cred_source_names[i]) == 0) {
			p->mount->credential_source = i;
			return 0;
		}
	}
	return bad(p, "'%.64s' is not one of chain, env, web-identity, profile, process, "
	    "container, imds, anonymous", v);
}

/* A numeric group id; 0 (root's group) and the all-ones "no id" are refused. */
static int
set_gid(struct parse *p, const char *v)
{
	const char *end;
	uint64_t n;

	if (ms_parse_u64(v, &n, &end) || *end || n == 0 || n >= UINT32_MAX)
		return bad(p, "'%.64s' is not a numeric group id from 1 to %u", v, UINT32_MAX - 1);
	p->tenant->gid = (uint32_t)n;
	return 0;
}

/*
 * How a key's value is stored in its field (at OFF in struct ms_config for [cache], in struct
 * ms_mount for [mount]): by type, then FN if any; V_FN leaves it all to FN. V_PCT is a whole
 * percentage from MIN to MAX, with or without a '%'.
 */
enum vtype { V_FN, V_SIZE, V_UINT, V_MS, V_NAME, V_PATH, V_PCT };

struct key {
	enum sect sect;
	const char *name;
	enum vtype type;
	size_t off;
	unsigned min, max; /* V_UINT */
	int (*fn)(struct parse *p, const char *v);
};

#define C(f) offsetof(struct ms_config, f)
#define M(f) offsetof(struct ms_mount, f)
#define T(f) offsetof(struct ms_tenant, f)
#define TI(f) offsetof(struct ms_tier, f)

/* At most 64 entries: p->seen has one bit per entry. */
static const struct key keys[] = {
	{ SECT_CACHE, "dir", V_PATH, C(cache_dir), 0, 0, check_dir },
	{ SECT_CACHE, "size", V_SIZE, C(cache_size), 0, 0, NULL },
	{ SECT_CACHE, "chunk_size", V_FN, 0, 0, 0, set_chunk_size },
	{ SECT_CACHE, "connections", V_UINT, C(connections), 1, 256, NULL },
	{ SECT_CACHE, "readahead", V_SIZE, C(readahead), 0, 0, NULL },
	{ SECT_CACHE, "timeout", V_MS, C(timeout_ms), 0, 0, NULL },
	{ SECT_CACHE, "retries", V_UINT, C(retries), 1, 100, NULL },
	{ SECT_CACHE, "eviction", V_FN, 0, 0, 0, set_eviction },
	{ SECT_CACHE, "high_watermark", V_PCT, C(high_pct), 1, 100, NULL },
	{ SECT_CACHE, "low_watermark", V_PCT, C(low_pct), 0, 99, NULL },
	{ SECT_CACHE, "min_free", V_PCT, C(min_free_pct), 0, 90, NULL },
	{ SECT_CACHE, "max_bandwidth", V_SIZE, C(max_bandwidth), 0, 0, NULL },
	{ SECT_CACHE, "verify", V_FN, 0, 0, 0, set_verify },
	{ SECT_CACHE, "io_uring", V_FN, 0, 0, 0, set_io_uring },
	{ SECT_CACHE, "metrics", V_FN, 0, 0, 0, set_metrics },
	{ SECT_CACHE, "lookup", V_FN, 0, 0, 0, set_lookup },
	{ SECT_CACHE, "lookup_ttl", V_MS, C(lookup_ttl_ms), 0, 0, NULL },
	{ SECT_MOUNT, "path", V_PATH, M(path), 0, 0, check_path },
	{ SECT_MOUNT, "source", V_FN, 0, 0, 0, set_source },
	{ SECT_MOUNT, "endpoint", V_FN, 0, 0, 0, set_endpoint },
	{ SECT_MOUNT, "region", V_NAME, M(region), 0, 0, NULL },
	{ SECT_MOUNT, "tenant", V_NAME, M(tenant), 0, 0, NULL },
	{ SECT_MOUNT, "credentials", V_PATH, M(credentials), 0, 0, NULL },
	{ SECT_MOUNT, "profile", V_NAME, M(profile), 0, 0, NULL },
	{ SECT_MOUNT, "addressing", V_FN, 0, 0, 0, set_addressing },
	{ SECT_MOUNT, "credential_source", V_FN, 0, 0, 0, set_credential_source },
	{ SECT_MOUNT, "tier", V_NAME, M(tier_name), 0, 0, NULL },
	{ SECT_MOUNT, "ca_bundle", V_PATH, M(ca_bundle), 0, 0, NULL },
	{ SECT_MOUNT, "fill", V_FN, 0, 0, 0, set_fill },
	{ SECT_MOUNT, "namespace_snapshot", V_FN, 0, 0, 0, set_snapshot },
	{ SECT_MOUNT, "namespace_snapshot_max_age", V_MS, M(snapshot_max_age_ms), 0, 0, NULL },
	{ SECT_TIER, "nodes", V_FN, 0, 0, 0, set_nodes },
	{ SECT_TIER, "block", V_SIZE, TI(block), 0, 0, NULL },
	{ SECT_TIER, "allow", V_FN, 0, 0, 0, set_allow },
	{ SECT_TIER, "timeout", V_MS, TI(timeout_ms), 0, 0, NULL },
	{ SECT_GC, "lock", V_FN, 0, 0, 0, set_gc_lock },
	{ SECT_GC, "etcd_endpoints", V_FN, 0, 0, 0, set_etcd_endpoints },
	{ SECT_GC, "lock_ttl", V_MS, C(gc_lock_ttl_ms), 0, 0, NULL },
	{ SECT_GC, "lock_name", V_NAME, C(gc_lock_name), 0, 0, NULL },
	{ SECT_TENANT, "size", V_SIZE, T(size), 0, 0, NULL },
	{ SECT_TENANT, "gid", V_FN, 0, 0, 0, set_gid },
};

#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= 64, "struct parse's seen has 64 bits, one per key");

static int
set_value(struct parse *p, const struct key *k, const char *v)
{
	char *f = (k->sect == SECT_CACHE || k->sect == SECT_GC ? (char *)p->cfg : k->sect == SECT_MOUNT ?
	    (char *)p->mount : k->sect == SECT_TIER ? (char *)p->tier : (char *)p->tenant) + k->off;
	const char *end;
	uint64_t n;

	switch (k->type) {
	case V_FN:
		break;
	case V_SIZE:
		if (ms_parse_size(v, (uint64_t *)(void *)f))
			return bad(p, "'%.64s' is not a size (like 200G or 64M; 0 for none)", v);
		break;
	case V_UINT:
		if (ms_parse_u64(v, &n, &end) || *end || n < k->min || n > k->max)
			return bad(p, "'%.64s' is not a whole number from %u to %u", v, k->min,
			    k->max);
		*(unsigned *)(void *)f = (unsigned)n;
		break;
	case V_PCT:
		if (ms_parse_u64(v, &n, &end) || (*end && strcmp(end, "%")) || n < k->min || n > k->max)
			return bad(p, "'%.64s' is not a percentage from %u%% to %u%%", v, k->min, k->max);
		*(unsigned *)(void *)f = (unsigned)n;
		break;
	case V_MS:
		if (ms_parse_duration_ms(v, (unsigned *)(void *)f) || !*(unsigned *)(void *)f)
			return bad(p, "'%.64s' is not a duration above zero (like 30s, 500ms, 2m)",
			    v);
		break;
	case V_NAME:
		if (!valid_name(v, strlen(v)))
			return bad(p, "'%.64s' is not 1-63 of A-Z a-z 0-9 . _ -, starting with a "
			    "letter or digit", v);
		strlcpy(f, v, MS_NAME_MAX);
		break;
	case V_PATH:
		if (norm_path(p, v, f))
			return -EINVAL;
		break;
	}
	return k->fn ? k->fn(p, v) : 0;
}

/* inih handler: one "name = value" line of the current section. Returns 1 to go on. */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const char *label = p->label;
	unsigned i;

	(void)section; /* truncated by inih at 49 characters: read_line() tracks sections */
	if (p->rc)
		return 0;
	if (p->sect == SECT_NONE)
		return !fail(p, p->lineno, "%.64s: key outside any section", name);
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == p->sect && !strcmp(keys[i].name, name))
			break;
	if (i == NKEYS)
		fail(p, p->lineno, "%s %.64s: unknown key", label, name);
	else if (p->seen & ((uint64_t)1 << i))
		fail(p, p->lineno, "%s %s: duplicate key", label, name);
	else if (!*value)
		fail(p, p->lineno, "%s %s: empty value", label, name);
	else if (set_value(p, &keys[i], value))
		fail(p, p->lineno, "%s %s: %s", label, name, p->why);
	p->seen |= (uint64_t)1 << i;
	return p->rc == 0;
}

/* The NAME of a [KIND "NAME"] header IN (LEN bytes, KIND taking KLEN): NULL after failing. */
static const char *
quoted_name(struct parse *p, const char *in, size_t len, size_t klen, const char *kind,
    size_t *nlen)
{
	const char *name = in + klen + strspn(in + klen, " \t");

	if (name >= in + len || *name != '"' || in[len - 1] != '"' || name == in + len - 1) {
		fail(p, p->lineno, "[%.*s]: expected [%s \"NAME\"]", (int)(len > 64 ? 64 : len), in,
		    kind);
		return NULL;
	}
	name++;
	*nlen = (size_t)(in + len - 1 - name);
	if (!valid_name(name, *nlen)) {
		fail(p, p->lineno, "[%s \"%.*s\"]: %s name must be 1-63 of A-Z a-z 0-9 . _ -", kind,
		    (int)(*nlen > 64 ? 64 : *nlen), name, kind);
		return NULL;
	}
	return name;
}

static int
begin_tenant(struct parse *p, const char *in, size_t len)
{
	struct ms_config *cfg = p->cfg;
	const char *name;
	size_t nlen;

	name = quoted_name(p, in, len, 6, "tenant", &nlen);
	if (name == NULL)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->ntenants; i++)
		if (!strncmp(cfg->tenants[i].name, name, nlen) && !cfg->tenants[i].name[nlen])
			return fail(p, p->lineno, "[tenant \"%s\"]: duplicate tenant (first at line %d)",
			    cfg->tenants[i].name, cfg->tenants[i].line);
	if (cfg->ntenants == MS_MAX_MOUNTS)
		return fail(p, p->lineno, "[tenant \"%.*s\"]: too many tenants (max %d)", (int)nlen,
		    name, MS_MAX_MOUNTS);
	p->tenant = &cfg->tenants[cfg->ntenants++];
	memcpy(p->tenant->name, name, nlen);
	p->tenant->name[nlen] = '\0';
	p->tenant->line = p->lineno;
	p->sect = SECT_TENANT;
	snprintf(p->label, sizeof p->label, "[tenant \"%s\"]", p->tenant->name);
	return 0;
}

static int
begin_tier(struct parse *p, const char *in, size_t len)
{
	struct ms_config *cfg = p->cfg;
	const char *name;
	size_t nlen;

	name = quoted_name(p, in, len, 4, "tier", &nlen);
	if (name == NULL)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->ntiers; i++)
		if (!strncmp(cfg->tiers[i].name, name, nlen) && !cfg->tiers[i].name[nlen])
			return fail(p, p->lineno, "[tier \"%s\"]: duplicate tier (first at line %d)",
			    cfg->tiers[i].name, cfg->tiers[i].line);
	if (cfg->ntiers == MS_MAX_TIERS)
		return fail(p, p->lineno, "[tier \"%.*s\"]: too many tiers (max %d)", (int)nlen, name,
		    MS_MAX_TIERS);
	p->tier = &cfg->tiers[cfg->ntiers++];
	memcpy(p->tier->name, name, nlen);
	p->tier->name[nlen] = '\0';
	p->tier->block = MS_DEFAULT_TIER_BLOCK;
	p->tier->timeout_ms = 2 * 60 * 1000;
	p->tier->line = p->lineno;
	p->sect = SECT_TIER;
	snprintf(p->label, sizeof p->label, "[tier \"%s\"]", p->tier->name);
	return 0;
}

/*
 * A "[...]" line (leading blanks already gone): [cache], [mount "NAME"], [tenant "NAME"] or
 * [tier "NAME"].
 */
static int
begin_section(struct parse *p, const char *line)
{
	struct ms_config *cfg = p->cfg;
	const char *in = line + 1, *close = strchr(line, ']'), *rest, *name;
	size_t len, nlen;

	if (!close)
		return fail(p, p->lineno, "section header without ']'");
	rest = close + 1 + strspn(close + 1, " \t\r\n");
	if (*rest && *rest != ';' && *rest != '#')
		return fail(p, p->lineno, "unexpected text after the section header");
	in += strspn(in, " \t");
	len = (size_t)(close - in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	p->seen = 0;
	if (len == 5 && !strncmp(in, "cache", 5)) {
		if (p->cache_line)
			return fail(p, p->lineno, "[cache]: duplicate section (first at line %d)",
			    p->cache_line);
		p->sect = SECT_CACHE;
		p->cache_line = p->lineno;
		strlcpy(p->label, "[cache]", sizeof p->label);
		return 0;
	}
	if (len == 2 && !strncmp(in, "gc", 2)) {
		if (p->gc_line)
			return fail(p, p->lineno, "[gc]: duplicate section (first at line %d)", p->gc_line);
		p->sect = SECT_GC;
		p->gc_line = p->lineno;
		strlcpy(p->label, "[gc]", sizeof p->label);
		return 0;
	}
	if (len > 6 && !strncmp(in, "tenant", 6) && strchr(" \t\"", in[6]))
		return begin_tenant(p, in, len);
	if (len > 4 && !strncmp(in, "tier", 4) && strchr(" \t\"", in[4]))
		return begin_tier(p, in, len);
	if (len < 5 || strncmp(in, "mount", 5) || !strchr(" \t\"", in[5]))
		return fail(p, p->lineno, "[%.*s]: unknown section (expected [cache], [mount \"NAME\"], "
		    "[tenant \"NAME\"], [tier \"NAME\"] or [gc])", (int)(len > 64 ? 64 : len), in);
	name = quoted_name(p, in, len, 5, "mount", &nlen);
	if (name == NULL)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nmounts; i++)
		if (!strncmp(cfg->mounts[i].name, name, nlen) && !cfg->mounts[i].name[nlen])
			return fail(p, p->lineno, "[mount \"%s\"]: duplicate mount name (first at "
			    "line %d)", cfg->mounts[i].name, cfg->mounts[i].line);
	if (cfg->nmounts == MS_MAX_MOUNTS)
		return fail(p, p->lineno, "[mount \"%.*s\"]: too many mounts (max %d)", (int)nlen,
		    name, MS_MAX_MOUNTS);
	p->mount = &cfg->mounts[cfg->nmounts++];
	memcpy(p->mount->name, name, nlen);
	p->mount->name[nlen] = '\0';
	strlcpy(p->mount->tenant, "default", sizeof p->mount->tenant);
	strlcpy(p->mount->profile, "default", sizeof p->mount->profile);
	p->mount->tier = -1;
	p->mount->snapshot_max_age_ms = 15 * 60 * 1000;
	p->mount->line = p->lineno;
	p->sect = SECT_MOUNT;
	snprintf(p->label, sizeof p->label, "[mount \"%s\"]", p->mount->name);
	return 0;
}

/*
 * inih reader: one whole line into BUF (ms_ini_read_line), then what inih would mishandle:
 * section names over 49 characters (begin_section) and lines that are no 'key = value'. NULL
 * stops the parse.
 */
static char *
read_line(char *buf, int num, void *stream)
{
	struct parse *p = stream;
	char why[64];
	int rc;

	if (p->rc)
		return NULL;
	rc = ms_ini_read_line(p->f, &p->lineno, buf, num, why, sizeof why);
	if (rc < 0) {
		fail(p, rc == -EIO ? 0 : p->lineno + 1, "%s", why);
		p->rc = rc;
		return NULL;
	}
	if (rc == 0)
		return NULL;
	if (buf[0] == '[') {
		if (begin_section(p, buf))
			return NULL;
	} else if (buf[0] && !strchr(";#", buf[0]) && !buf[strcspn(buf, "=:")]) {
		fail(p, p->lineno, "%s%sexpected 'key = value'", p->label, *p->label ? ": " : "");
		return NULL;
	}
	return buf;
}

/* Who may use a tier without an allow key: loopback and the private ranges. */
static const char *const default_allow[] = {
	"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
};

/* Tiers: nodes given, blocks a multiple of the chunk size; each mount's tier = NAME exists. */
static int
finish_tiers(struct parse *p)
{
	struct ms_config *cfg = p->cfg;

	for (unsigned i = 0; i < cfg->ntiers; i++) {
		struct ms_tier *t = &cfg->tiers[i];

		if (t->nnodes == 0)
			return fail(p, t->line, "[tier \"%s\"] nodes: required key missing", t->name);
		if (t->block < cfg->chunk_size || t->block % cfg->chunk_size || t->block > (1u << 30))
			return fail(p, t->line, "[tier \"%s\"] block: %llu is not a multiple of the "
			    "chunk size (%u) up to 1G", t->name, (unsigned long long)t->block,
			    cfg->chunk_size);
		if (t->nallow == 0)
			for (size_t j = 0; j < sizeof default_allow / sizeof default_allow[0]; j++)
				strlcpy(t->allow[t->nallow++], default_allow[j], sizeof t->allow[0]);
	}
	for (unsigned i = 0; i < cfg->nmounts; i++) {
		struct ms_mount *m = &cfg->mounts[i];

		if (!m->tier_name[0])
			continue;
		for (unsigned j = 0; j < cfg->ntiers && m->tier < 0; j++)
			if (!strcmp(cfg->tiers[j].name, m->tier_name))
				m->tier = (int)j;
		if (m->tier < 0)
			return fail(p, m->line, "[mount \"%s\"] tier: no [tier \"%s\"] section", m->name,
			    m->tier_name);
	}
	return 0;
}

/* Checks made once the whole file is read: required keys, cache dir and mount overlaps. */
static int
finish(struct parse *p)
{
	struct ms_config *cfg = p->cfg;

	if (!p->cache_line)
		return fail(p, 0, "[cache] dir: required key missing (no [cache] section)");
	if (!cfg->cache_dir[0])
		return fail(p, p->cache_line, "[cache] dir: required key missing");
	if (cfg->nmounts == 0)
		return fail(p, 0, "no [mount \"NAME\"] section: at least one mount is required");
	if (cfg->gc_lock_etcd && !cfg->gc_etcd_endpoints[0])
		return fail(p, p->gc_line, "[gc] etcd_endpoints: required with lock = etcd");
	for (unsigned i = 0; i < cfg->ntenants; i++) {
		unsigned j;

		for (j = 0; j < cfg->nmounts; j++)
			if (!strcmp(cfg->mounts[j].tenant, cfg->tenants[i].name))
				break;
		if (j == cfg->nmounts)
			return fail(p, cfg->tenants[i].line, "[tenant \"%s\"]: no mount has this tenant",
			    cfg->tenants[i].name);
	}
	if (cfg->low_pct >= cfg->high_pct)
		return fail(p, p->cache_line, "[cache] low_watermark: %u%% is not below high_watermark "
		    "%u%%", cfg->low_pct, cfg->high_pct);
	for (unsigned i = 0; i < cfg->nmounts; i++) {
		const struct ms_mount *m = &cfg->mounts[i];
		const char *missing = !m->path[0] ? "path" : !m->bucket[0] ? "source" : NULL;
		int line = p->path_line[i];

		if (missing)
			return fail(p, m->line, "[mount \"%s\"] %s: required key missing", m->name,
			    missing);
		if (ms_path_within(m->path, cfg->cache_dir))
			return fail(p, line, "[mount \"%s\"] path: %s is inside the cache dir %s",
			    m->name, m->path, cfg->cache_dir);
		if (ms_path_within(cfg->cache_dir, m->path))
			return fail(p, line, "[mount \"%s\"] path: %s contains the cache dir %s",
			    m->name, m->path, cfg->cache_dir);
		for (unsigned j = 0; j < i; j++) {
			const struct ms_mount *o = &cfg->mounts[j];
			const char *how = !strcmp(m->path, o->path) ? "is the same as" :
			    ms_path_within(m->path, o->path) ? "is inside" :
			    ms_path_within(o->path, m->path) ? "contains" : NULL;

			if (how)
				return fail(p, line, "[mount \"%s\"] path: %s %s %s of "
				    "[mount \"%s\"] (line %d)", m->name, m->path, how, o->path,
				    o->name, p->path_line[j]);
		}
	}
	return finish_tiers(p);
}

int
ms_config_load(struct ms_config *cfg, const char *file, char *err, size_t errlen)
{
	struct parse p = { .cfg = cfg, .err = err, .errlen = errlen };
	struct stat st;
	int r;

	memset(cfg, 0, sizeof *cfg);
	if (err && errlen)
		err[0] = '\0';
	if (!file || !*file)
		return fail(&p, 0, "no config file name given");
	if (strlcpy(cfg->file, file, sizeof cfg->file) >= sizeof cfg->file) {
		fail(&p, 0, "file name too long");
		p.rc = -ENAMETOOLONG;
		goto out;
	}
	cfg->chunk_size = MS_DEFAULT_CHUNK_SIZE;
	cfg->connections = MS_DEFAULT_CONNECTIONS;
	cfg->readahead = MS_DEFAULT_READAHEAD;
	strlcpy(cfg->eviction, "lru", sizeof cfg->eviction);
	cfg->high_pct = 95;
	cfg->low_pct = 85;
	cfg->min_free_pct = 5;
	cfg->timeout_ms = 30 * 1000;
	cfg->retries = 5;
	cfg->lookup = true;
	cfg->gc_lock_ttl_ms = 30 * 1000;
	strlcpy(cfg->gc_lock_name, "modelshim-gc", sizeof cfg->gc_lock_name);
	cfg->lookup_ttl_ms = 15 * 1000;
	p.f = fopen(file, "re");
	if (!p.f) {
		r = -errno;
		fail(&p, 0, "%s", strerror(-r));
		p.rc = r;
		goto out;
	}
	if (fstat(fileno(p.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fail(&p, 0, "is a directory");
		p.rc = -EISDIR;
		goto out;
	}
	r = ini_parse_stream(read_line, &p, on_key, &p);
	if (r > 0)
		fail(&p, r, "syntax error");
	else if (r < 0 && !p.rc) {
		fail(&p, 0, "out of memory");
		p.rc = -ENOMEM;
	}
	if (!p.rc)
		finish(&p);
out:
	if (p.f)
		fclose(p.f);
	if (p.rc) {
		memset(cfg, 0, sizeof *cfg);
		return p.rc;
	}
	ms_debug("config %s: %u mount(s), cache %s", cfg->file, cfg->nmounts, cfg->cache_dir);
	return 0;
}
