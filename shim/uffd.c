/*
 * uffd.c: the process's userfaultfd (full, never UFFD_USER_MODE_ONLY: the kernel's own accesses
 * to a lazy mapping must wait for the fill too) and the thread that serves its faults. The thread
 * turns each fault into fills (lazymap.c decides which), asks the daemon for them pipelined on a
 * connection of its own, and hands each answer back to lazymap.c, which maps and wakes. When the
 * daemon goes away it reconnects (starting one, as the shim does for reads), and fails the
 * waiting chunks with SIGBUS once none has served for [cache] timeout. The thread blocks every
 * signal and never calls malloc, stdio, or takes a lock the program could hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "lazymap.h"
#include "shim.h"

#define MAX_PENDING 4096       /* fills asked for and not answered yet */
#define FAULT_BATCH 16         /* fault messages read at once */
#define FILLS_PER_FAULT 18     /* the chunk, its piece and its readahead (lazymap.c's window is 16) */
#define RECONNECT_PAUSE_MS 50
#define DAEMON_START_INTERVAL_MS 2000
#define DEFAULT_TIMEOUT_MS 30000

struct pending {
	uint64_t id; /* 0: not sent on the current connection */
	struct lazy_fill fill;
};

static int uffd = -1, sigbus_fd = -1;
static atomic_int uffd_state; /* 0: not tried yet, 1: running, -1: unavailable here */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* The handler thread's alone (reset in a fork child, where that thread does not exist). */
static struct ms_client hcl = { .fd = -1 };
static bool connected;
static uint64_t lost_at_ms, last_start_ms;
static struct pending pending[MAX_PENDING];
static unsigned npending;

int
shim_uffd_sigbus_fd(void)
{
	return sigbus_fd;
}

int
shim_uffd_register(void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return -errno;
	if ((reg.ioctls & (1ULL << _UFFDIO_WAKE)) == 0) {
		struct uffdio_range r = reg.range;

		ioctl(uffd, UFFDIO_UNREGISTER, &r);
		return -ENOTSUP;
	}
	return 0;
}

void
shim_uffd_wake(void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	if (uffd >= 0)
		ioctl(uffd, UFFDIO_WAKE, &r);
}

static void
drop_connection(void)
{
	unsigned i;

	if (connected)
		ms_client_close(&hcl);
	connected = false;
	for (i = 0; i < npending; i++)
		pending[i].id = 0;
}

/* Connects, starting a daemon if none answers (not more often than every 2 s). */
static bool
try_connect(void)
{
	uint64_t now = ms_now_ms();
	int rc;

	if (connected)
		return true;
	rc = ms_client_connect(&hcl, &shim.cfg);
	if ((rc == -ENOENT || rc == -ECONNREFUSED) && now - last_start_ms >= DAEMON_START_INTERVAL_MS) {
		last_start_ms = now;
		rc = ms_client_connect_or_start(&hcl, &shim.cfg, shim.daemon_exe);
	}
	connected = rc == 0;
	if (connected)
		lost_at_ms = 0;
	else if (lost_at_ms == 0)
		lost_at_ms = now;
	return connected;
}

static void
forget_pending(unsigned i)
{
	pending[i] = pending[--npending];
}

/* Sends every fill not sent on this connection yet. */
static void
send_pending(void)
{
	struct lazy_request req;
	unsigned i = 0;

	if (npending == 0 || !try_connect())
		return;
	while (i < npending) {
		if (pending[i].id != 0) {
			i++;
			continue;
		}
		if (shim_lazy_request(&pending[i].fill, &req) < 0) {
			forget_pending(i);
			continue;
		}
		if (ms_client_send_fill(&hcl, req.flags, shim.cfg.mounts[req.mount].name,
		    req.key, req.off, req.len, req.ino, &pending[i].id) < 0) {
			drop_connection();
			lost_at_ms = ms_now_ms();
			return;
		}
		i++;
	}
}

static void
read_faults(void)
{
	struct uffd_msg msgs[FAULT_BATCH];
	struct lazy_fill fills[FILLS_PER_FAULT];
	unsigned i, k, nf, room;
	ssize_t n;

	n = read(uffd, msgs, sizeof msgs);
	if (n <= 0)
		return;
	for (i = 0; i < (size_t)n / sizeof msgs[0]; i++) {
		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		room = MAX_PENDING - npending;
		nf = shim_lazy_fault((uintptr_t)msgs[i].arg.pagefault.address, fills,
		    room < FILLS_PER_FAULT ? room : FILLS_PER_FAULT);
		for (k = 0; k < nf; k++)
			pending[npending++] = (struct pending){ 0, fills[k] };
	}
	send_pending();
}

static void
read_reply(void)
{
	char buf[MS_MSG_MAX], err[512];
	struct ms_msg msg;
	unsigned i;

	if (ms_client_recv(&hcl, buf, &msg) < 0) {
		drop_connection();
		lost_at_ms = ms_now_ms();
		return;
	}
	if (msg.hdr.type != MS_MSG_FILL_DONE)
		return;
	for (i = 0; i < npending; i++) {
		if (pending[i].id != msg.hdr.id)
			continue;
		snprintf(err, sizeof err, "%.*s", (int)msg.u.done.msg_len, msg.text);
		shim_lazy_done(&pending[i].fill, msg.u.done.status, err);
		forget_pending(i);
		return;
	}
}

/* No daemon serves: connect again, or once [cache] timeout has passed fail what waits. */
static void
reconnect(void)
{
	unsigned timeout = shim.cfg.timeout_ms ? shim.cfg.timeout_ms : DEFAULT_TIMEOUT_MS;
	char err[256];

	send_pending();
	if (connected || npending == 0 || ms_now_ms() - lost_at_ms < timeout)
		return;
	snprintf(err, sizeof err, "lost the modelshim daemon of %s and no new one served within %u ms "
	    "(see %s/daemon.log)", shim.cfg.cache_dir, timeout, shim.cfg.cache_dir);
	while (npending > 0) {
		shim_lazy_done(&pending[0].fill, -EIO, err);
		forget_pending(0);
	}
	lost_at_ms = 0;
}

static void *
handler_main(void *arg)
{
	struct pollfd pfd[2];

	shim_busy++;
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = uffd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = connected ? hcl.fd : -1, .events = POLLIN };
		if (poll(pfd, 2, npending > 0 && !connected ? RECONNECT_PAUSE_MS : -1) < 0 &&
		    errno != EINTR)
			continue;
		if ((pfd[0].revents & POLLIN) != 0)
			read_faults();
		if (connected && pfd[1].revents != 0)
			read_reply();
		if (npending > 0 && !connected)
			reconnect();
	}
	return arg;
}

/* The userfaultfd, its API handshake, the SIGBUS memfd and the handler thread. */
static bool
start_locked(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	sigset_t all, old;
	pthread_t th;
	int rc;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return false; /* EPERM: vm.unprivileged_userfaultfd = 0 and no CAP_SYS_PTRACE */
	if (ioctl(uffd, UFFDIO_API, &api) < 0 || (api.ioctls & (1ULL << _UFFDIO_REGISTER)) == 0)
		goto fail;
	if (sigbus_fd < 0)
		sigbus_fd = (int)syscall(SYS_memfd_create, "modelshim-sigbus", MFD_CLOEXEC);
	if (sigbus_fd < 0)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&th, NULL, handler_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	pthread_detach(th);
	return true;
fail:
	REAL(close)(uffd);
	uffd = -1;
	return false;
}

bool
shim_uffd_start(void)
{
	int st = atomic_load(&uffd_state);

	if (st != 0)
		return st > 0;
	pthread_mutex_lock(&start_lock);
	if (atomic_load(&uffd_state) == 0)
		atomic_store(&uffd_state, start_locked() ? 1 : -1);
	pthread_mutex_unlock(&start_lock);
	return atomic_load(&uffd_state) > 0;
}

void
shim_uffd_forked(void)
{
	if (uffd >= 0)
		REAL(close)(uffd);
	uffd = -1;
	if (connected)
		REAL(close)(hcl.fd);
	hcl.fd = -1;
	connected = false;
	npending = 0;
	lost_at_ms = 0;
	pthread_mutex_init(&start_lock, NULL);
	atomic_store(&uffd_state, 0);
}
