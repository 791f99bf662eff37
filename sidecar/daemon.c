/*
 * daemon.c: `modelshim daemon`: one per cache dir (a locked pid file), a SOCK_SEQPACKET socket in
 * the cache dir, and the single-threaded loop that drives clients, the object store's transfers
 * (store.h: the S3 backend, store_s3.c, which holds the fills' credentials), io_uring write
 * completions and signals. Under systemd it reports READY=1 once it serves, WATCHDOG=1 from the
 * loop and STOPPING=1 at shutdown (daemon_notify.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libutil.h>

#include "cache.h"
#include "cmd.h"
#include "clock.h"
#include "creds.h"
#include "daemon.h"
#include "daemon_notify.h"
#include "log.h"
#include "store_s3.h"

struct daemon *
daemon_new(void)
{
	struct daemon *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	d->listen_fd = d->signal_fd = d->ring_efd = -1;
	TAILQ_INIT(&d->clients);
	RB_INIT(&d->objs);
	TAILQ_INIT(&d->idle);
	TAILQ_INIT(&d->detached);
	return d;
}

static int
listen_socket(struct daemon *d)
{
	struct sockaddr_un sa;
	int rc;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	rc = ms_cache_socket_path(&d->cfg, sa.sun_path, sizeof sa.sun_path);
	if (rc < 0) {
		ms_error("cache dir path too long for a unix socket: %s", d->cfg.cache_dir);
		return rc;
	}
	/*
	 * We hold the pid file lock: a socket file left here is stale. Owner-only, or open to every
	 * local user when tenants name groups: then each request is checked against the client's
	 * kernel-given credentials (daemon_peer.c).
	 */
	unlink(sa.sun_path);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0)
		return -errno;
	if (bind(d->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    chmod(sa.sun_path, ms_config_shared(&d->cfg) ? 0666 : 0600) < 0 || listen(d->listen_fd, 128) < 0) {
		rc = -errno;
		ms_error("listening on %s: %s", sa.sun_path, strerror(errno));
		return rc;
	}
	return 0;
}

static int
signals_setup(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->signal_fd < 0 ? -errno : 0;
}

static void
read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		ms_info("signal %u: stopping", si.ssi_signo);
		d->stopping = true;
	}
}

static void
loop_once(struct daemon *d)
{
	struct pollfd fds[STORE_WAIT_FDS_MAX];
	struct client *cls[STORE_WAIT_FDS_MAX];
	struct client *cl;
	unsigned n = 0, i, first;
	int timeout = recv_bufs_want_prime(d) ? 0 : fetch_next_timeout_ms(d);

	fds[n++] = (struct pollfd){ .fd = d->listen_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = d->ring_efd, .events = POLLIN };
	n += metrics_pollfd(d, &fds[n], &timeout); /* fds[3] when [cache] metrics is set */
	first = n;
	TAILQ_FOREACH(cl, &d->clients, link) {
		if (n == STORE_WAIT_FDS_MAX)
			break;
		cls[n] = cl;
		fds[n++] = (struct pollfd){ .fd = client_fd(cl), .events = POLLIN };
	}
	d->store->ops->wait(d->store, fds, n, daemon_notify_timeout_ms(timeout));
	daemon_notify_watchdog();

	if (fds[1].revents != 0)
		read_signals(d);
	if (fds[0].revents != 0 && clients_accept(d) < 0)
		ms_warn("accepting a client: %s", strerror(errno));
	for (i = first; i < n; i++) {
		if (fds[i].revents == 0)
			continue;
		client_readable(d, cls[i]);
	}
	fetch_reap_writes(d);
	fetch_pace(d);
	fetch_start_due(d);
	fetch_next_pass(d);
	d->store->ops->progress(d->store);
	fetch_start_due(d);
	if (first > 3)
		metrics_run(d, &fds[3]);
	recv_bufs_prime_one(d);
}

static void
daemon_shutdown(struct daemon *d)
{
	char path[MS_PATH_MAX];
	struct client *cl;

	metrics_stop(d);
	lookups_fini(d);
	fetch_cancel_all(d);
	while ((cl = TAILQ_FIRST(&d->clients)) != NULL)
		client_drop(d, cl);
	objs_close_all(d);
	fetch_fini(d);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		if (ms_cache_socket_path(&d->cfg, path, sizeof path) == 0)
			unlink(path);
	}
	if (d->signal_fd >= 0)
		close(d->signal_fd);
}

/*
 * --detach: the caller gets its exit status only once the daemon serves (0) or has failed (1),
 * and the daemon itself is not the caller's child. Returns the fd to signal readiness on.
 */
static int
detach(void)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) == 1 ? 0 : 1);
	}
	close(pfd[0]);
	setsid();
	return pfd[1];
}

static int
cmd_daemon_exec(int argc, char **argv)
{
	char pidpath[MS_DIR_FILE_PATH_MAX];
	struct pidfh *pfh;
	struct daemon *d;
	pid_t other = 0;
	int rc, status = 1, ready_fd = -1;

	/*
	 * A daemon outlives whoever started it: descriptors it inherited (a test runner's log, a
	 * shell's files) would stay open, and a deleted one would keep its blocks, for as long.
	 */
	closefrom(3);
	d = daemon_new();
	if (d == NULL)
		return 1;
	if (cmd_load_config(&cmd_daemon_entry, &argc, argv, &d->cfg) < 0 ||
	    cmd_resolve_store(&cmd_daemon_entry, &d->cfg) < 0)
		goto out_free;
	if (argc == 2 && strcmp(argv[1], "--detach") == 0) {
		ready_fd = detach();
		if (ready_fd < 0) {
			ms_error("detaching: %s", strerror(errno));
			goto out_free;
		}
	} else if (argc != 1) {
		status = cmd_usage(&cmd_daemon_entry);
		goto out_free;
	}
	ms_log_init("modelshim daemon", MS_LOG_INFO);
	rc = ms_cache_init(&d->cfg);
	if (rc == 0)
		rc = ms_cache_file_path(&d->cfg, "daemon.pid", pidpath, sizeof pidpath);
	if (rc < 0) {
		ms_error("cache dir %s: %s", d->cfg.cache_dir, strerror(-rc));
		goto out_free;
	}
	pfh = pidfile_open(pidpath, 0600, &other);
	if (pfh == NULL) {
		if (errno == EEXIST)
			ms_error("a daemon already serves %s (pid %d)", d->cfg.cache_dir, (int)other);
		else
			ms_error("%s: %s", pidpath, strerror(errno));
		goto out_free;
	}
	d->started_ms = ms_now_ms();
	if (store_s3_new(&d->cfg, &fetch_events, &d->store) < 0 || signals_setup(d) < 0 || listen_socket(d) < 0 ||
	    (rc = fetch_init(d)) < 0 || metrics_start(d) < 0) {
		ms_error("start-up failed");
		goto out;
	}
	evict_init(d);
	pidfile_write(pfh);
	daemon_notify_init(ready_fd < 0);
	daemon_notify("READY=1\nSTATUS=serving");
	daemon_notify_watchdog();
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) < 0)
			ms_warn("signalling readiness: %s", strerror(errno));
		close(ready_fd);
		ready_fd = -1;
	}
	ms_info("serving %s with %u mounts, %u connections, chunk %u bytes", d->cfg.cache_dir,
	    d->cfg.nmounts, d->cfg.connections, d->cfg.chunk_size);
	while (!d->stopping)
		loop_once(d);
	daemon_notify("STOPPING=1");
	status = 0;
out:
	daemon_shutdown(d);
	pidfile_remove(pfh);
out_free:
	if (ready_fd >= 0)
		close(ready_fd);
	free(d);
	return status;
}

const struct cmd_entry cmd_daemon_entry = {
	.name = "daemon",
	.usage = "[--config FILE] [--detach]",
	.summary = "serve fills for the cache dir (one per cache dir; SIGTERM stops it)",
	.exec = cmd_daemon_exec,
};
