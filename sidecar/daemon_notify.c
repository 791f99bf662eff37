/*
 * daemon_notify.c: sd_notify for `modelshim daemon` in the foreground (systemd's ExecStart). A
 * daemon started with --detach by a client (the shim, inside some program's environment) never
 * speaks for that program's service: it ignores NOTIFY_SOCKET. The watchdog is fed at half the
 * interval systemd asks for, decided by the loop (a wedged loop stops feeding it), sent by a
 * thread of its own: sd_notify blocks while the receiver's queue is full, the loop must not.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#ifdef MS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Built without libsystemd (-DMS_SYSTEMD=OFF): nothing is ever sent, no watchdog runs. */
static int
sd_notify(int unset_environment, const char *state)
{
	(void)unset_environment, (void)state;
	return 0;
}

static int
sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
	(void)unset_environment, (void)usec;
	return 0;
}
#endif

#include "daemon.h"
#include "daemon_notify.h"
#include "log.h"

static bool notify_on;
static uint64_t watchdog_ms, watchdog_next_ms; /* 0: no watchdog */
static int watchdog_efd = -1;                  /* the loop -> the watchdog thread */

/* 0, or -errno of sd_notify (logged when QUIET is false). */
static int
notify_send(const char *state, bool quiet)
{
	int rc;

	if (!notify_on || (rc = sd_notify(0, state)) >= 0)
		return 0;
	if (!quiet)
		ms_warn("sd_notify %.*s: %s", (int)strcspn(state, "\n"), state, strerror(-rc));
	return rc;
}

void
daemon_notify(const char *state)
{
	(void)notify_send(state, false);
}

/* One WATCHDOG=1 per wake-up (pings asked for while one is being sent are merged); a failure
 * is logged once until a ping gets through again. */
static void *
watchdog_thread(void *arg)
{
	bool failing = false;
	uint64_t n;

	(void)arg;
	for (;;) {
		if (read(watchdog_efd, &n, sizeof n) != (ssize_t)sizeof n) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		failing = notify_send("WATCHDOG=1", failing) < 0;
	}
}

void
daemon_notify_init(bool foreground)
{
	pthread_t th;
	uint64_t usec = 0;
	int rc;

	notify_on = foreground && getenv("NOTIFY_SOCKET") != NULL;
	if (!notify_on || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	watchdog_efd = eventfd(0, EFD_CLOEXEC);
	if (watchdog_efd < 0) {
		ms_warn("watchdog: eventfd: %s", strerror(errno));
		return;
	}
	rc = pthread_create(&th, NULL, watchdog_thread, NULL);
	if (rc != 0) {
		ms_warn("watchdog: starting its thread: %s", strerror(rc));
		close(watchdog_efd);
		watchdog_efd = -1;
		return;
	}
	pthread_detach(th);
	watchdog_ms = usec / 2000 > 0 ? usec / 2000 : 1;
	ms_info("watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)watchdog_ms);
}

int
daemon_notify_timeout_ms(int timeout_ms)
{
	uint64_t now;

	if (watchdog_ms == 0)
		return timeout_ms;
	now = ms_now_ms();
	if (watchdog_next_ms <= now)
		return 0;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < watchdog_next_ms - now)
		return timeout_ms;
	return (int)(watchdog_next_ms - now);
}

void
daemon_notify_watchdog(void)
{
	uint64_t now, one = 1;

	if (watchdog_ms == 0 || (now = ms_now_ms()) < watchdog_next_ms)
		return;
	/* Never blocks: an eventfd's counter is far from overflowing. */
	if (write(watchdog_efd, &one, sizeof one) != (ssize_t)sizeof one)
		ms_warn("watchdog: %s", strerror(errno));
	watchdog_next_ms = now + watchdog_ms;
}
