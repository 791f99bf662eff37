/*
 * real.c: the real_ pointers to the libc functions the shim wraps, resolved with
 * dlsym(RTLD_NEXT) in the constructor or on first use (another library's constructor may call
 * an interposed function before ours runs), with stand-ins for the stat functions glibc before
 * 2.33 does not export. Nothing else.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>
#include <sys/time.h>

#include "shim.h"

#define SHIM_DEFINE_REAL(name) __typeof__(name) *real_##name;
SHIM_REAL_SYMBOLS(SHIM_DEFINE_REAL)
#undef SHIM_DEFINE_REAL

/*
 * Glibc before 2.33 has no stat, lstat, fstat or fstatat symbols: its headers made them inline
 * calls of __xstat and kin, with the stat layout's version (1 on x86-64) as first argument.
 * Where dlsym finds none, these stand in, so that the shim's own calls work on any glibc.
 */
#define OLD_STAT_VER 1

static int
old_stat(const char *path, struct stat *st)
{
	return REAL(__xstat)(OLD_STAT_VER, path, st);
}

static int
old_lstat(const char *path, struct stat *st)
{
	return REAL(__lxstat)(OLD_STAT_VER, path, st);
}

static int
old_fstat(int fd, struct stat *st)
{
	return REAL(__fxstat)(OLD_STAT_VER, fd, st);
}

static int
old_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return REAL(__fxstatat)(OLD_STAT_VER, dirfd, path, st, flags);
}

static const struct {
	const char *name;
	void *fn;
} before_2_33[] = {
	{ "stat", (void *)old_stat }, { "stat64", (void *)old_stat },
	{ "lstat", (void *)old_lstat }, { "lstat64", (void *)old_lstat },
	{ "fstat", (void *)old_fstat }, { "fstat64", (void *)old_fstat },
	{ "fstatat", (void *)old_fstatat }, { "fstatat64", (void *)old_fstatat },
};

void *
shim_resolve(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);
	size_t i;

	for (i = 0; fn == NULL && i < sizeof before_2_33 / sizeof before_2_33[0]; i++)
		if (strcmp(name, before_2_33[i].name) == 0)
			fn = before_2_33[i].fn;
	return fn;
}

__attribute__((constructor(101))) static void
shim_resolve_all(void)
{
#define SHIM_RESOLVE(name) (void)REAL(name);
	SHIM_REAL_SYMBOLS(SHIM_RESOLVE)
#undef SHIM_RESOLVE
}
