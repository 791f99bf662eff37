/*
 * glibc_compat.h: binds the glibc functions whose default version is newer than GLIBC_2.28 to
 * their oldest x86-64 version, so that libmodelshim.so loads into images on older glibc
 * (Debian 10 and 11, Ubuntu 20.04, RHEL 8). Glibc 2.34 moved libdl and libpthread into libc and
 * gave these functions new default versions; the old ones stay there as compatibility symbols,
 * and on older glibc they live in libdl.so.2 and libpthread.so.0, which the .so therefore names
 * as NEEDED (CMakeLists.txt). Forced (-include) into every object of the shim and of core, whose
 * objects the shim links (the daemon gets the same functions under their old names: harmless);
 * scripts/check-so fails the build when a newer version comes back.
 */
#ifndef MS_GLIBC_COMPAT_H
#define MS_GLIBC_COMPAT_H

/*
 * Glibc only, told without including anything: this header comes first (-include), and
 * <features.h> read now would fix its choices (extern inlines) before a file's own defines.
 */
#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<gnu/libc-version.h>)
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_detach,pthread_detach@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_rdlock,pthread_rwlock_rdlock@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_wrlock,pthread_rwlock_wrlock@GLIBC_2.2.5");
__asm__(".symver pthread_rwlock_unlock,pthread_rwlock_unlock@GLIBC_2.2.5");
#endif
#endif

#endif
