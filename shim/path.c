/*
 * path.c: which paths are ours. A path is ours when, made absolute (against the virtual cwd or a
 * virtual directory fd) and normalised lexically, it is a mount's virtual path or below it, or a
 * path inside a mount's cache tree. Ours means: hand the kernel the cache-tree path instead.
 * A path that is not ours costs a first-component comparison and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* The real cwd is inside a cache tree: relative paths are resolved by us. */
static atomic_bool cwd_in_tree;
static char cwd_virtual[MS_PATH_MAX];
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;

/* Length of the first component of P ("/models/x" -> 6), after any leading slashes. */
static size_t
first_component(const char *p, const char **start)
{
	while (*p == '/')
		p++;
	*start = p;
	return strcspn(p, "/");
}

/* Could ABS be ours at all? Compares first components only: the fast reject of every call. */
static bool
maybe_ours(const char *abs)
{
	const char *a, *b;
	size_t alen = first_component(abs, &a), blen;
	unsigned i;

	for (i = 0; i < shim.cfg.nmounts; i++) {
		blen = first_component(shim.cfg.mounts[i].path, &b);
		if (alen == blen && memcmp(a, b, alen) == 0)
			return true;
	}
	blen = first_component(shim.cfg.cache_dir, &b);
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Lexical normalisation of an absolute path: no '.', '..' or repeated '/'; "/" stays "/". */
static int
normalize(const char *in, char *out, size_t cap)
{
	size_t len = 0;
	const char *p = in;

	if (cap < 2)
		return -1;
	while (*p != '\0') {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			if (len + 1 + n + 1 > cap)
				return -1;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

static bool
under(const char *path, const char *prefix, size_t plen)
{
	return strncmp(path, prefix, plen) == 0 && (path[plen] == '\0' || path[plen] == '/');
}

static int
map_normalized(const char *norm, struct shim_path *out)
{
	const char *rest = NULL;
	unsigned i;
	int n;

	for (i = 0; i < shim.cfg.nmounts && rest == NULL; i++) {
		if (under(norm, shim.cfg.mounts[i].path, shim.roots[i].vpath_len))
			rest = norm + shim.roots[i].vpath_len;
		else if (under(norm, shim.roots[i].tree, shim.roots[i].tree_len))
			rest = norm + shim.roots[i].tree_len;
		else
			continue;
		out->mount = i;
	}
	if (rest == NULL)
		return 0;
	n = snprintf(out->tree, sizeof out->tree, "%s%s", shim.roots[out->mount].tree, rest);
	if (n < 0 || (size_t)n >= sizeof out->tree) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out->key = out->tree + shim.roots[out->mount].tree_len;
	if (*out->key == '/')
		out->key++;
	return 1;
}

/* The virtual directory DIRFD stands for, into BUF; false if it is not one of ours. */
static bool
dirfd_virtual(int dirfd, char *buf, size_t cap)
{
	char proc[32];
	ssize_t n;

	if (!shim_fd_tracked(dirfd))
		return false;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
	n = REAL(readlink)(proc, buf, cap - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return shim_untranslate(buf, cap);
}

/*
 * /proc/PID/fd/N, /dev/fd/N, /dev/stdin...: the kernel would follow such a link straight into a
 * cache tree, past the shim. Their target decides.
 */
static bool
magic_link(const char *path, char *target, size_t cap)
{
	char hop[MS_PATH_MAX * 2];
	ssize_t n;
	int depth;

	if (!(strncmp(path, "/proc/", 6) == 0 && strstr(path + 6, "/fd/") != NULL) &&
	    strncmp(path, "/dev/fd/", 8) != 0 && strncmp(path, "/dev/std", 8) != 0)
		return false;
	strlcpy(hop, path, sizeof hop);
	/* /dev/stdin -> /proc/self/fd/0 -> the file: a few hops at most. */
	for (depth = 0; depth < 4; depth++) {
		n = REAL(readlink)(hop, target, cap - 1);
		if (n <= 0)
			return depth > 0;
		target[n] = '\0';
		if (target[0] != '/')
			return false;
		if (strncmp(target, "/proc/", 6) != 0 && strncmp(target, "/dev/", 5) != 0)
			return true;
		strlcpy(hop, target, sizeof hop);
	}
	return false;
}

static int
classify(int dirfd, const char *path, struct shim_path *out, bool follow)
{
	char abs[MS_PATH_MAX * 2], norm[MS_PATH_MAX * 2];
	int n;

	if (path == NULL || path[0] == '\0')
		return 0;
	if (follow && path[0] == '/' && magic_link(path, abs, sizeof abs) && maybe_ours(abs)) {
		if (normalize(abs, norm, sizeof norm) < 0)
			return 0;
		return map_normalized(norm, out);
	}
	if (path[0] == '/') {
		if (!maybe_ours(path))
			return 0;
		if (normalize(path, norm, sizeof norm) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return map_normalized(norm, out);
	}
	if (dirfd == AT_FDCWD) {
		if (!atomic_load_explicit(&cwd_in_tree, memory_order_relaxed))
			return 0;
		pthread_mutex_lock(&cwd_lock);
		n = snprintf(abs, sizeof abs, "%s/%s", cwd_virtual, path);
		pthread_mutex_unlock(&cwd_lock);
	} else {
		char dir[MS_PATH_MAX];

		if (!dirfd_virtual(dirfd, dir, sizeof dir))
			return 0;
		n = snprintf(abs, sizeof abs, "%s/%s", dir, path);
	}
	if (n < 0 || (size_t)n >= sizeof abs || normalize(abs, norm, sizeof norm) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return map_normalized(norm, out);
}

int
shim_classify(int dirfd, const char *path, struct shim_path *out)
{
	return classify(dirfd, path, out, true);
}

int
shim_classify_nofollow(int dirfd, const char *path, struct shim_path *out)
{
	return classify(dirfd, path, out, false);
}

bool
shim_untranslate(char *buf, size_t cap)
{
	unsigned i;

	for (i = 0; i < shim.cfg.nmounts; i++) {
		const struct shim_mount_root *r = &shim.roots[i];
		size_t vlen = r->vpath_len, rest;

		if (!under(buf, r->tree, r->tree_len))
			continue;
		rest = strlen(buf + r->tree_len);
		if (vlen + rest + 1 > cap)
			return false;
		memmove(buf + vlen, buf + r->tree_len, rest + 1);
		memcpy(buf, shim.cfg.mounts[i].path, vlen);
		return true;
	}
	return false;
}

void
shim_cwd_changed(void)
{
	char buf[MS_PATH_MAX];

	if (REAL(getcwd)(buf, sizeof buf) == NULL || !shim_untranslate(buf, sizeof buf)) {
		atomic_store(&cwd_in_tree, false);
		return;
	}
	pthread_mutex_lock(&cwd_lock);
	strlcpy(cwd_virtual, buf, sizeof cwd_virtual);
	pthread_mutex_unlock(&cwd_lock);
	atomic_store(&cwd_in_tree, true);
}
