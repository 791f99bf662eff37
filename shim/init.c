/*
 * init.c: the shim's constructor and process-wide state: reads the config named by
 * $MODELSHIM_CONFIG (only the mounts and the cache dir; never credentials), works out the cache
 * tree roots, where the daemon binary is, and the fork bookkeeping. Without a config, or with a
 * bad one, the shim stays off and every call passes straight through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "lazymap.h"
#include "log.h"
#include "shim.h"

struct shim_state shim;
__thread int shim_busy;

bool
shim_in_vfork_child(void)
{
	return getpid() != shim.pid;
}

static void
atfork_child(void)
{
	shim.pid = getpid();
}

static void
find_daemon_exe(void)
{
	const char *env = getenv("MODELSHIM_BIN");
	char *slash;

	if (env != NULL && env[0] != '\0') {
		strlcpy(shim.daemon_exe, env, sizeof shim.daemon_exe);
		return;
	}
	/* Installed or built side by side: DIR/libmodelshim.so and DIR/modelshim. */
	strlcpy(shim.daemon_exe, shim.self, sizeof shim.daemon_exe);
	slash = strrchr(shim.daemon_exe, '/');
	if (slash != NULL) {
		*slash = '\0';
		strlcat(shim.daemon_exe, "/modelshim", sizeof shim.daemon_exe);
		if (access(shim.daemon_exe, X_OK) == 0)
			return;
	}
	strlcpy(shim.daemon_exe, "modelshim", sizeof shim.daemon_exe);
}

static bool
setup_roots(void)
{
	unsigned i;

	for (i = 0; i < shim.cfg.nmounts; i++) {
		struct shim_mount_root *r = &shim.roots[i];

		if (ms_cache_area(&shim.cfg, &shim.cfg.mounts[i], MS_AREA_TREE, r->tree, sizeof r->tree) < 0)
			return false;
		r->tree_len = strlen(r->tree);
		r->vpath_len = strlen(shim.cfg.mounts[i].path);
	}
	return true;
}

__attribute__((constructor(102))) static void
shim_init(void)
{
	const char *cfgpath = getenv("MODELSHIM_CONFIG");
	char err[1024];
	Dl_info info;

	shim_busy++;
	shim.pid = getpid();
	ms_log_init("modelshim", MS_LOG_WARN);
	/* The daemon and the CLI work on the cache tree itself: never intercept them. */
	if (strcmp(program_invocation_short_name, "modelshim") == 0 || cfgpath == NULL ||
	    cfgpath[0] == '\0')
		goto out;
	strlcpy(shim.config_path, cfgpath, sizeof shim.config_path);
	if (ms_config_load(&shim.cfg, cfgpath, err, sizeof err) < 0) {
		ms_warn("%s: the shim is off", err);
		goto out;
	}
	if (!setup_roots()) {
		ms_warn("cache dir path too long: the shim is off");
		goto out;
	}
	if (dladdr((void *)shim_init, &info) != 0 && info.dli_fname != NULL)
		strlcpy(shim.self, info.dli_fname, sizeof shim.self);
	find_daemon_exe();
	shim_fdtable_init();
	pthread_atfork(NULL, NULL, atfork_child);
	/* Lazy mappings are filled in full before a fork (lazymap.c says why). */
	pthread_atfork(shim_lazy_fork_prepare, shim_lazy_fork_parent, shim_lazy_fork_child);
	shim.enabled = true;
	shim_cwd_changed();
	shim_fdtable_adopt_inherited();
out:
	shim_busy--;
}
