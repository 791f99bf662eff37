/*
 * walk.h: visiting every map under a mount's state dir, with the object key each one belongs
 * to. Read-only; never follows a symlink; depth bounded by the key rules (keys.h).
 */
#ifndef MS_WALK_H
#define MS_WALK_H

/*
 * Calls FN(ARG, PATH, KEY) for each regular file below DIR (PATH its full path, KEY the part
 * after DIR/), stopping at FN's first non-zero return, which it returns. A missing DIR is empty.
 */
int ms_walk_maps(const char *dir, int (*fn)(void *arg, const char *path, const char *key),
    void *arg);

#endif
