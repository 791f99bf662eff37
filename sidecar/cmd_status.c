/*
 * cmd_status.c: `modelshim status`: what the cache holds per mount (objects complete and
 * partial, bytes cached of bytes imported), read from the maps on disk, and the daemon's
 * counters when one is running. Read-only: never starts the daemon, never changes the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "client.h"
#include "cmd.h"
#include "creds_chain.h"
#include "map.h"
#include "walk.h"

struct usage {
	uint64_t objects, complete, partial, bytes, cached;
};

static int
count_map(void *arg, const char *path, const char *key)
{
	struct usage *u = arg;
	struct ms_map map;
	uint32_t i;

	(void)key;
	if (ms_map_open(&map, path, false) < 0)
		return 0;
	u->objects++;
	u->bytes += map.hdr.size;
	if (ms_map_complete(&map))
		u->complete++;
	else if (map.present > 0)
		u->partial++;
	for (i = 0; i < map.hdr.nchunks; i++)
		if (ms_map_has(&map, i))
			u->cached += ms_map_chunk_len(&map.hdr, i);
	ms_map_close(&map);
	return 0;
}

static void
walk(const char *dir, struct usage *u)
{
	(void)ms_walk_maps(dir, count_map, u);
}

/* Prints S as a JSON string (mount paths and names come from the config: no escapes needed
 * beyond quotes and backslashes, which names cannot hold; paths may). */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* Chunks asked of the daemon that were already present: hits of files not complete yet (hits
 * on complete files never reach the daemon and are not counted). 1 when nothing was asked. */
static double
hit_ratio(const struct ms_msg_status_mount *ms)
{
	return ms->chunks_requested == 0 ? 1.0 : (double)ms->chunks_present /
	    (double)ms->chunks_requested;
}

/* The config word of a credential source in status ("web-identity"; "file": credentials =). */
static const char *
source_word(unsigned source)
{
	return source == CREDS_FILE ? "file" : source < MS_CRED_COUNT ?
	    ms_cred_source_names[source] : "unknown";
}

/*
 * ,"credentials":{...} of mount I: its source, when its keys expire (null: never), renewals
 * and whether the last one failed. Nothing for a mount the daemon did not say (another tenant's).
 */
static void
status_json_creds(const struct ms_msg_creds_reply *cr, unsigned i)
{
	const struct ms_msg_creds_mount *c = &cr->mounts[i];
	char when[32];
	time_t t = (time_t)c->expiration;
	struct tm tm;

	if (i >= cr->nmounts || c->source == MS_CRED_CHAIN)
		return;
	printf(",\"credentials\":{\"source\":\"%s\",\"expiration\":", source_word(c->source));
	if (c->expiration > 0 && gmtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		printf("\"%s\",\"expires_in_s\":%lld", when,
		    (long long)(c->expiration - (int64_t)time(NULL)));
	else
		printf("null");
	printf(",\"renewals\":%u,\"failing\":%s}", c->renewals, c->failing ? "true" : "false");
}

/* Per tenant: its quota and what its mounts hold and fetched. */
static void
status_json_tenants(const struct ms_config *cfg, const struct ms_msg_status_reply *r)
{
	char area[MS_AREA_PATH_MAX];
	unsigned i, j, n = 0;

	for (i = 0; i < cfg->nmounts; i++) {
		const char *name = cfg->mounts[i].tenant;
		const struct ms_tenant *t = ms_config_tenant(cfg, name);
		struct usage u = { 0 };
		uint64_t fetched = 0, errors = 0;

		for (j = 0; j < i; j++)
			if (strcmp(cfg->mounts[j].tenant, name) == 0)
				break;
		if (j < i)
			continue; /* listed with its first mount */
		for (j = i; j < cfg->nmounts; j++) {
			if (strcmp(cfg->mounts[j].tenant, name) != 0)
				continue;
			if (ms_cache_area(cfg, &cfg->mounts[j], MS_AREA_STATE, area, sizeof area) == 0)
				walk(area, &u);
			if (r != NULL && j < r->nmounts && j < MS_STATUS_MOUNTS) {
				fetched += r->mounts[j].bytes_fetched;
				errors += r->mounts[j].errors;
			}
		}
		printf("%s{\"name\":\"%s\",\"quota\":%llu,\"cached_bytes\":%llu,\"objects\":%llu,"
		    "\"bytes_fetched\":%llu,\"errors\":%llu}", n++ ? "," : "", name,
		    (unsigned long long)(t != NULL ? t->size : 0), (unsigned long long)u.cached,
		    (unsigned long long)u.objects, (unsigned long long)fetched,
		    (unsigned long long)errors);
	}
}

/* The daemon's view of each tier node: {"tier","node","requests","hits",...,"down"}. */
static void
status_json_tier_nodes(const struct ms_config *cfg, const struct ms_msg_status_reply *r)
{
	unsigned shown = 0;

	for (unsigned i = 0; i < r->ntier_nodes && i < MS_STATUS_TIER_NODES; i++) {
		const struct ms_msg_status_tier_node *n = &r->tier_nodes[i];

		if (n->tier >= cfg->ntiers || n->node >= cfg->tiers[n->tier].nnodes)
			continue; /* a daemon started with another config */
		printf("%s{\"tier\":\"%s\",\"node\":", shown++ ? "," : "", cfg->tiers[n->tier].name);
		json_str(cfg->tiers[n->tier].nodes[n->node]);
		printf(",\"requests\":%llu,\"hits\":%llu,\"misses\":%llu,\"bytes\":%llu,"
		    "\"failures\":%llu,\"down\":%s}", (unsigned long long)n->requests,
		    (unsigned long long)n->hits, (unsigned long long)n->misses,
		    (unsigned long long)n->bytes, (unsigned long long)n->failures,
		    n->down ? "true" : "false");
	}
}

static int
status_json(const struct ms_config *cfg)
{
	struct ms_msg_status_reply r;
	struct ms_msg_creds_reply cr = { 0 };
	char area[MS_AREA_PATH_MAX];
	struct ms_client cl;
	bool daemon = false;
	unsigned i;

	if (ms_client_connect(&cl, cfg) == 0) {
		daemon = ms_client_status(&cl, &r) == 0;
		if (daemon && ms_client_creds(&cl, &cr) < 0)
			memset(&cr, 0, sizeof cr);
		ms_client_close(&cl);
	}
	printf("{\"cache_dir\":");
	json_str(cfg->cache_dir);
	printf(",\"quota\":%llu,\"chunk_size\":%u,\"eviction\":\"%s\",\"mounts\":[",
	    (unsigned long long)cfg->cache_size, cfg->chunk_size, cfg->eviction);
	for (i = 0; i < cfg->nmounts; i++) {
		struct usage u = { 0 };

		if (ms_cache_area(cfg, &cfg->mounts[i], MS_AREA_STATE, area, sizeof area) == 0)
			walk(area, &u);
		printf("%s{\"name\":\"%s\",\"tenant\":\"%s\",\"path\":", i ? "," : "",
		    cfg->mounts[i].name, cfg->mounts[i].tenant);
		json_str(cfg->mounts[i].path);
		printf(",\"objects\":%llu,\"complete\":%llu,\"partial\":%llu,\"cached_bytes\":%llu,"
		    "\"imported_bytes\":%llu", (unsigned long long)u.objects,
		    (unsigned long long)u.complete, (unsigned long long)u.partial,
		    (unsigned long long)u.cached, (unsigned long long)u.bytes);
		if (daemon && i < r.nmounts && i < MS_STATUS_MOUNTS) {
			const struct ms_msg_status_mount *ms = &r.mounts[i];

			printf(",\"requests\":%llu,\"chunks_requested\":%llu,\"chunks_from_cache\":%llu,"
			    "\"hit_ratio\":%.4f,\"fills\":%llu,\"bytes_fetched\":%llu,\"errors\":%llu",
			    (unsigned long long)ms->requests, (unsigned long long)ms->chunks_requested,
			    (unsigned long long)ms->chunks_present, hit_ratio(ms),
			    (unsigned long long)ms->fills, (unsigned long long)ms->bytes_fetched,
			    (unsigned long long)ms->errors);
			status_json_creds(&cr, i);
		}
		putchar('}');
	}
	printf("],\"tenants\":[");
	status_json_tenants(cfg, daemon ? &r : NULL);
	printf("],\"daemon\":");
	if (!daemon) {
		printf("null}\n");
		return 0;
	}
	printf("{\"uptime_s\":%llu,\"clients\":%llu,\"requests\":%llu,\"fills\":%llu,"
	    "\"bytes_fetched\":%llu,\"gets\":%llu,\"retries\":%llu,\"errors\":%llu,"
	    "\"inflight\":%llu,\"cached_bytes\":%llu,\"evictions\":%llu,\"evicted_bytes\":%llu,"
	    "\"fill_p50_us\":%llu,\"fill_p99_us\":%llu,\"bytes_answers\":%llu,\"tier_nodes\":[",
	    (unsigned long long)r.uptime_s, (unsigned long long)r.clients,
	    (unsigned long long)r.requests, (unsigned long long)r.fills,
	    (unsigned long long)r.bytes_fetched, (unsigned long long)r.gets,
	    (unsigned long long)r.retries, (unsigned long long)r.errors,
	    (unsigned long long)r.inflight, (unsigned long long)r.cached_bytes,
	    (unsigned long long)r.evictions, (unsigned long long)r.evicted_bytes,
	    (unsigned long long)r.fill_p50_us, (unsigned long long)r.fill_p99_us,
	    (unsigned long long)r.bytes_answers);
	status_json_tier_nodes(cfg, &r);
	printf("]}}\n");
	return 0;
}

/* "daemon: mount M: credentials from SOURCE, expiring in N s (at T), R renewals". */
static void
print_creds(const struct ms_mount *m, const struct ms_msg_creds_reply *cr, unsigned i)
{
	const struct ms_msg_creds_mount *c = &cr->mounts[i];
	char when[32] = "";
	time_t t = (time_t)c->expiration;
	struct tm tm;

	if (i >= cr->nmounts || c->source == MS_CRED_CHAIN)
		return;
	printf("daemon: mount %s: credentials from %s", m->name, creds_kind_name(c->source));
	if (c->expiration > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (when[0] != '\0')
		printf(", expiring in %lld s (%s), %u renewals",
		    (long long)(c->expiration - (int64_t)time(NULL)), when, c->renewals);
	printf("%s\n", c->failing ? "; the last renewal FAILED (see the daemon's log)" : "");
}

static int
cmd_status_exec(int argc, char **argv)
{
	struct ms_msg_status_reply r;
	struct ms_msg_creds_reply cr;
	struct ms_config cfg;
	struct ms_client cl;
	char area[MS_AREA_PATH_MAX], a[16], b[16], c[16];
	unsigned i;

	if (cmd_load_config(&cmd_status_entry, &argc, argv, &cfg) < 0)
		return 1;
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return status_json(&cfg);
	if (argc != 1)
		return cmd_usage(&cmd_status_entry);
	printf("cache %s, chunk %u bytes\n", cfg.cache_dir, cfg.chunk_size);
	printf("%-16s %-10s %-24s %8s %8s %8s %10s %10s\n", "MOUNT", "TENANT", "PATH", "OBJECTS",
	    "COMPLETE", "PARTIAL", "CACHED", "IMPORTED");
	for (i = 0; i < cfg.nmounts; i++) {
		struct usage u = { 0 };

		if (ms_cache_area(&cfg, &cfg.mounts[i], MS_AREA_STATE, area, sizeof area) == 0)
			walk(area, &u);
		cmd_human(u.cached, a, sizeof a);
		cmd_human(u.bytes, b, sizeof b);
		printf("%-16s %-10s %-24s %8llu %8llu %8llu %10s %10s\n", cfg.mounts[i].name,
		    cfg.mounts[i].tenant, cfg.mounts[i].path, (unsigned long long)u.objects,
		    (unsigned long long)u.complete, (unsigned long long)u.partial, a, b);
	}
	if (ms_client_connect(&cl, &cfg) < 0) {
		printf("daemon: not running\n");
		return 0;
	}
	if (ms_client_status(&cl, &r) < 0) {
		ms_client_close(&cl);
		printf("daemon: not answering\n");
		return 1;
	}
	if (ms_client_creds(&cl, &cr) < 0)
		memset(&cr, 0, sizeof cr);
	ms_client_close(&cl);
	cmd_human(r.bytes_fetched, a, sizeof a);
	printf("daemon: up %llus, %llu clients, %llu requests, %llu chunks filled, %s fetched in "
	    "%llu GETs, %llu retries, %llu errors, %llu chunks in flight\n",
	    (unsigned long long)r.uptime_s, (unsigned long long)r.clients,
	    (unsigned long long)r.requests, (unsigned long long)r.fills, a,
	    (unsigned long long)r.gets, (unsigned long long)r.retries, (unsigned long long)r.errors,
	    (unsigned long long)r.inflight);
	cmd_human(r.cached_bytes, a, sizeof a);
	cmd_human(r.quota, b, sizeof b);
	cmd_human(r.evicted_bytes, c, sizeof c);
	printf("daemon: %s cached of a %s quota, %llu evictions (%s), fill latency p50 %.1f ms, "
	    "p99 %.1f ms, %llu reads answered with their bytes\n", a, r.quota ? b : "unlimited",
	    (unsigned long long)r.evictions, c, (double)r.fill_p50_us / 1000,
	    (double)r.fill_p99_us / 1000, (unsigned long long)r.bytes_answers);
	for (i = 0; i < cfg.nmounts && i < r.nmounts && i < MS_STATUS_MOUNTS; i++) {
		cmd_human(r.mounts[i].bytes_fetched, a, sizeof a);
		printf("daemon: mount %s (tenant %s): %llu requests, %.0f%% of their chunks from the "
		    "cache, %llu chunks filled, %s fetched, %llu errors\n", cfg.mounts[i].name,
		    cfg.mounts[i].tenant, (unsigned long long)r.mounts[i].requests,
		    100.0 * hit_ratio(&r.mounts[i]), (unsigned long long)r.mounts[i].fills, a,
		    (unsigned long long)r.mounts[i].errors);
		print_creds(&cfg.mounts[i], &cr, i);
	}
	printf("daemon-counters: requests=%llu fills=%llu bytes_fetched=%llu gets=%llu retries=%llu "
	    "errors=%llu cached_bytes=%llu evictions=%llu\n", (unsigned long long)r.requests,
	    (unsigned long long)r.fills, (unsigned long long)r.bytes_fetched,
	    (unsigned long long)r.gets, (unsigned long long)r.retries, (unsigned long long)r.errors,
	    (unsigned long long)r.cached_bytes, (unsigned long long)r.evictions);
	return 0;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--config FILE] [--json]",
	.summary = "cached objects and bytes per mount, and the daemon's counters",
	.exec = cmd_status_exec,
};
