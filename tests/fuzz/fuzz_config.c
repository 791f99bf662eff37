/*
 * fuzz_config.c: libFuzzer target for the INI config loader (ms_config_load, through inih).
 * ms_config_load() only takes a path, so each input is written to a memfd and loaded through
 * /proc/self/fd/N. A load that succeeds must hold every promise of config.h; one that fails must
 * leave a message and a cleared config. Never writes outside its memfd; built only by scripts/fuzz.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int memfd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	memfd = memfd_create("ms-fuzz-config", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("fuzz_config: memfd_create");
		exit(1);
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	return 0;
}

/* S is a NUL-terminated string within its N-byte array. */
#define TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

/* An absolute path as norm_path() leaves it: no "//", no trailing '/', no "." or "..". */
static void
check_path(const char *p, int root_ok)
{
	CHECK(p[0] == '/');
	if (p[1] == '\0') {
		CHECK(root_ok);
		return;
	}
	CHECK(strstr(p, "//") == NULL && p[strlen(p) - 1] != '/');
	CHECK(strstr(p, "/./") == NULL && strstr(p, "/../") == NULL);
	CHECK(strcmp(p + strlen(p) - 2, "/.") != 0 && strcmp(p + strlen(p) - 3, "/..") != 0);
}

static void
check_config(const struct ms_config *cfg)
{
	const char *rel;
	bool shared = false;

	CHECK(TERMINATED(cfg->file) && TERMINATED(cfg->cache_dir) && TERMINATED(cfg->eviction));
	CHECK(strcmp(cfg->file, path) == 0);
	check_path(cfg->cache_dir, 0);
	CHECK(cfg->chunk_size >= (64u << 10) && cfg->chunk_size <= (256u << 20) &&
	    (cfg->chunk_size & (cfg->chunk_size - 1)) == 0);
	CHECK(cfg->connections >= 1 && cfg->connections <= 256);
	CHECK(cfg->timeout_ms > 0 && cfg->retries >= 1);
	CHECK(cfg->low_pct < cfg->high_pct && cfg->high_pct <= 100 && cfg->min_free_pct <= 90);
	CHECK(!strcmp(cfg->eviction, "lru") || !strcmp(cfg->eviction, "2-random"));
	CHECK(cfg->nmounts >= 1 && cfg->nmounts <= MS_MAX_MOUNTS);
	CHECK(cfg->ntenants <= MS_MAX_MOUNTS);

	for (unsigned i = 0; i < cfg->nmounts; i++) {
		const struct ms_mount *m = &cfg->mounts[i];
		size_t plen;

		CHECK(TERMINATED(m->name) && TERMINATED(m->path) && TERMINATED(m->bucket) &&
		    TERMINATED(m->prefix) && TERMINATED(m->endpoint) && TERMINATED(m->region) &&
		    TERMINATED(m->tenant) && TERMINATED(m->credentials) && TERMINATED(m->profile));
		/* Names become directory names: never "", "." or "..". */
		CHECK(isalnum((unsigned char)m->name[0]) && isalnum((unsigned char)m->tenant[0]) &&
		    isalnum((unsigned char)m->profile[0]));
		/* Endpoint and region may be left to the environment (core/endpoint.c). */
		CHECK(!m->region[0] || isalnum((unsigned char)m->region[0]));
		CHECK(m->bucket[0]);
		check_path(m->path, 0);
		if (m->credentials[0])
			check_path(m->credentials, 1);
		CHECK(TERMINATED(m->ca_bundle));
		if (m->ca_bundle[0])
			check_path(m->ca_bundle, 1);
		plen = strlen(m->prefix);
		CHECK(plen == 0 || (m->prefix[plen - 1] == '/' && m->prefix[0] != '/'));
		CHECK(!m->endpoint[0] || !strncmp(m->endpoint, "http://", 7) ||
		    !strncmp(m->endpoint, "https://", 8));
		CHECK(!m->endpoint[0] || m->endpoint[strlen(m->endpoint) - 1] != '/');
		/* Names are unique and paths never nest: each lookup finds this very mount. */
		CHECK(ms_config_mount_by_name(cfg, m->name) == m);
		rel = NULL;
		CHECK(ms_config_mount_for_path(cfg, m->path, &rel) == m && rel && *rel == '\0');
		CHECK(ms_config_mount_for_path(cfg, cfg->cache_dir, NULL) == NULL);
	}
	for (unsigned i = 0; i < cfg->ntenants; i++) {
		const struct ms_tenant *t = &cfg->tenants[i];
		unsigned j;

		CHECK(TERMINATED(t->name) && isalnum((unsigned char)t->name[0]));
		CHECK(ms_config_tenant(cfg, t->name) == t);
		CHECK(t->gid != UINT32_MAX);
		shared |= t->gid != 0;
		for (j = 0; j < cfg->nmounts; j++)
			if (!strcmp(cfg->mounts[j].tenant, t->name))
				break;
		CHECK(j < cfg->nmounts);
	}
	CHECK(ms_config_shared(cfg) == shared);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ms_config cfg; /* some 200 KiB: not on the stack */
	static char err[1024];
	int rc;

	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(err, 'x', sizeof err);
	rc = ms_config_load(&cfg, path, err, sizeof err);
	CHECK(TERMINATED(err));
	if (rc == 0) {
		check_config(&cfg);
		return 0;
	}
	CHECK(rc == -EINVAL);
	CHECK(!strncmp(err, path, strlen(path)) && err[strlen(path)] == ':');
	CHECK(cfg.nmounts == 0 && cfg.ntenants == 0 && cfg.file[0] == '\0');
	return 0;
}
