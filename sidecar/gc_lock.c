/*
 * gc_lock.c: the optional cluster-wide lock around `modelshim gc` ([gc] lock = etcd): the command
 * runs itself again under `etcdctl lock` (etcd's lock on a lease the holder keeps alive: a
 * holder that dies frees it within lock_ttl), so one GC at a time runs across the nodes. GC is
 * node-local and stays harmless if two ever run at once: the lock only spreads their I/O. An
 * etcd that does not answer is one clear error and no GC (asked first, with bounded timeouts):
 * a lock that was asked for is never silently skipped. Handles no secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "gc_lock.h"

#define LOCKED_ENV "MODELSHIM_GC_LOCKED"
#define DIAL_TIMEOUT "--dial-timeout=3s"
#define ARGS_MAX 64

extern char **environ;

/*
 * Runs etcdctl ARGV with its output in OUT (the last OUTLEN - 1 bytes, NUL-terminated); its
 * exit status, or -1 if it could not be run.
 */
static int
run_captured(char *const argv[], char *out, size_t outlen)
{
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	int pfd[2], status, rc;
	pid_t pid;
	ssize_t n;

	out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		snprintf(out, outlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	while ((n = read(pfd[0], out + len, outlen - 1 - len)) > 0 || (n < 0 && errno == EINTR)) {
		len += n > 0 ? (size_t)n : 0;
		if (len == outlen - 1) { /* keep the end: the error is last */
			memmove(out, out + outlen / 2, len - outlen / 2);
			len -= outlen / 2;
		}
	}
	out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The last non-empty line of TEXT, in place. */
static const char *
last_line(char *text)
{
	char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(text, '\n');
	return start != NULL ? start + 1 : text;
}

int
gc_lock_take(const struct ms_config *cfg, int argc, char **argv)
{
	char endpoints[sizeof cfg->gc_etcd_endpoints + 16], ttl[32], exe[PATH_MAX], out[4096];
	char *args[ARGS_MAX + 16];
	unsigned n = 0;
	ssize_t len;
	int rc;

	if (!cfg->gc_lock_etcd || getenv(LOCKED_ENV) != NULL)
		return 0;
	if (argc > ARGS_MAX) {
		fprintf(stderr, "modelshim gc: too many arguments\n");
		return -1;
	}
	snprintf(endpoints, sizeof endpoints, "--endpoints=%s", cfg->gc_etcd_endpoints);
	/* Does the cluster answer? A read that needs its quorum, bounded by the timeouts. */
	rc = run_captured((char *[]){ "etcdctl", endpoints, DIAL_TIMEOUT, "--command-timeout=5s",
	    "get", "--keys-only", (char *)cfg->gc_lock_name, NULL }, out, sizeof out);
	if (rc != 0) {
		fprintf(stderr, "modelshim gc: [gc] lock = etcd, but etcd at %s does not answer (%s): "
		    "gc not run, so that it never runs unlocked (set lock = none to run without)\n",
		    cfg->gc_etcd_endpoints, rc < 0 && strstr(out, "etcdctl:") == out ?
		    "etcdctl is not installed: Debian's etcd-client" : last_line(out));
		return -1;
	}
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len < 0) {
		fprintf(stderr, "modelshim gc: /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	exe[len] = '\0';
	snprintf(ttl, sizeof ttl, "--ttl=%u", (cfg->gc_lock_ttl_ms + 999) / 1000);
	args[n++] = "etcdctl";
	args[n++] = endpoints;
	args[n++] = DIAL_TIMEOUT;
	args[n++] = "lock";
	args[n++] = ttl;
	args[n++] = (char *)cfg->gc_lock_name;
	args[n++] = "--";
	args[n++] = exe;
	args[n++] = "gc";
	args[n++] = "--config";
	args[n++] = (char *)cfg->file;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	/* etcdctl holds the lock while the command runs, and gives it back when it ends. */
	if (setenv(LOCKED_ENV, "1", 1) == 0)
		execvp(args[0], args);
	fprintf(stderr, "modelshim gc: running etcdctl lock: %s\n", strerror(errno));
	return -1;
}

void
gc_lock_test_hooks(uint64_t start_ns)
{
	const char *hold = getenv("MODELSHIM_GC_HOLD_MS"), *trace = getenv("MODELSHIM_GC_TRACE");
	long ms = hold != NULL ? strtol(hold, NULL, 10) : 0;
	FILE *f;

	if (ms > 0 && ms < 60000) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (trace != NULL && (f = fopen(trace, "ae")) != NULL) {
		fprintf(f, "%llu %llu %d\n", (unsigned long long)start_ns,
		    (unsigned long long)ms_now_ns(), (int)getpid());
		fclose(f);
	}
}
