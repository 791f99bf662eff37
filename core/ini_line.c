/*
 * ini_line.c: reading one INI line for inih (ini_line.h), and the line limit inih takes from a
 * global, widened once at load time while the process is still single-threaded. Never keeps or
 * logs a line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "ini_line.h"

__attribute__((constructor)) static void
ini_line_init(void)
{
	if (ini_max_line < MS_INI_LINE_MAX)
		ini_max_line = MS_INI_LINE_MAX;
}

int
ms_ini_read_line(FILE *f, int *lineno, char *buf, int num, char *why, size_t whylen)
{
	size_t n = 0, lead;
	int c;

	if (num < 3) {
		snprintf(why, whylen, "line buffer too small");
		return -EINVAL;
	}
	while ((c = getc(f)) != EOF) {
		if (c == '\0') {
			snprintf(why, whylen, "NUL byte in line");
			return -EINVAL;
		}
		if (n + 2 > (size_t)num) {
			snprintf(why, whylen, "line too long (max %d characters)", num - 2);
			return -EINVAL;
		}
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "read error");
		return -EIO;
	}
	if (n == 0)
		return 0;
	buf[n] = '\0';
	(*lineno)++;
	if (*lineno == 1 && strncmp(buf, "\xEF\xBB\xBF", 3) == 0)
		memmove(buf, buf + 3, n - 2);
	lead = 0;
	while (isspace((unsigned char)buf[lead]))
		lead++;
	memmove(buf, buf + lead, strlen(buf + lead) + 1);
	return 1;
}
