/*
 * walk.c: depth-first visit of a state dir (walk.h). Paths are built in one buffer and checked
 * for truncation; entries that are neither regular files nor dirs (symlinks included) are
 * skipped. Never writes.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "keys.h"
#include "walk.h"

struct walk {
	int (*fn)(void *, const char *, const char *);
	void *arg;
	size_t keyoff; /* where the key starts in path */
	char path[2 * MS_PATH_MAX + 64];
};

static int
walk_dir(struct walk *w, size_t len, int depth)
{
	struct dirent *de;
	struct stat st;
	size_t n;
	DIR *dir;
	int rc = 0;

	/* Keys have a bounded number of components: anything deeper was not made by import. */
	if (depth > MS_KEY_PATH_MAX / 2 || (dir = opendir(w->path)) == NULL)
		return 0;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = strlen(de->d_name);
		if (len + 1 + n >= sizeof w->path)
			continue;
		w->path[len] = '/';
		memcpy(w->path + len + 1, de->d_name, n + 1);
		if (lstat(w->path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = walk_dir(w, len + 1 + n, depth + 1);
		else if (S_ISREG(st.st_mode))
			rc = w->fn(w->arg, w->path, w->path + w->keyoff);
	}
	w->path[len] = '\0';
	closedir(dir);
	return rc;
}

int
ms_walk_maps(const char *dir, int (*fn)(void *arg, const char *path, const char *key), void *arg)
{
	struct walk w;
	size_t len = strlen(dir);

	if (len + 2 >= sizeof w.path)
		return 0;
	w.fn = fn;
	w.arg = arg;
	memcpy(w.path, dir, len + 1);
	w.keyoff = len + 1;
	return walk_dir(&w, len, 0);
}
