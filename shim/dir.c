/*
 * dir.c: directory listing on virtual paths: opendir/closedir (the directory fd is tracked for
 * dirfd-relative calls), scandir, and the tree walkers glibc runs on internal calls we cannot see
 * (nftw, ftw, glob), which are pointed at the cache tree with every path they report rewritten
 * back to its virtual form. Relative walks under a virtual cwd need nothing: the real cwd is
 * the tree directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

SHIM_EXPORT DIR *
opendir(const char *path)
{
	struct shim_path p;
	DIR *d;
	int c = shim_active() ? shim_classify(AT_FDCWD, path, &p) : 0;

	if (c <= 0)
		return c < 0 ? NULL : REAL(opendir)(path);
	d = REAL(opendir)(p.tree);
	if (d != NULL) {
		shim_busy++;
		shim_track_open(dirfd(d), &p);
		shim_busy--;
	}
	return d;
}

SHIM_EXPORT int
closedir(DIR *d)
{
	if (shim_active())
		shim_fd_forget(dirfd(d));
	return REAL(closedir)(d);
}

SHIM_EXPORT int
scandir(const char *path, struct dirent ***list, int (*filter)(const struct dirent *),
    int (*compar)(const struct dirent **, const struct dirent **))
{
	struct shim_path p;
	int c = shim_active() ? shim_classify(AT_FDCWD, path, &p) : 0;

	if (c < 0)
		return -1;
	return REAL(scandir)(c ? p.tree : path, list, filter, compar);
}

SHIM_EXPORT int
scandir64(const char *path, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
    int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	struct shim_path p;
	int c = shim_active() ? shim_classify(AT_FDCWD, path, &p) : 0;

	if (c < 0)
		return -1;
	return REAL(scandir64)(c ? p.tree : path, list, filter, compar);
}

/* The user's callback of the walk running on this thread (walks may nest: saved and restored). */
static __thread __nftw_func_t walk_nftw_fn;
static __thread __ftw_func_t walk_ftw_fn;

/* FPATH rewritten to virtual in BUF; *SHIFT is how much longer (or shorter) it got. */
static const char *
walk_path(const char *fpath, char *buf, size_t cap, int *shift)
{
	*shift = 0;
	if (strlcpy(buf, fpath, cap) >= cap || !shim_untranslate(buf, cap))
		return fpath;
	*shift = (int)strlen(buf) - (int)strlen(fpath);
	return buf;
}

static int
nftw_tramp(const char *fpath, const struct stat *sb, int type, struct FTW *ftwbuf)
{
	char buf[PATH_MAX];
	struct FTW f = *ftwbuf;
	struct stat st;
	const char *vpath;
	int shift;

	vpath = walk_path(fpath, buf, sizeof buf, &shift);
	f.base += shift;
	if (sb != NULL) {
		st = *sb;
		shim_fix_stat(&st);
	}
	return walk_nftw_fn(vpath, sb != NULL ? &st : NULL, type, &f);
}

static int
ftw_tramp(const char *fpath, const struct stat *sb, int type)
{
	char buf[PATH_MAX];
	struct stat st;
	int shift;

	if (sb != NULL) {
		st = *sb;
		shim_fix_stat(&st);
	}
	return walk_ftw_fn(walk_path(fpath, buf, sizeof buf, &shift), sb != NULL ? &st : NULL, type);
}

SHIM_EXPORT int
nftw(const char *path, __nftw_func_t fn, int nopenfd, int flags)
{
	__nftw_func_t saved = walk_nftw_fn;
	struct shim_path p;
	int c = shim_active() ? shim_classify(AT_FDCWD, path, &p) : 0, rc;

	if (c <= 0)
		return c < 0 ? -1 : REAL(nftw)(path, fn, nopenfd, flags);
	walk_nftw_fn = fn;
	rc = REAL(nftw)(p.tree, nftw_tramp, nopenfd, flags);
	walk_nftw_fn = saved;
	return rc;
}

SHIM_EXPORT int
nftw64(const char *path, __nftw64_func_t fn, int nopenfd, int flags)
{
	/* struct stat64 and struct stat are one layout on x86-64. */
	return nftw(path, (__nftw_func_t)fn, nopenfd, flags);
}

SHIM_EXPORT int
ftw(const char *path, __ftw_func_t fn, int nopenfd)
{
	__ftw_func_t saved = walk_ftw_fn;
	struct shim_path p;
	int c = shim_active() ? shim_classify(AT_FDCWD, path, &p) : 0, rc;

	if (c <= 0)
		return c < 0 ? -1 : REAL(ftw)(path, fn, nopenfd);
	walk_ftw_fn = fn;
	rc = REAL(ftw)(p.tree, ftw_tramp, nopenfd);
	walk_ftw_fn = saved;
	return rc;
}

SHIM_EXPORT int
ftw64(const char *path, __ftw64_func_t fn, int nopenfd)
{
	return ftw(path, (__ftw_func_t)fn, nopenfd);
}

/* Rewrites the matches glob added (from FIRST on) to virtual paths. */
static int
glob_untranslate(glob_t *g, size_t first)
{
	char buf[PATH_MAX];
	size_t i;

	for (i = first; i < g->gl_pathc; i++) {
		char **slot = &g->gl_pathv[g->gl_offs + i], *v;

		if (strlcpy(buf, *slot, sizeof buf) >= sizeof buf || !shim_untranslate(buf, sizeof buf))
			continue;
		v = strdup(buf);
		if (v == NULL)
			return GLOB_NOSPACE;
		free(*slot);
		*slot = v;
	}
	return 0;
}

SHIM_EXPORT int
glob(const char *pattern, int flags, int (*errfn)(const char *, int), glob_t *g)
{
	size_t before = (flags & GLOB_APPEND) != 0 ? g->gl_pathc : 0;
	struct shim_path p;
	int c, rc;

	/* Relative patterns under a virtual cwd already run in the tree and match relative names. */
	c = shim_active() && pattern != NULL && pattern[0] == '/' ?
	    shim_classify(AT_FDCWD, pattern, &p) : 0;
	if (c <= 0)
		return REAL(glob)(pattern, flags, errfn, g);
	rc = REAL(glob)(p.tree, flags, errfn, g);
	if (rc == 0)
		rc = glob_untranslate(g, before);
	return rc;
}

SHIM_EXPORT int
glob64(const char *pattern, int flags, int (*errfn)(const char *, int), glob64_t *g)
{
	/* glob64_t and glob_t are one layout on x86-64. */
	return glob(pattern, flags, errfn, (glob_t *)g);
}
