/*
 * keys.c: validation of object keys before they become cache paths, and the order of objects
 * (mount, then key). Rejects anything that could escape the tenant tree or confuse a path walk;
 * accepts every other byte (UTF-8, spaces, '+', '%', a leading '-'). Never allocates, never
 * touches the file system.
 */
#include <stdbool.h>
#include <string.h>

#include "keys.h"

static enum ms_key_verdict
check_component(const char *c, size_t n)
{
	if (n == 0)
		return MS_KEY_EMPTY_COMPONENT;
	if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return MS_KEY_DOT_COMPONENT;
	if (n > 255)
		return MS_KEY_NAME_TOO_LONG;
	return MS_KEY_OK;
}

enum ms_key_verdict
ms_key_check(const char *key, size_t len)
{
	enum ms_key_verdict v;
	size_t i, start = 0;

	if (len == 0)
		return MS_KEY_EMPTY;
	if (key[0] == '/')
		return MS_KEY_ABSOLUTE;
	if (len > MS_KEY_PATH_MAX)
		return MS_KEY_TOO_LONG;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (ch < 0x20 || ch == 0x7f)
			return MS_KEY_CONTROL_BYTE;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		if (i == len && start == len && len > 0 && key[len - 1] == '/')
			return MS_KEY_DIR_MARKER;
		v = check_component(key + start, i - start);
		if (v != MS_KEY_OK)
			return v;
		start = i + 1;
	}
	return MS_KEY_OK;
}

const char *
ms_key_verdict_str(enum ms_key_verdict v)
{
	switch (v) {
	case MS_KEY_OK: return "ok";
	case MS_KEY_DIR_MARKER: return "folder marker";
	case MS_KEY_EMPTY: return "empty key";
	case MS_KEY_ABSOLUTE: return "starts with '/'";
	case MS_KEY_EMPTY_COMPONENT: return "has an empty path component ('//')";
	case MS_KEY_DOT_COMPONENT: return "has a '.' or '..' component";
	case MS_KEY_CONTROL_BYTE: return "contains a NUL or control byte";
	case MS_KEY_NAME_TOO_LONG: return "has a component over 255 bytes";
	case MS_KEY_TOO_LONG: return "is over 1024 bytes";
	}
	return "invalid";
}

int
ms_key_order(unsigned mount_a, const char *key_a, unsigned mount_b, const char *key_b)
{
	if (mount_a != mount_b)
		return mount_a < mount_b ? -1 : 1;
	return strcmp(key_a, key_b);
}
