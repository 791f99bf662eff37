/*
 * cmd_tier_config.c: `modelshim tier-config TIER --listen HOST:PORT --dir DIR [--size SIZE]
 * [--user USER]` prints a complete nginx.conf for one node of a cluster cache tier, written from the same
 * config the daemons read, so that what nginx caches under (method, origin host, raw URI,
 * If-Match, Range), which origins it forwards to, who may use it and how it collapses misses
 * never drift from what the daemons send. Run it with `nginx -p DIR -c FILE`. Prints only:
 * never starts nginx, never reads credentials (a tier forwards the daemons' signatures).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "s3.h"

/* proxy_cache_lock_timeout stays below SigV4's 15-minute window: a waiter's signature is fresh. */
#define LOCK_TIMEOUT "10m"
#define LOCK_AGE "2m"

struct origin {
	char host[512];      /* the Host header the daemons send: [bucket.]host[:port] */
	char upstream[512];  /* host:port nginx connects to */
	int https;
};

/* The origin a mount's requests name, from its canonical object URL. */
static int
origin_of(const struct ms_mount *m, struct origin *o)
{
	char url[MS_URL_MAX];
	const char *auth, *ep;
	size_t alen;
	int rc;

	rc = ms_s3_object_url(m, "k", url, sizeof url);
	if (rc < 0)
		return rc;
	auth = strstr(url, "://") + 3;
	alen = strcspn(auth, "/");
	if (alen >= sizeof o->host)
		return -ENAMETOOLONG;
	memcpy(o->host, auth, alen);
	o->host[alen] = '\0';
	o->https = strncmp(m->endpoint, "https://", 8) == 0;
	ep = strstr(m->endpoint, "://") + 3;
	snprintf(o->upstream, sizeof o->upstream, "%.*s%s", (int)strcspn(ep, "/"), ep,
	    strchr(ep, ':') != NULL ? "" : o->https ? ":443" : ":80");
	return 0;
}

struct node_opts {
	const char *listen, *dir, *size, *user;
};

static void
print_conf(const struct ms_tier *t, const struct origin *o, unsigned n, const struct node_opts *op)
{
	const char *dir = op->dir, *size = op->size;
	unsigned i;

	printf("# nginx.conf of one node of modelshim tier \"%s\" (modelshim tier-config).\n"
	    "# Run: nginx -p %s -c FILE. Every tier request is one aligned block of %llu bytes,\n"
	    "# signed by a daemon for the origin; a hit checks no signature: only allow's addresses\n"
	    "# may connect (use mTLS, ssl_verify_client, on networks you do not control).\n",
	    t->name, dir, (unsigned long long)t->block);
	if (op->user != NULL) /* the workers' user: DIR must be theirs to write */
		printf("user %s;\n", op->user);
	printf("daemon off;\nworker_processes auto;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
	    "events { worker_connections 1024; }\n\nhttp {\n", dir, dir);
	printf("\tlog_format tier '$remote_addr \"$request\" $status $upstream_cache_status "
	    "$body_bytes_sent \"$http_range\"';\n\taccess_log %s/access.log tier;\n", dir);
	printf("\tclient_body_temp_path %s/tmp/body;\n\tproxy_temp_path %s/tmp/proxy;\n"
	    "\tfastcgi_temp_path %s/tmp/fastcgi;\n\tuwsgi_temp_path %s/tmp/uwsgi;\n"
	    "\tscgi_temp_path %s/tmp/scgi;\n", dir, dir, dir, dir, dir);
	printf("\tproxy_cache_path %s/cache levels=1:2 keys_zone=modelshim:64m inactive=7d "
	    "use_temp_path=off%s%s;\n\n", dir, size ? " max_size=" : "", size ? size : "");
	for (i = 0; i < n; i++)
		printf("\tupstream ms_origin_%u { server %s; keepalive 32; }\n", i, o[i].upstream);
	printf("\n\t# The origins the daemons name (Host): any other is refused.\n"
	    "\tmap $http_host $ms_origin {\n\t\tdefault \"\";\n");
	for (i = 0; i < n; i++)
		printf("\t\t\"%s\" \"%s://ms_origin_%u\";\n", o[i].host, o[i].https ? "https" : "http", i);
	printf("\t}\n\n\tserver {\n\t\tlisten %s;\n", op->listen);
	for (i = 0; i < t->nallow; i++)
		printf("\t\tallow %s;\n", t->allow[i]);
	printf("\t\tdeny all;\n\n\t\tlocation / {\n"
	    "\t\t\tif ($ms_origin = \"\") { return 421; }\n"
	    "\t\t\tif ($request_method != GET) { return 405; }\n"
	    "\t\t\tif ($http_if_match = \"\") { return 428; }\n"
	    "\t\t\tif ($http_range !~ \"^bytes=[0-9]+-[0-9]+$\") { return 416; }\n"
	    "\t\t\tproxy_pass $ms_origin;\n"
	    "\t\t\tproxy_http_version 1.1;\n"
	    "\t\t\tproxy_set_header Connection \"\";\n"
	    "\t\t\t# With a cache, nginx would blank these towards the origin: they are signed.\n"
	    "\t\t\tproxy_set_header Host $http_host;\n"
	    "\t\t\tproxy_set_header Range $http_range;\n"
	    "\t\t\tproxy_set_header If-Match $http_if_match;\n"
	    "\t\t\tproxy_ssl_server_name on;\n"
	    "\t\t\tproxy_ssl_name $http_host;\n"
	    "\t\t\tproxy_cache modelshim;\n"
	    "\t\t\tproxy_cache_key \"$request_method|$http_host|$request_uri|$http_if_match|$http_range\";\n"
	    "\t\t\tproxy_cache_methods GET;\n"
	    "\t\t\tproxy_cache_convert_head off;\n"
	    "\t\t\tproxy_cache_valid 206 7d;\n"
	    "\t\t\tproxy_cache_lock on;\n"
	    "\t\t\tproxy_cache_lock_timeout " LOCK_TIMEOUT ";\n"
	    "\t\t\tproxy_cache_lock_age " LOCK_AGE ";\n"
	    "\t\t\tproxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;\n"
	    "\t\t\tproxy_max_temp_file_size %lluk;\n"
	    "\t\t\tadd_header X-Modelshim-Tier $upstream_cache_status always;\n"
	    "\t\t}\n\t}\n}\n", (unsigned long long)(t->block / 1024 + 1024));
}

static int
cmd_tier_config_exec(int argc, char **argv)
{
	struct node_opts op = { 0 };
	const char *name = NULL;
	struct origin o[MS_MAX_MOUNTS];
	const struct ms_tier *t = NULL;
	struct ms_config cfg;
	unsigned n = 0, i, j;
	int rc;

	if (cmd_load_config(&cmd_tier_config_entry, &argc, argv, &cfg) < 0 ||
	    cmd_resolve_store(&cmd_tier_config_entry, &cfg) < 0)
		return 1;
	for (i = 1; i < (unsigned)argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < (unsigned)argc)
			op.listen = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < (unsigned)argc)
			op.dir = argv[++i];
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < (unsigned)argc)
			op.size = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < (unsigned)argc)
			op.user = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return cmd_usage(&cmd_tier_config_entry);
	}
	/* Values land in nginx.conf: nothing that could end a directive or a block. */
	if (name == NULL || op.listen == NULL || op.dir == NULL || op.dir[0] != '/' ||
	    strpbrk(op.listen, " ;{}\"'\n") != NULL || strpbrk(op.dir, " ;{}\"'\n") != NULL ||
	    (op.user != NULL && strpbrk(op.user, " ;{}\"'\n") != NULL) ||
	    (op.size != NULL && strspn(op.size, "0123456789kKmMgGtT") != strlen(op.size)))
		return cmd_usage(&cmd_tier_config_entry);
	for (i = 0; i < cfg.ntiers; i++)
		if (strcmp(cfg.tiers[i].name, name) == 0)
			t = &cfg.tiers[i];
	if (t == NULL) {
		fprintf(stderr, "modelshim tier-config: %s: no [tier \"%s\"] section\n", cfg.file, name);
		return 1;
	}
	for (i = 0; i < cfg.nmounts; i++) {
		if (cfg.mounts[i].tier < 0 || &cfg.tiers[cfg.mounts[i].tier] != t)
			continue;
		rc = origin_of(&cfg.mounts[i], &o[n]);
		if (rc < 0) {
			fprintf(stderr, "modelshim tier-config: [mount \"%s\"]: %s\n", cfg.mounts[i].name,
			    strerror(-rc));
			return 1;
		}
		for (j = 0; j < n && strcmp(o[j].host, o[n].host) != 0; j++)
			;
		if (j == n)
			n++;
	}
	if (n == 0) {
		fprintf(stderr, "modelshim tier-config: no mount names tier = %s\n", name);
		return 1;
	}
	print_conf(t, o, n, &op);
	return 0;
}

const struct cmd_entry cmd_tier_config_entry = {
	.name = "tier-config",
	.usage = "[--config FILE] TIER --listen HOST:PORT --dir DIR [--size SIZE] [--user USER]",
	.summary = "print the nginx.conf of one node of a cluster cache tier",
	.exec = cmd_tier_config_exec,
};
