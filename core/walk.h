/*
 * walk.h: the one walker over a cache dir's trees (tree/ and state/ of a mount): every regular
 * file below a directory, with its key, depth first. Never follows a symlink; depth bounded by
 * the key rules (keys.h). It changes nothing itself: a caller's callbacks may remove what they
 * are shown.
 */
#ifndef MS_WALK_H
#define MS_WALK_H

struct ms_walk_ops {
	/* Each regular file: PATH its full path, KEY the part after DIR/ (after PREFIX/ if given). */
	int (*file)(void *arg, const char *path, const char *key);
	/* Optional: each directory below DIR once its entries are done (post-order). */
	int (*dir_done)(void *arg, const char *path, const char *key);
	/* Optional: each entry that is neither a regular file nor a directory (a symlink, say). */
	int (*other)(void *arg, const char *path, const char *key);
};

/*
 * Walks DIR, calling OPS for what it finds, and stops at the first non-zero callback return,
 * which it returns; -errno if DIR or a directory below it cannot be read (a missing DIR is
 * empty). Keys start with PREFIX and a '/' when PREFIX is not "" (a subdirectory of a tree).
 * Names that would make a key longer than any import accepts are skipped.
 */
int ms_walk(const char *dir, const char *prefix, const struct ms_walk_ops *ops, void *arg)
	__attribute__((warn_unused_result));

/* ms_walk of every file below DIR with no prefix: each map of a state dir, say. */
int ms_walk_maps(const char *dir, int (*fn)(void *arg, const char *path, const char *key),
    void *arg);

#endif
