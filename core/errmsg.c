/*
 * errmsg.c: ms_errf, the one formatter of the error texts handed back through "err, errlen".
 * Never logs and never allocates: safe inside the shim and on any thread.
 */
#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

void
ms_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
