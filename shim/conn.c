/*
 * conn.c: the shim's connection to the daemon. One per thread, made again after fork or when the
 * application closed it; the daemon is started when none answers (one thread at a time, and not
 * again for a while after a failed start). A fill that loses its daemon mid-way reconnects to, or
 * starts, the next one until [cache] timeout runs out. In a vfork child (which shares its
 * parent's memory) a connection on the stack is used and no shared state changes. Never writes
 * to the cache, never prints but through the caller.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "shim.h"

#define DAEMON_RESTART_INTERVAL_S 2
#define RECONNECT_PAUSE_MS 50
#define DEFAULT_TIMEOUT_MS 30000

/*
 * The daemon connection of this thread; reconnected after fork or if the app closed it. IN_USE:
 * a request is under way on it, so a request made meanwhile (from a signal handler) takes a
 * connection of its own rather than read the interrupted request's answer.
 */
static __thread struct {
	int in_use;
	struct ms_client cl;
	pid_t pid;
	dev_t dev;
	ino_t ino;
	bool ok;
} conn;
/* When starting the daemon last failed: no new attempt for a while, misses fail at once. */
static atomic_long last_failed_start;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Starts the daemon unless a start failed less than DAEMON_RESTART_INTERVAL_S ago. */
static int
connect_or_start(struct ms_client *cl)
{
	long last, now;
	int rc;

	pthread_mutex_lock(&start_lock);
	rc = ms_client_connect(cl, &shim.cfg);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		now = (long)(ms_now_ms() / 1000);
		last = atomic_load(&last_failed_start);
		if (last == 0 || now - last >= DAEMON_RESTART_INTERVAL_S) {
			rc = ms_client_connect_or_start(cl, &shim.cfg, shim.daemon_exe);
			if (rc < 0)
				atomic_store(&last_failed_start, now);
		}
	}
	pthread_mutex_unlock(&start_lock);
	return rc;
}

static void
conn_drop(void)
{
	if (conn.ok)
		ms_client_close(&conn.cl);
	conn.ok = false;
}

/*
 * This thread's connection, made (and the daemon started, if MAY_START) when needed. PID is
 * getpid(), which the caller has (it is a system call: asked once per request).
 */
static int
conn_get(bool may_start, pid_t pid)
{
	struct stat st;
	int rc;

	if (conn.ok) {
		bool ours = REAL(fstat)(conn.cl.fd, &st) == 0 && st.st_dev == conn.dev && st.st_ino == conn.ino;

		if (ours && conn.pid == pid)
			return 0;
		/* Inherited over fork: the parent's socket, closed here. Closed by the app: not ours. */
		if (ours)
			ms_client_close(&conn.cl);
		conn.ok = false;
	}
	rc = ms_client_connect(&conn.cl, &shim.cfg);
	if ((rc == -ENOENT || rc == -ECONNREFUSED) && may_start)
		rc = connect_or_start(&conn.cl);
	if (rc < 0)
		return rc;
	if (REAL(fstat)(conn.cl.fd, &st) < 0) {
		ms_client_close(&conn.cl);
		return -EIO;
	}
	conn.pid = pid;
	conn.dev = st.st_dev;
	conn.ino = st.st_ino;
	conn.ok = true;
	return 0;
}

/*
 * One fill over a connection of its own, for a vfork child (which shares its parent's memory) or
 * a signal handler that interrupted a request of this thread. The daemon is not started here.
 */
static int
fill_on_own_connection(const struct ms_mount *m, const char *key, uint64_t off, uint64_t len,
    uint64_t ino, uint32_t flags, void *dst, size_t *got, char *err, size_t errlen)
{
	struct ms_client cl;
	int rc;

	rc = ms_client_connect(&cl, &shim.cfg);
	if (rc < 0) {
		snprintf(err, errlen, "no modelshim daemon serves %s (%s)", shim.cfg.cache_dir,
		    strerror(-rc));
		return rc;
	}
	rc = ms_client_fill_read(&cl, m->name, key, off, len, ino, flags, dst, got, err, errlen);
	ms_client_close(&cl);
	return rc == MS_CLIENT_LOST ? -EIO : rc;
}

static int
fill(unsigned mount, const char *key, uint64_t off, uint64_t len, uint64_t ino, uint32_t flags,
    void *dst, size_t *got, char *err, size_t errlen)
{
	const struct ms_mount *m = &shim.cfg.mounts[mount];
	struct timespec pause = { 0, RECONNECT_PAUSE_MS * 1000 * 1000 };
	uint64_t deadline = 0;
	pid_t pid = getpid();
	int rc;

	if (pid != shim.pid || conn.in_use) /* a vfork child, or a signal handler mid-request */
		return fill_on_own_connection(m, key, off, len, ino, flags, dst, got, err, errlen);
	for (;;) {
		rc = conn_get(true, pid);
		if (rc == 0) {
			conn.in_use++;
			rc = ms_client_fill_read(&conn.cl, m->name, key, off, len, ino, flags, dst, got,
			    err, errlen);
			conn.in_use--;
			if (rc != MS_CLIENT_LOST)
				return rc;
			conn_drop();
			if (deadline == 0)
				deadline = ms_now_ms() + (shim.cfg.timeout_ms ? shim.cfg.timeout_ms :
				    DEFAULT_TIMEOUT_MS);
		} else if (deadline == 0) {
			/* No daemon to begin with, and none could be started: fail at once. */
			snprintf(err, errlen, "the modelshim daemon for %s could not be reached or "
			    "started (%s; see %s/daemon.log)", shim.cfg.cache_dir, strerror(-rc),
			    shim.cfg.cache_dir);
			return -EIO;
		}
		/* The daemon went away mid-fill: the next one (ours or another's start) takes over. */
		if (ms_now_ms() >= deadline) {
			snprintf(err, errlen, "lost the modelshim daemon of %s and no new one served "
			    "within %u ms (see %s/daemon.log)", shim.cfg.cache_dir,
			    shim.cfg.timeout_ms ? shim.cfg.timeout_ms : DEFAULT_TIMEOUT_MS,
			    shim.cfg.cache_dir);
			return -EIO;
		}
		nanosleep(&pause, NULL);
	}
}

int
shim_conn_fill(unsigned mount, const char *key, uint64_t off, uint64_t len, uint64_t ino,
    uint32_t flags, void *dst, size_t *got, char *err, size_t errlen)
{
	int rc;

	shim_busy++;
	rc = fill(mount, key, off, len, ino, flags, dst, got, err, errlen);
	shim_busy--;
	return rc;
}

static int
verify(unsigned mount, const char *key, uint64_t ino, char *err, size_t errlen)
{
	int rc = conn.in_use ? -EBUSY : conn_get(true, getpid());

	if (rc < 0) {
		snprintf(err, errlen, "the daemon could not be reached (%s)", strerror(-rc));
		return rc;
	}
	conn.in_use++;
	rc = ms_client_verify(&conn.cl, shim.cfg.mounts[mount].name, key, ino, err, errlen);
	conn.in_use--;
	if (rc == MS_CLIENT_LOST) {
		conn_drop();
		rc = -EIO;
	}
	return rc;
}

int
shim_conn_verify(unsigned mount, const char *key, uint64_t ino, char *err, size_t errlen)
{
	int rc;

	shim_busy++;
	rc = verify(mount, key, ino, err, errlen);
	shim_busy--;
	return rc;
}

int
shim_conn_lookup(unsigned mount, const char *key)
{
	char err[256];
	pid_t pid = getpid();
	int rc;

	if (pid != shim.pid || conn.in_use) /* a vfork child, or a signal handler mid-request */
		return -EBUSY;
	shim_busy++;
	rc = conn_get(true, pid);
	if (rc == 0) {
		conn.in_use++;
		rc = ms_client_lookup(&conn.cl, shim.cfg.mounts[mount].name, key, err, sizeof err);
		conn.in_use--;
		if (rc == MS_CLIENT_LOST)
			conn_drop();
	}
	shim_busy--;
	return rc;
}

void
shim_conn_touch(unsigned mount, const char *key, uint64_t ino)
{
	pid_t pid = getpid();

	if (pid != shim.pid || conn.in_use)
		return;
	shim_busy++;
	/* A hit never starts a daemon: only a connection that exists or can be made is used. */
	if (conn_get(false, pid) == 0 && ms_client_touch(&conn.cl, shim.cfg.mounts[mount].name, key, ino) < 0)
		conn_drop();
	shim_busy--;
}

void
shim_conn_prefetch(unsigned mount, const char *key, uint64_t off, uint64_t len, uint64_t ino)
{
	pid_t pid = getpid();

	if (pid != shim.pid || conn.in_use)
		return;
	shim_busy++;
	if (conn_get(true, pid) == 0 &&
	    ms_client_prefetch(&conn.cl, shim.cfg.mounts[mount].name, key, off, len, ino) < 0)
		conn_drop();
	shim_busy--;
}
