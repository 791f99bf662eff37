/*
 * real.c: the real_ pointers to the libc functions the shim wraps, resolved with
 * dlsym(RTLD_NEXT) in the constructor or on first use (another library's constructor may call
 * an interposed function before ours runs). Nothing else.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <spawn.h>
#include <stdlib.h>
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

void *
shim_resolve(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

__attribute__((constructor(101))) static void
shim_resolve_all(void)
{
#define SHIM_RESOLVE(name) (void)REAL(name);
	SHIM_REAL_SYMBOLS(SHIM_RESOLVE)
#undef SHIM_RESOLVE
}
