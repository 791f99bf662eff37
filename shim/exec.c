/*
 * exec.c: process life across exec and spawn. Before any call that starts another program (the
 * exec family, posix_spawn, system, popen), every incomplete virtual file the new program would
 * inherit is made complete, or the call fails with EIO: it may read it where no shim sees (stdio,
 * a static binary). A program that execs with an explicit environment keeps the shim:
 * LD_PRELOAD and MODELSHIM_CONFIG are carried into it when missing. Works on the stack only:
 * these run in vfork children, where the heap belongs to the suspended parent.
 */
#include <errno.h>
#include <fcntl.h>
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

/* The files a new program inherits are complete first: 0, or -1 with errno EIO. */
static int
complete_inherited(void)
{
	if (!shim_active() || shim_fds_complete_for_exec() == 0)
		return 0;
	errno = EIO;
	return -1;
}

SHIM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	struct env_buf b;

	if (shim_busy)
		return REAL(execve)(path, argv, envp);
	if (complete_inherited() < 0)
		return -1;
	return REAL(execve)(path, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct env_buf b;

	if (shim_busy)
		return REAL(execvpe)(file, argv, envp);
	if (complete_inherited() < 0)
		return -1;
	return REAL(execvpe)(file, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	struct env_buf b;

	if (complete_inherited() < 0)
		return -1;
	return REAL(fexecve)(fd, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
execv(const char *path, char *const argv[])
{
	if (complete_inherited() < 0)
		return -1;
	return REAL(execv)(path, argv);
}

SHIM_EXPORT int
execvp(const char *file, char *const argv[])
{
	if (complete_inherited() < 0)
		return -1;
	return REAL(execvp)(file, argv);
}

/*
 * The variable arguments of execl and its kin, from ARG to the NULL, into ARGV (MAX_ARGS + 1
 * slots); false with errno E2BIG when there are more.
 */
static bool
collect_args(char **argv, const char *arg, va_list *ap)
{
	size_t n = 0;

	argv[n++] = (char *)arg;
	while (argv[n - 1] != NULL && n <= MAX_ARGS)
		argv[n++] = va_arg(*ap, char *);
	if (argv[n - 1] == NULL)
		return true;
	errno = E2BIG;
	return false;
}

/* execl and execlp: the list from ARG (in AP) into an argv, then execvp if SEARCH, else execv. */
static int
exec_list(bool search, const char *file, const char *arg, va_list *ap)
{
	char *argv[MAX_ARGS + 1];

	if (!collect_args(argv, arg, ap))
		return -1;
	return search ? execvp(file, argv) : execv(file, argv);
}

SHIM_EXPORT int
execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = exec_list(false, path, arg, &ap);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = exec_list(true, file, arg, &ap);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
execle(const char *path, const char *arg, ...)
{
	char *argv[MAX_ARGS + 1];
	char *const *envp = NULL;
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = collect_args(argv, arg, &ap);
	if (ok)
		envp = va_arg(ap, char *const *);
	va_end(ap);
	return ok ? execve(path, argv, envp) : -1;
}

/* posix_spawn returns an error number, not -1 and errno. */
SHIM_EXPORT int
posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_buf b;

	if (shim_busy)
		return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
	if (complete_inherited() < 0)
		return EIO;
	return REAL(posix_spawn)(pid, path, fa, attr, argv, with_shim(envp, &b));
}

SHIM_EXPORT int
posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct env_buf b;

	if (shim_busy)
		return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	if (complete_inherited() < 0)
		return EIO;
	return REAL(posix_spawnp)(pid, file, fa, attr, argv, with_shim(envp, &b));
}

/*
 * File actions run inside glibc in the child, where no shim sees them: a virtual fd dup'ed there
 * is made complete now, and a virtual path to be opened there is filled now and named by its
 * cache-tree file (its reads are then the kernel's alone).
 */
SHIM_EXPORT int
posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	if (shim_active() && shim_fd_tracked(fd) && shim_fd_ensure(fd, 0, 0) < 0)
		return EIO;
	return REAL(posix_spawn_file_actions_adddup2)(fa, fd, newfd);
}

SHIM_EXPORT int
posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
    int oflag, mode_t mode)
{
	struct shim_path p;
	int c, vfd, rc;

	if (!shim_active() || (c = shim_classify(AT_FDCWD, path, &p)) == 0)
		return REAL(posix_spawn_file_actions_addopen)(fa, fd, path, oflag, mode);
	if (c < 0)
		return errno;
	if ((oflag & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0)
		return EROFS;
	vfd = open(path, (oflag & ~O_CLOEXEC) | O_CLOEXEC);
	if (vfd < 0)
		return errno;
	rc = shim_fd_ensure(vfd, 0, 0) < 0 ? EIO : 0;
	close(vfd);
	return rc != 0 ? rc : REAL(posix_spawn_file_actions_addopen)(fa, fd, p.tree, oflag, mode);
}

SHIM_EXPORT int
system(const char *cmd)
{
	if (cmd != NULL && complete_inherited() < 0)
		return -1;
	return REAL(system)(cmd);
}

SHIM_EXPORT FILE *
popen(const char *cmd, const char *mode)
{
	if (complete_inherited() < 0)
		return NULL;
	return REAL(popen)(cmd, mode);
}
