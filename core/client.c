/*
 * client.c: talking to the daemon over its SOCK_SEQPACKET socket, and starting it when absent.
 * Never reads credentials and never writes to the cache. Errors come back as -errno with a
 * message; nothing here prints or exits (it also runs inside host programs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"

extern char **environ;

int
ms_client_connect(struct ms_client *cl, const struct ms_config *cfg)
{
	struct sockaddr_un sa;
	int rc;

	cl->fd = -1;
	cl->next_id = 1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	rc = ms_cache_socket_path(cfg, sa.sun_path, sizeof sa.sun_path);
	if (rc < 0)
		return rc;
	cl->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (cl->fd < 0)
		return -errno;
	if (connect(cl->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = -errno;
		close(cl->fd);
		cl->fd = -1;
		return rc;
	}
	return 0;
}

static int
spawn_daemon(const struct ms_config *cfg, const char *exe, pid_t *pid)
{
	char logpath[MS_PATH_MAX + 32];
	char *argv[] = { (char *)exe, (char *)"daemon", (char *)"--config", (char *)cfg->file,
		(char *)"--detach", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	rc = ms_cache_init(cfg);
	if (rc < 0)
		return rc;
	rc = ms_cache_file_path(cfg, "daemon.log", logpath, sizeof logpath);
	if (rc < 0)
		return rc;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	/* Started from inside a host program: it must not keep the host's pipes or sockets open. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
	if (strchr(exe, '/') != NULL)
		rc = posix_spawn(pid, exe, &fa, &attr, argv, environ);
	else
		rc = posix_spawnp(pid, exe, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -rc;
}

int
ms_client_connect_or_start(struct ms_client *cl, const struct ms_config *cfg, const char *exe)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int rc, i;

	pid_t pid;
	int status;
	bool waiting = true;

	rc = ms_client_connect(cl, cfg);
	if (rc != -ENOENT && rc != -ECONNREFUSED)
		return rc;
	rc = spawn_daemon(cfg, exe, &pid);
	if (rc < 0)
		return rc;
	/*
	 * "daemon --detach" exits once the daemon serves (0) or failed (1); only our own child is
	 * waited for. If the host reaped it first (ECHILD), the socket alone tells.
	 */
	for (i = 0; i < 500; i++) {
		if (waiting) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				waiting = false;
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
					rc = ms_client_connect(cl, cfg);
					return rc == 0 ? 0 : -EIO;
				}
			} else if (w < 0) {
				waiting = false;
			}
		}
		rc = ms_client_connect(cl, cfg);
		if (rc != -ENOENT && rc != -ECONNREFUSED)
			return rc;
		nanosleep(&ts, NULL);
	}
	return rc;
}

void
ms_client_close(struct ms_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
}

static int
send_msg(struct ms_client *cl, const void *buf, int len)
{
	ssize_t n;

	if (len < 0)
		return len;
	do
		n = send(cl->fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* Receives messages until the reply with ID arrives. */
static int
recv_reply(struct ms_client *cl, uint64_t id, void *buf, size_t cap, struct ms_msg *msg)
{
	ssize_t n;
	int rc;

	for (;;) {
		do
			n = recv(cl->fd, buf, cap, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		rc = ms_proto_decode(buf, (size_t)n, msg);
		if (rc < 0)
			return rc;
		if (msg->hdr.id == id)
			return 0;
	}
}

/* One request of TYPE about an object, answered by MS_MSG_FILL_DONE: its status. */
static int
request_done(struct ms_client *cl, uint16_t type, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, char *err, size_t errlen)
{
	char buf[MS_MSG_MAX];
	struct ms_msg msg;
	uint64_t id = cl->next_id++;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	rc = send_msg(cl, buf, ms_proto_fill(buf, sizeof buf, type, id, mount, key, off, len, ino));
	if (rc == 0)
		rc = recv_reply(cl, id, buf, sizeof buf, &msg);
	if (rc < 0) {
		snprintf(err, errlen, "lost the modelshim daemon (%s)", strerror(-rc));
		return -EIO;
	}
	if (msg.hdr.type != MS_MSG_FILL_DONE) {
		snprintf(err, errlen, "unexpected reply %u from the daemon", msg.hdr.type);
		return -EIO;
	}
	if (msg.u.done.status < 0)
		snprintf(err, errlen, "%.*s", (int)msg.u.done.msg_len, msg.text);
	return msg.u.done.status;
}

int
ms_client_fill(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, char *err, size_t errlen)
{
	return request_done(cl, MS_MSG_FILL, mount, key, off, len, ino, err, errlen);
}

int
ms_client_verify(struct ms_client *cl, const char *mount, const char *key, uint64_t ino, char *err,
    size_t errlen)
{
	return request_done(cl, MS_MSG_VERIFY, mount, key, 0, 0, ino, err, errlen);
}

int
ms_client_prefetch(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino)
{
	char buf[MS_MSG_MAX];

	return send_msg(cl, buf, ms_proto_fill(buf, sizeof buf, MS_MSG_PREFETCH, cl->next_id++,
	    mount, key, off, len, ino));
}

int
ms_client_status(struct ms_client *cl, struct ms_msg_status_reply *out)
{
	char buf[MS_MSG_MAX];
	struct ms_msg msg;
	uint64_t id = cl->next_id++;
	int rc;

	rc = send_msg(cl, buf, ms_proto_status(buf, sizeof buf, id));
	if (rc == 0)
		rc = recv_reply(cl, id, buf, sizeof buf, &msg);
	if (rc < 0)
		return rc;
	if (msg.hdr.type != MS_MSG_STATUS_REPLY)
		return -EBADMSG;
	*out = msg.u.status;
	return 0;
}

int
ms_client_touch(struct ms_client *cl, const char *mount, const char *key, uint64_t ino)
{
	char buf[MS_MSG_MAX];

	return send_msg(cl, buf, ms_proto_fill(buf, sizeof buf, MS_MSG_TOUCH, cl->next_id++, mount,
	    key, 0, 0, ino));
}

int
ms_client_send_fill(struct ms_client *cl, uint32_t flags, const char *mount, const char *key,
    uint64_t off, uint64_t len, uint64_t ino, uint64_t *id)
{
	char buf[MS_MSG_MAX];

	*id = cl->next_id++;
	return send_msg(cl, buf, ms_proto_fill_flags(buf, sizeof buf, MS_MSG_FILL, *id, mount, key,
	    off, len, ino, flags));
}

int
ms_client_recv(struct ms_client *cl, void *buf, struct ms_msg *msg)
{
	ssize_t n;

	do
		n = recv(cl->fd, buf, MS_MSG_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	return ms_proto_decode(buf, (size_t)n, msg);
}

int
ms_client_gc(struct ms_client *cl, const struct ms_msg_gc *gc, const char *tenant,
    struct ms_msg_gc_done *out, char *text, size_t textlen)
{
	char buf[MS_MSG_MAX];
	struct ms_msg msg;
	uint64_t id = cl->next_id++;
	int rc;

	rc = send_msg(cl, buf, ms_proto_gc(buf, sizeof buf, id, gc, tenant));
	if (rc == 0)
		rc = recv_reply(cl, id, buf, sizeof buf, &msg);
	if (rc < 0)
		return rc;
	if (msg.hdr.type != MS_MSG_GC_DONE)
		return -EBADMSG;
	*out = msg.u.gc_done;
	snprintf(text, textlen, "%.*s", (int)msg.u.gc_done.msg_len, msg.text);
	return 0;
}
