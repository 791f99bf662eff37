/*
 * config_lookup.c: questions asked of a loaded config: where the config file is, which mount a
 * virtual path falls in, a mount or tenant by name, whether the cache is shared. Never changes the
 * config, never allocates, never prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

bool
ms_path_within(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

int
ms_config_path(const char *explicit_path, char *out, size_t outlen)
{
	const char *s = explicit_path;

	if (!s || !*s)
		s = getenv("MODELSHIM_CONFIG");
	if (!s || !*s)
		return -ENOENT;
	if (strlen(s) >= outlen)
		return -ENAMETOOLONG;
	strlcpy(out, s, outlen);
	return 0;
}

/* Mounts never nest (finish() refuses it), so the first match is the only one. */
const struct ms_mount *
ms_config_mount_for_path(const struct ms_config *cfg, const char *path, const char **rel)
{
	if (!cfg || !path || path[0] != '/')
		return NULL;
	for (unsigned i = 0; i < cfg->nmounts; i++) {
		const struct ms_mount *m = &cfg->mounts[i];
		const char *r = path + strlen(m->path);

		if (!ms_path_within(path, m->path))
			continue;
		while (*r == '/')
			r++;
		if (rel)
			*rel = r;
		return m;
	}
	return NULL;
}

const struct ms_mount *
ms_config_mount_by_name(const struct ms_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (unsigned i = 0; i < cfg->nmounts; i++)
		if (!strcmp(cfg->mounts[i].name, name))
			return &cfg->mounts[i];
	return NULL;
}

const struct ms_tenant *
ms_config_tenant(const struct ms_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->ntenants; i++)
		if (!strcmp(cfg->tenants[i].name, name))
			return &cfg->tenants[i];
	return NULL;
}

bool
ms_config_shared(const struct ms_config *cfg)
{
	for (unsigned i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].gid != 0)
			return true;
	return false;
}
