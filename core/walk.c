/*
 * walk.c: depth-first visit of a cache tree or state dir (walk.h). The path and the key are each
 * built in one buffer and checked for truncation; entries that are neither regular files nor dirs
 * (symlinks included) go to the optional `other` callback. Never writes: removing is the
 * callbacks' business.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "keys.h"
#include "walk.h"

struct walk {
	const struct ms_walk_ops *ops;
	void *arg;
	char path[2 * MS_PATH_MAX + MS_KEY_PATH_MAX + 64];
	char key[MS_KEY_PATH_MAX + 2];
};

/* W->path (PLEN bytes) is a directory whose key is W->key (KLEN bytes). */
static int
walk_dir(struct walk *w, size_t plen, size_t klen, int depth)
{
	struct dirent *de;
	struct stat st;
	size_t n, kn, sep;
	DIR *dir;
	int rc = 0;

	/* Keys have a bounded number of components: anything deeper was not made by import. */
	if (depth > MS_KEY_PATH_MAX / 2)
		return 0;
	if ((dir = opendir(w->path)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = strlen(de->d_name);
		sep = klen > 0 ? 1 : 0; /* the key of DIR's own entries has no leading '/' */
		kn = klen + sep + n;
		if (plen + 1 + n >= sizeof w->path || kn >= sizeof w->key)
			continue;
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, de->d_name, n + 1);
		memcpy(w->key + klen, "/", sep);
		memcpy(w->key + klen + sep, de->d_name, n + 1);
		if (lstat(w->path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, plen + 1 + n, kn, depth + 1);
			if (rc == 0 && w->ops->dir_done != NULL)
				rc = w->ops->dir_done(w->arg, w->path, w->key);
		} else if (S_ISREG(st.st_mode)) {
			rc = w->ops->file(w->arg, w->path, w->key);
		} else if (w->ops->other != NULL) {
			rc = w->ops->other(w->arg, w->path, w->key);
		}
	}
	w->path[plen] = '\0';
	w->key[klen] = '\0';
	closedir(dir);
	return rc;
}

int
ms_walk(const char *dir, const char *prefix, const struct ms_walk_ops *ops, void *arg)
{
	struct walk w;
	size_t plen = strlen(dir), klen = strlen(prefix);

	if (plen + 2 >= sizeof w.path || klen + 2 >= sizeof w.key)
		return -ENAMETOOLONG;
	w.ops = ops;
	w.arg = arg;
	memcpy(w.path, dir, plen + 1);
	memcpy(w.key, prefix, klen + 1);
	return walk_dir(&w, plen, klen, 0);
}

int
ms_walk_maps(const char *dir, int (*fn)(void *arg, const char *path, const char *key), void *arg)
{
	const struct ms_walk_ops ops = { .file = fn };

	return ms_walk(dir, "", &ops, arg);
}
