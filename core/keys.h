/*
 * keys.h: decides whether an object key from a listing may become a path in the cache tree
 * (invariant 8: listings are untrusted). Pure functions; never touches the file system.
 */
#ifndef MS_KEYS_H
#define MS_KEYS_H

#include <stddef.h>

enum ms_key_verdict {
	MS_KEY_OK,
	MS_KEY_DIR_MARKER,    /* "dir/": a folder placeholder, not a file */
	MS_KEY_EMPTY,
	MS_KEY_ABSOLUTE,      /* leading '/' */
	MS_KEY_EMPTY_COMPONENT,
	MS_KEY_DOT_COMPONENT, /* "." or ".." */
	MS_KEY_CONTROL_BYTE,  /* NUL, 0x01-0x1f, 0x7f */
	MS_KEY_NAME_TOO_LONG, /* a component over 255 bytes */
	MS_KEY_TOO_LONG,      /* the whole key over MS_KEY_PATH_MAX */
};

#define MS_KEY_PATH_MAX 1024

/* Classifies KEY (LEN bytes, may contain NUL). */
enum ms_key_verdict ms_key_check(const char *key, size_t len);

/* A short phrase for the report ("contains '..'"). */
const char *ms_key_verdict_str(enum ms_key_verdict v);

/* The order of objects across mounts: by mount index, then by key (strcmp): <0, 0 or >0. */
int ms_key_order(unsigned mount_a, const char *key_a, unsigned mount_b, const char *key_b);

#endif
