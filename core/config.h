/*
 * config.h: the modelshim INI file ([cache] and [mount "NAME"] sections), parsed and validated.
 * Owns the in-memory config only; it never reads credentials (creds.h) and never touches the cache.
 */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_MAX_MOUNTS 64
#define MS_PATH_MAX 1024
#define MS_NAME_MAX 64
#define MS_ETAG_MAX 128 /* an object's ETag, quotes included */

#define MS_DEFAULT_CHUNK_SIZE (4u << 20)
#define MS_DEFAULT_CONNECTIONS 16
#define MS_DEFAULT_READAHEAD (256u << 20)
#define MS_MAX_TIERS 8
#define MS_MAX_TIER_NODES 16
#define MS_MAX_TIER_ALLOW 16
#define MS_DEFAULT_TIER_BLOCK (16u << 20)

/* Where a mount's credentials come from (credential_source =; creds_chain.c). Add only. */
enum ms_cred_source {
	MS_CRED_CHAIN,        /* the AWS SDKs' order, the first source whose variables are set */
	MS_CRED_ENV,          /* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
	MS_CRED_WEB_IDENTITY, /* AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE through STS */
	MS_CRED_PROFILE,      /* the shared files' profile: keys, or its credential_process */
	MS_CRED_PROCESS,      /* the profile's credential_process only */
	MS_CRED_CONTAINER,    /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI */
	MS_CRED_IMDS,         /* the EC2 instance metadata service, v2 */
	MS_CRED_ANONYMOUS,    /* unsigned requests: a public bucket */
	MS_CRED_COUNT
};
/* The config word of each source ("chain", "env", "web-identity", ...). */
extern const char *const ms_cred_source_names[MS_CRED_COUNT];

struct ms_mount {
	char name[MS_NAME_MAX];        /* NAME of [mount "NAME"]: [A-Za-z0-9._-]+ */
	char path[MS_PATH_MAX];        /* virtual path: absolute, normalised, no trailing '/' */
	char bucket[MS_NAME_MAX];      /* from source = s3://BUCKET/PREFIX */
	char prefix[MS_PATH_MAX];      /* key prefix: "" or ending in '/' */
	char endpoint[512];            /* scheme://host[:port], no trailing '/'; "" when the file
	                                * has none: ms_endpoint_resolve() fills it in */
	char region[MS_NAME_MAX];      /* "" when the file has none: ms_endpoint_resolve() */
	char tenant[MS_NAME_MAX];      /* default "default": [A-Za-z0-9._-]+ */
	char credentials[MS_PATH_MAX]; /* AWS shared-credentials file; "" = environment */
	char profile[MS_NAME_MAX];     /* section of the credentials file, default "default" */
	char ca_bundle[MS_PATH_MAX];   /* ca_bundle = PEM file of the CAs trusted for https; "":
	                                * AWS_CA_BUNDLE, else libcurl's own (ms_endpoint_resolve) */
	int credential_source;         /* enum ms_cred_source: credential_source = (default chain) */
	bool virtual_hosted;           /* addressing = virtual (default: path) */
	char tier_name[MS_NAME_MAX];   /* tier = NAME of a [tier "NAME"]; "" = the origin only */
	int tier;                      /* its index in ms_config.tiers, -1 without one */
	bool fill_on_open;             /* fill = open: the whole object is fetched when opened
	                                  (default demand: only what is read, and read ahead) */
	char snapshot[MS_PATH_MAX];    /* namespace_snapshot = KEY (under the prefix) of the listing
	                                * one node publishes (`import --publish`) and the others
	                                * import from instead of listing; "" = list every time */
	unsigned snapshot_max_age_ms;  /* namespace_snapshot_max_age: older snapshots are not
	                                * taken (default 15m) */
	int line;                      /* line of the section header, for messages */
};

/*
 * [tier "NAME"]: a cluster cache tier, nginx nodes in front of the origin that cache aligned
 * blocks of objects (`modelshim tier-config` writes their nginx.conf). Mounts name it with
 * tier = NAME; every daemon sends each block to the same node (rendezvous hashing).
 */
struct ms_tier {
	char name[MS_NAME_MAX];
	char nodes[MS_MAX_TIER_NODES][MS_NAME_MAX]; /* "HOST:PORT", HOST a name, IPv4 or [IPv6] */
	unsigned nnodes;
	uint64_t block;                 /* block = size of every tier request (16M), chunk multiple */
	unsigned timeout_ms;            /* timeout = how long a node may take to start (and go on)
	                                 * answering a block, its wait for the origin included (2m) */
	char allow[MS_MAX_TIER_ALLOW][48]; /* allow = CIDRs that may use the tier */
	unsigned nallow;
	int line;
};

/*
 * [tenant "NAME"]: limits of one tenant's share of the cache, and who may use it. With gid set
 * (a Kubernetes pod's fsGroup, say) the tenant's tree is the daemon user's, group GID, mode 0750,
 * the daemon's socket is open to other local users, and the daemon serves a client only the
 * mounts of tenants whose gid is among its kernel-checked groups (SO_PEERCRED, SO_PEERGROUPS).
 * Numeric only: the config is also parsed inside host programs, where NSS lookups are not safe.
 */
struct ms_tenant {
	char name[MS_NAME_MAX];
	uint64_t size; /* quota in bytes (0 = only the cache dir's) */
	uint32_t gid;  /* 0: the tenant is only the daemon user's */
	int line;
};

struct ms_config {
	char file[MS_PATH_MAX];      /* the file it was read from */
	char cache_dir[MS_PATH_MAX]; /* [cache] dir, absolute */
	uint64_t cache_size;         /* [cache] size: quota in bytes (0 = unlimited) */
	uint32_t chunk_size;         /* [cache] chunk_size, power of two, 64K..256M */
	unsigned connections;        /* [cache] connections: parallel GETs (1..256, default 16) */
	uint64_t readahead;          /* [cache] readahead: max sequential readahead bytes (default 256M) */
	unsigned timeout_ms;         /* [cache] timeout: per-request stall timeout (default 30s) */
	unsigned retries;            /* [cache] retries: attempts per request (default 5) */
	char eviction[16];           /* [cache] eviction: lru (default) or 2-random */
	unsigned high_pct, low_pct;  /* [cache] high_watermark / low_watermark, % of size (95, 85) */
	unsigned min_free_pct;       /* [cache] min_free: % of the file system kept free (5) */
	uint64_t max_bandwidth;      /* [cache] max_bandwidth: node-wide fill rate, bytes/s (0: none) */
	bool verify_on_open;         /* [cache] verify = open: checksums checked before a file is served */
	bool io_uring_allowed;       /* [cache] io_uring = allow: the shim lets io_uring_setup through */
	char metrics_host[48];       /* [cache] metrics = HOST:PORT: a numeric IPv4 or IPv6 address */
	uint16_t metrics_port;       /* ...and its port; 0: no metrics endpoint (the default) */
	bool lookup;                 /* [cache] lookup = on (default): a name missing from the
	                              * namespace is asked of the store (one HEAD) before ENOENT */
	bool gc_lock_etcd;           /* [gc] lock = etcd: `modelshim gc` runs under a cluster lock */
	char gc_etcd_endpoints[512]; /* [gc] etcd_endpoints, joined with ',' as etcdctl takes them */
	unsigned gc_lock_ttl_ms;     /* [gc] lock_ttl: a dead holder's lock lapses after this (30s) */
	char gc_lock_name[MS_NAME_MAX]; /* [gc] lock_name: the etcd lock's name (modelshim-gc) */
	unsigned lookup_ttl_ms;      /* [cache] lookup_ttl: how long a name the store does not have
	                              * is not asked again (default 15s) */
	unsigned nmounts;
	struct ms_mount mounts[MS_MAX_MOUNTS];
	unsigned ntenants;
	struct ms_tenant tenants[MS_MAX_MOUNTS];
	unsigned ntiers;
	struct ms_tier tiers[MS_MAX_TIERS];
};

/*
 * Loads and validates FILE. Returns 0, or -errno with a message "FILE:LINE: key: what is wrong"
 * (or "FILE: ..." for whole-file problems) in err. Sizes accept K, M, G, T suffixes (powers of 1024).
 */
int ms_config_load(struct ms_config *cfg, const char *file, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Resolves the config path: explicit (--config) first, then $MODELSHIM_CONFIG. -ENOENT if neither. */
int ms_config_path(const char *explicit_path, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * The endpoint key's grammar: http[s]://HOST[:PORT], HOST a name, an IPv4 address or [IPv6], any
 * trailing '/' dropped, into OUT. Returns 0, or -EINVAL with what is wrong in WHY (no key name).
 * Also for AWS_ENDPOINT_URL(_S3) (core/endpoint.c).
 */
int ms_config_endpoint(const char *v, char *out, size_t outlen, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* A name as keys such as region take it: 1-63 of A-Z a-z 0-9 . _ -, a letter or digit first. */
bool ms_config_valid_name(const char *s);

/*
 * Decimal digits at S (strtoull alone would accept "-1", " 1" and "+1"): the value in *OUT, where
 * they end in *END. -EINVAL if S does not start with a digit or the value overflows.
 */
int ms_parse_u64(const char *s, uint64_t *out, const char **end) __attribute__((warn_unused_result));

/* Parses "200G", "4M", "4096", "512K" into bytes. -EINVAL on anything else or overflow. */
int ms_parse_size(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* Parses a duration "30s", "500ms", "2m", or plain seconds. -EINVAL on anything else. */
int ms_parse_duration_ms(const char *s, unsigned *out) __attribute__((warn_unused_result));

/*
 * The mount whose virtual path is PATH or a parent of it; *rel points into PATH at the part after
 * the mount path ("" for the mount root, else without a leading '/'). NULL if none.
 */
const struct ms_mount *ms_config_mount_for_path(const struct ms_config *cfg, const char *path,
    const char **rel);
const struct ms_mount *ms_config_mount_by_name(const struct ms_config *cfg, const char *name);
/* The [tenant "NAME"] section of NAME, or NULL (no limits of its own). */
const struct ms_tenant *ms_config_tenant(const struct ms_config *cfg, const char *name);
/* Path A is path B or below it (whole components). */
bool ms_path_within(const char *a, const char *b);
/* True if some tenant names a gid: the cache is shared between local users. */
bool ms_config_shared(const struct ms_config *cfg);

#endif
