/*
 * cmd_run.c: `modelshim run [--config FILE] -- CMD...`: makes sure the daemon runs, then execs CMD
 * with libmodelshim.so preloaded (added to any LD_PRELOAD already set) and MODELSHIM_CONFIG set,
 * so CMD reads the virtual paths. Never passes credentials to CMD.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"

/* The shim beside the binary (build tree, or DIR/bin + DIR/lib when installed). */
static int
find_shim(const char *exe, char *out, size_t outlen)
{
	const char *env = getenv("MODELSHIM_SHIM");
	const char *candidates[] = { "/libmodelshim.so", "/../lib/libmodelshim.so",
		"/../lib/modelshim/libmodelshim.so" };
	char dir[PATH_MAX];
	char *slash;
	size_t i;

	if (env != NULL && env[0] != '\0')
		return realpath(env, out) != NULL ? 0 : -errno;
	strlcpy(dir, exe, sizeof dir);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	for (i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		char path[PATH_MAX + 64];

		snprintf(path, sizeof path, "%s%s", dir, candidates[i]);
		if (access(path, R_OK) == 0 && realpath(path, out) != NULL)
			return 0;
	}
	(void)outlen;
	return -ENOENT;
}

static int
cmd_run_exec(int argc, char **argv)
{
	char exe[PATH_MAX], shim[PATH_MAX], cfgpath[PATH_MAX], preload[PATH_MAX * 4];
	const char *old;
	struct ms_config cfg;
	struct ms_client cl;
	ssize_t n;
	int i, rc;

	if (cmd_load_config(&cmd_run_entry, &argc, argv, &cfg) < 0)
		return 1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	if (i + 1 >= argc)
		return cmd_usage(&cmd_run_entry);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0) {
		fprintf(stderr, "modelshim run: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	exe[n] = '\0';
	if (find_shim(exe, shim, sizeof shim) < 0) {
		fprintf(stderr, "modelshim run: libmodelshim.so not found beside %s (set MODELSHIM_SHIM)\n",
		    exe);
		return 1;
	}
	if (realpath(cfg.file, cfgpath) == NULL) {
		fprintf(stderr, "modelshim run: %s: %s\n", cfg.file, strerror(errno));
		return 1;
	}
	rc = ms_client_connect_or_start(&cl, &cfg, exe);
	if (rc < 0) {
		fprintf(stderr, "modelshim run: cannot start the daemon for %s: %s (see %s/daemon.log)\n",
		    cfg.cache_dir, strerror(-rc), cfg.cache_dir);
		return 1;
	}
	ms_client_close(&cl);
	old = getenv("LD_PRELOAD");
	if (old != NULL && old[0] != '\0' && strstr(old, shim) == NULL)
		snprintf(preload, sizeof preload, "%s:%s", old, shim);
	else
		strlcpy(preload, old != NULL && old[0] != '\0' ? old : shim, sizeof preload);
	if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("MODELSHIM_CONFIG", cfgpath, 1) < 0) {
		fprintf(stderr, "modelshim run: setenv: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "modelshim run: %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "[--config FILE] -- CMD [ARG...]",
	.summary = "run CMD with the shim preloaded (starts the daemon if needed)",
	.exec = cmd_run_exec,
};
