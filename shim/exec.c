/*
 * exec.c: process life across exec. A program that execs with an explicit environment keeps the
 * shim: LD_PRELOAD and MODELSHIM_CONFIG are carried into it when missing (so its reads of
 * inherited fds and virtual paths stay served). Works on the stack only: these run in vfork
 * children, where the heap belongs to the suspended parent.
 */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_ENV 1024
#define MAX_ARGS 4096

struct env_buf {
	char *vec[MAX_ENV + 3];
	char preload[4096];
	char config[MS_PATH_MAX + 32];
};

/* True if the LD_PRELOAD value LIST already names SELF. */
static bool
lists_self(const char *list, const char *self)
{
	size_t n = strlen(self);
	const char *p = list;

	while ((p = strstr(p, self)) != NULL) {
		if ((p == list || p[-1] == ':' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ':' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

/* ENVP with the shim's variables ensured, in B; ENVP itself when nothing is missing or no room. */
static char *const *
with_shim(char *const envp[], struct env_buf *b)
{
	bool have_preload = false, have_config = false;
	size_t n = 0, i;

	if (!shim.enabled || envp == NULL || shim.self[0] == '\0')
		return envp;
	for (i = 0; envp[i] != NULL; i++) {
		if (i >= MAX_ENV)
			return envp;
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) {
			have_preload = true;
			if (lists_self(envp[i] + 11, shim.self)) {
				b->vec[n++] = envp[i];
			} else if (snprintf(b->preload, sizeof b->preload, "%s%s%s", envp[i],
			    envp[i][11] != '\0' ? ":" : "", shim.self) < (int)sizeof b->preload) {
				b->vec[n++] = b->preload;
			} else {
				return envp;
			}
			continue;
		}
		if (strncmp(envp[i], "MODELSHIM_CONFIG=", 17) == 0)
			have_config = true;
		b->vec[n++] = envp[i];
	}
	if (!have_preload) {
		snprintf(b->preload, sizeof b->preload, "LD_PRELOAD=%s", shim.self);
		b->vec[n++] = b->preload;
	}
	if (!have_config) {
		snprintf(b->config, sizeof b->config, "MODELSHIM_CONFIG=%s", shim.config_path);
		b->vec[n++] = b->config;
	}
	b->vec[n] = NULL;
	return b->vec;
}

SHIM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	struct env_buf b;

	return REAL(execve)(path, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct env_buf b;

	return REAL(execvpe)(file, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	struct env_buf b;

	return REAL(fexecve)(fd, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
execle(const char *path, const char *arg, ...)
{
	char *argv[MAX_ARGS + 1];
	char *const *envp;
	struct env_buf b;
	va_list ap;
	size_t n = 0;

	va_start(ap, arg);
	argv[n++] = (char *)arg;
	while (arg != NULL) {
		arg = va_arg(ap, const char *);
		if (n == MAX_ARGS) {
			va_end(ap);
			errno = E2BIG;
			return -1;
		}
		argv[n++] = (char *)arg;
	}
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return REAL(execve)(path, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_buf b;

	return REAL(posix_spawn)(pid, path, fa, attr, argv, shim_busy ? envp : with_shim(envp, &b));
}

SHIM_EXPORT int
posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_buf b;

	return REAL(posix_spawnp)(pid, file, fa, attr, argv, shim_busy ? envp : with_shim(envp, &b));
}
