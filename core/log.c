/*
 * log.c: formats log lines ("ident: message") to stderr, filtered by level.
 * Never exits or aborts; safe to call from any thread (one write(2) per line).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "modelshim";
static enum ms_log_level log_level = MS_LOG_INFO;

void
ms_log_init(const char *ident, enum ms_log_level level)
{
	log_ident = ident;
	log_level = level;
}

void
ms_log(enum ms_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof line, "%s: ", log_ident);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
