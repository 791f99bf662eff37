/*
 * config_value.c: the grammars of config values that other code parses too: unsigned decimals,
 * sizes, durations, endpoints. Pure functions of their arguments: no I/O, no allocation, never
 * prints; what is wrong goes back to the caller.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int
ms_parse_u64(const char *s, uint64_t *out, const char **end)
{
	unsigned long long v;
	char *e;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno)
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

int
ms_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	unsigned shift = 0;
	uint64_t n;

	if (!s || ms_parse_u64(s, &n, &end))
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	}
	if (shift)
		end++;
	if (end[0] == 'B')
		end++;
	else if (shift && end[0] == 'i' && end[1] == 'B')
		end += 2;
	if (*end || n > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = n << shift;
	return 0;
}

int
ms_parse_duration_ms(const char *s, unsigned *out)
{
	const char *end;
	uint64_t n, mult;

	if (!s || ms_parse_u64(s, &n, &end))
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60 * 1000;
	else if (!strcmp(end, "h"))
		mult = 3600 * 1000;
	else
		return -EINVAL;
	if (n > UINT_MAX / mult)
		return -EINVAL;
	*out = (unsigned)(n * mult);
	return 0;
}

/* Says in WHY what is wrong with a value parsed outside a struct parse; returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
why_bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int
ms_config_endpoint(const char *v, char *out, size_t outlen, char *why, size_t whylen)
{
	const char *h, *end, *s, *pend;
	size_t len = strlen(v);
	uint64_t port;

	if (!strncmp(v, "http://", 7))
		h = v + 7;
	else if (!strncmp(v, "https://", 8))
		h = v + 8;
	else
		return why_bad(why, whylen, "'%.64s' must start with http:// or https://", v);
	while (len > (size_t)(h - v) && v[len - 1] == '/')
		len--;
	end = v + len;
	s = h;
	if (*s == '[') {
		while (++s < end && (isxdigit((unsigned char)*s) || *s == ':' || *s == '.'))
			;
		if (s == end || *s != ']' || s == h + 1)
			return why_bad(why, whylen, "'%.64s': bad [IPv6] host", v);
		s++;
	} else {
		while (s < end && (isalnum((unsigned char)*s) || *s == '.' || *s == '-'))
			s++;
	}
	if (s == h)
		return why_bad(why, whylen, "'%.64s' has no host", v);
	if (s < end && *s == ':') {
		if (ms_parse_u64(s + 1, &port, &pend) || pend != end || port < 1 || port > 65535)
			return why_bad(why, whylen, "'%.64s': port must be 1 to 65535", v);
		s = end;
	}
	if (s != end)
		return why_bad(why, whylen, "'%.64s' must be http[s]://HOST[:PORT], with no path", v);
	if (len >= outlen)
		return why_bad(why, whylen, "too long (max %zu characters)", outlen - 1);
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}
