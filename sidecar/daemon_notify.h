/*
 * daemon_notify.h: `modelshim daemon` under systemd (Type=notify): READY=1, WATCHDOG=1,
 * STOPPING=1 through libsystemd's sd_notify. No-ops when built without libsystemd, when
 * NOTIFY_SOCKET is unset, and in a daemon started with --detach.
 */
#ifndef MS_DAEMON_NOTIFY_H
#define MS_DAEMON_NOTIFY_H

#include <stdbool.h>

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC once; FOREGROUND: not started with --detach. Call it
 * after the signals are blocked (its watchdog thread inherits the mask). */
void daemon_notify_init(bool foreground);
/* Sends STATE ("READY=1", "STOPPING=1") now, from the calling thread. */
void daemon_notify(const char *state);
/* The loop's wait in ms (-1: none), shortened to when the watchdog is next due. */
int daemon_notify_timeout_ms(int timeout_ms);
/* From the loop after each wait: when due, has WATCHDOG=1 sent without blocking the loop. */
void daemon_notify_watchdog(void);

#endif
