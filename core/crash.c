/*
 * crash.c: crash points, for the crash tests (the SQLite way: a crash at a chosen step, not a
 * kill -9 that hopes to land there). MODELSHIM_CRASH_AT=NAME:N in the environment of the modelshim
 * binary (daemon, import) makes it SIGKILL itself the Nth time it passes the point NAME. Unset,
 * or never armed (the shim never arms it), a point costs one compare. Never does anything else.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "log.h"

#define CRASH_NAME_MAX 64

static char crash_name[CRASH_NAME_MAX];
static unsigned long crash_countdown;

void
ms_crash_init(void)
{
	const char *v = getenv("MODELSHIM_CRASH_AT");
	const char *colon;
	char *end;
	unsigned long n;

	if (v == NULL || (colon = strchr(v, ':')) == NULL || (size_t)(colon - v) >= sizeof crash_name)
		return;
	n = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || n == 0)
		return;
	memcpy(crash_name, v, (size_t)(colon - v));
	crash_name[colon - v] = '\0';
	crash_countdown = n;
	ms_warn("crash point armed: SIGKILL at the %lu%s pass of %s", n, n == 1 ? "st" : "th",
	    crash_name);
}

void
ms_crash_point(const char *name)
{
	if (crash_countdown == 0 || strcmp(name, crash_name) != 0 || --crash_countdown > 0)
		return;
	ms_warn("crash point %s reached: SIGKILL", name);
	kill(getpid(), SIGKILL);
}
