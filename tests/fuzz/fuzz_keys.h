/*
 * fuzz_keys.h: the rules of keys.h restated independently, for the fuzz targets that feed keys
 * to ms_key_check() (fuzz_s3_list, fuzz_proto). Test code only; never linked into modelshim.
 */
#ifndef MS_FUZZ_KEYS_H
#define MS_FUZZ_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

/* A relative path of 1-255 byte components, none empty, "." or "..", no NUL or control byte,
 * at most MS_KEY_PATH_MAX bytes: what ms_key_check() may call MS_KEY_OK. */
static inline bool
fuzz_key_is_safe(const char *key, size_t len)
{
	size_t i, start = 0;

	if (len == 0 || len > MS_KEY_PATH_MAX || key[0] == '/')
		return false;
	for (i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)key[i] : '/';
		size_t n = i - start;

		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch != '/')
			continue;
		if (n == 0 || n > 255 || (n == 1 && key[start] == '.') ||
		    (n == 2 && key[start] == '.' && key[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

#endif
