/*
 * client.c: talking to the daemon over its SOCK_SEQPACKET socket, and starting it when absent.
 * Never reads credentials and never writes to the cache. Errors come back as -errno with a
 * message; nothing here prints or exits the host program (it also runs inside host programs):
 * the only _exit calls end the go-between and the launcher, copies of the host made by clone()
 * to start the daemon, which must never return into the host's code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "client.h"

extern char **environ;

#define LAUNCH_STACK (64 * 1024)

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

/* What the children of spawn_daemon need: all of it prepared by the parent (no allocation there). */
struct daemon_launch {
	const char *exe;
	char **argv;
	int nullfd, logfd; /* both >= 3, close-on-exec */
	char *stack_top;   /* the launcher's stack (the go-between's is above it) */
};

/*
 * The launcher: drops the host's signal handlers and mask, and execs "modelshim daemon --detach"
 * (which forks the daemon and exits once that serves).
 */
static int
launcher(void *arg)
{
	const struct daemon_launch *l = arg;
	struct sigaction dfl;
	sigset_t none;
	int sig;

	setsid();
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (strchr(l->exe, '/') != NULL)
		execve(l->exe, l->argv, environ);
	else
		execvpe(l->exe, l->argv, environ);
	_exit(127);
}

/*
 * The go-between: the host's direct child, a clone that signals nobody when it exits and never
 * execs (an exec would make its exit signal SIGCHLD again). It starts the launcher as its own
 * child, waits for it and exits with its status. Every host signal stays blocked here.
 */
static int
go_between(void *arg)
{
	const struct daemon_launch *l = arg;
	int status;
	pid_t pid;

	/*
	 * First of all, the host's stdio is let go (anything printed from here on, a sanitizer's
	 * note on the stack switch say, goes to the daemon's log), and so are its pipes and sockets.
	 */
	if (dup2(l->nullfd, STDIN_FILENO) < 0 || dup2(l->logfd, STDOUT_FILENO) < 0 ||
	    dup2(l->logfd, STDERR_FILENO) < 0)
		_exit(127);
	close_range(STDERR_FILENO + 1, ~0u, 0);
	pid = clone(launcher, l->stack_top, SIGCHLD, arg);
	if (pid < 0)
		_exit(127);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

/* Opens PATH onto an fd >= 3 (the host may have closed 0-2), close-on-exec. */
static int
open_high(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC, mode), high;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd < 0 ? -errno : fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return high < 0 ? -errno : high;
}

/*
 * Starts "EXE daemon --config FILE --detach" through a go-between child that sends no signal when
 * it exits (a clone child: invisible to the host's wait() and SIGCHLD, reaped with __WCLONE by
 * ms_client_connect_or_start alone). Its exit status is the launcher's, which forks the daemon
 * and exits once it serves: neither the launcher nor the daemon is ever the host's child.
 */
static int
spawn_daemon(const struct ms_config *cfg, const char *exe, pid_t *pid)
{
	char logpath[MS_DIR_FILE_PATH_MAX];
	char *argv[] = { (char *)exe, (char *)"daemon", (char *)"--config", (char *)cfg->file,
		(char *)"--detach", NULL };
	struct daemon_launch l = { .exe = exe, .argv = argv, .nullfd = -1, .logfd = -1 };
	sigset_t all, old;
	void *stack;
	int rc;

	rc = ms_cache_init(cfg);
	if (rc == 0)
		rc = ms_cache_file_path(cfg, "daemon.log", logpath, sizeof logpath);
	if (rc < 0)
		return rc;
	if ((l.nullfd = open_high("/dev/null", O_RDONLY, 0)) < 0 ||
	    (l.logfd = open_high(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0) {
		rc = l.nullfd < 0 ? l.nullfd : l.logfd;
		goto out;
	}
	stack = mmap(NULL, 2 * LAUNCH_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
	    -1, 0);
	if (stack == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	/* No host signal handler may run in the child before it has reset them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	l.stack_top = (char *)stack + LAUNCH_STACK;
	*pid = clone(go_between, (char *)stack + 2 * LAUNCH_STACK, 0, &l);
	rc = *pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, 2 * LAUNCH_STACK);
out:
	if (l.nullfd >= 0)
		close(l.nullfd);
	if (l.logfd >= 0)
		close(l.logfd);
	return rc;
}

int
ms_client_connect_or_start(struct ms_client *cl, const struct ms_config *cfg, const char *exe)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	bool waiting = true;
	int rc, i, status;
	pid_t pid;

	rc = ms_client_connect(cl, cfg);
	if (rc != -ENOENT && rc != -ECONNREFUSED)
		return rc;
	rc = spawn_daemon(cfg, exe, &pid);
	if (rc < 0)
		return rc;
	/*
	 * The go-between exits with the status of "daemon --detach": once the daemon serves (0) or
	 * failed (1). It is reaped here in any case (only a wait with __WCLONE or __WALL sees it).
	 */
	for (i = 0; i < 500; i++) {
		if (waiting) {
			pid_t w = waitpid(pid, &status, __WCLONE | WNOHANG);

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
			break;
		nanosleep(&ts, NULL);
	}
	/* The go-between is waited for until it exits (once the daemon serves or gave up). */
	while (waiting && waitpid(pid, &status, __WCLONE) < 0 && errno == EINTR)
		;
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

/* Receives messages into BUF (MS_MSG_MAX bytes) until the reply with ID arrives. */
static int
recv_reply(struct ms_client *cl, uint64_t id, void *buf, struct ms_msg *msg)
{
	int rc;

	do
		rc = ms_client_recv(cl, buf, msg);
	while (rc == 0 && msg->hdr.id != id);
	return rc;
}

/*
 * Receives the reply with ID to a fill that may come as its bytes (MS_MSG_FILL_BYTES): those go
 * straight into DST (CAP bytes of room), the rest of the message into HEAD. Any other message is
 * received as ms_client_recv does. Its head is looked at first (MSG_PEEK) to know which.
 */
static int
recv_fill_reply(struct ms_client *cl, uint64_t id, void *buf, struct ms_msg *msg, void *dst,
    size_t cap)
{
	char head[MS_FILL_BYTES_HEAD];
	struct ms_msg_hdr h = { 0 };
	struct iovec iov[2] = { { head, sizeof head }, { dst, cap } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;
	int rc;

	for (;;) {
		do
			n = recv(cl->fd, head, sizeof head, MSG_PEEK);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		memcpy(&h, head, (size_t)n < sizeof h ? (size_t)n : sizeof h);
		if ((size_t)n >= sizeof h && h.type == MS_MSG_FILL_BYTES && h.id != id) {
			/* Bytes for an earlier request: dropped whole (a packet read short is gone). */
			if (recv(cl->fd, head, 1, 0) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if ((size_t)n < sizeof h || h.type != MS_MSG_FILL_BYTES) {
			rc = ms_client_recv(cl, buf, msg);
			if (rc < 0 || msg->hdr.id == id)
				return rc;
			continue;
		}
		do
			n = recvmsg(cl->fd, &mh, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if ((mh.msg_flags & MSG_TRUNC) != 0)
			return -EBADMSG;
		return ms_proto_decode_fill_bytes(head, (size_t)n, msg);
	}
}

/*
 * One request of TYPE about an object, answered by MS_MSG_FILL_DONE: its status. A read's fill
 * with a DST may be answered with its bytes instead: MS_CLIENT_BYTES, their count in *GOT.
 */
static int
request_done(struct ms_client *cl, uint16_t type, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, uint32_t flags, void *dst, size_t *got, char *err, size_t errlen)
{
	char buf[MS_MSG_MAX];
	struct ms_msg msg;
	uint64_t id = cl->next_id++;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if (dst != NULL && len > 0 && len <= MS_FILL_BYTES_MAX && (flags & MS_FILL_RANGE) != 0)
		flags |= MS_FILL_BYTES;
	else
		flags &= ~MS_FILL_BYTES;
	rc = send_msg(cl, buf, ms_proto_fill_flags(buf, sizeof buf, type, id, mount, key, off, len,
	    ino, flags));
	if (rc == 0)
		rc = (flags & MS_FILL_BYTES) != 0 ? recv_fill_reply(cl, id, buf, &msg, dst, len) :
		    recv_reply(cl, id, buf, &msg);
	if (rc == -EFAULT && (flags & MS_FILL_BYTES) != 0) {
		/* The bytes came, into a buffer the caller cannot write: its read's own error. */
		snprintf(err, errlen, "the read's buffer is not writable");
		return -EFAULT;
	}
	if (rc < 0) {
		snprintf(err, errlen, "lost the modelshim daemon (%s)", strerror(-rc));
		return MS_CLIENT_LOST;
	}
	if (msg.hdr.type == MS_MSG_FILL_BYTES) {
		/* Only the bytes asked for, from where they were asked (never more than DST holds). */
		if (msg.u.bytes.off != off || msg.u.bytes.len == 0 || msg.u.bytes.len > len) {
			snprintf(err, errlen, "the daemon answered with bytes not asked for");
			return -EIO;
		}
		*got = msg.u.bytes.len;
		return MS_CLIENT_BYTES;
	}
	if (msg.hdr.type != MS_MSG_FILL_DONE) {
		snprintf(err, errlen, "unexpected reply %u from the daemon", msg.hdr.type);
		return -EIO;
	}
	if (msg.u.done.status < 0)
		snprintf(err, errlen, "%.*s", (int)msg.u.done.msg_len, msg.text);
	/* The daemon's own answers never read as a lost connection, nor a range unasked for as one. */
	if (msg.u.done.status == MS_CLIENT_LOST ||
	    (msg.u.done.status > 0 && (msg.u.done.status != MS_FILL_RANGE_READY ||
	    (flags & MS_FILL_RANGE) == 0))) {
		if (msg.u.done.status > 0)
			snprintf(err, errlen, "unexpected answer %d from the daemon", msg.u.done.status);
		return -EIO;
	}
	return msg.u.done.status;
}

int
ms_client_fill(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, uint32_t flags, char *err, size_t errlen)
{
	return request_done(cl, MS_MSG_FILL, mount, key, off, len, ino, flags, NULL, NULL, err,
	    errlen);
}

int
ms_client_fill_read(struct ms_client *cl, const char *mount, const char *key, uint64_t off,
    uint64_t len, uint64_t ino, uint32_t flags, void *dst, size_t *got, char *err, size_t errlen)
{
	return request_done(cl, MS_MSG_FILL, mount, key, off, len, ino, flags, dst, got, err,
	    errlen);
}

int
ms_client_verify(struct ms_client *cl, const char *mount, const char *key, uint64_t ino, char *err,
    size_t errlen)
{
	return request_done(cl, MS_MSG_VERIFY, mount, key, 0, 0, ino, 0, NULL, NULL, err, errlen);
}

int
ms_client_lookup(struct ms_client *cl, const char *mount, const char *key, char *err,
    size_t errlen)
{
	return request_done(cl, MS_MSG_LOOKUP, mount, key, 0, 0, 0, 0, NULL, NULL, err, errlen);
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
		rc = recv_reply(cl, id, buf, &msg);
	if (rc < 0)
		return rc;
	if (msg.hdr.type != MS_MSG_STATUS_REPLY)
		return -EBADMSG;
	*out = msg.u.status;
	return 0;
}

int
ms_client_creds(struct ms_client *cl, struct ms_msg_creds_reply *out)
{
	char buf[MS_MSG_MAX];
	struct ms_msg msg;
	uint64_t id = cl->next_id++;
	int rc;

	rc = send_msg(cl, buf, ms_proto_creds(buf, sizeof buf, id));
	if (rc == 0)
		rc = recv_reply(cl, id, buf, &msg);
	if (rc < 0)
		return rc;
	if (msg.hdr.type != MS_MSG_CREDS_REPLY)
		return -EBADMSG;
	*out = msg.u.creds;
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
		rc = recv_reply(cl, id, buf, &msg);
	if (rc < 0)
		return rc;
	if (msg.hdr.type != MS_MSG_GC_DONE)
		return -EBADMSG;
	*out = msg.u.gc_done;
	snprintf(text, textlen, "%.*s", (int)msg.u.gc_done.msg_len, msg.text);
	return 0;
}
