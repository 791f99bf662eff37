/*
 * io.h: thin wrappers over the OS calls core needs, with EINTR and short transfers handled in
 * one place and errors returned as -errno. No policy, no logging.
 */
#ifndef MS_IO_H
#define MS_IO_H

#include <stddef.h>
#include <sys/types.h>

int ms_pread_full(int fd, void *buf, size_t len, off_t off) __attribute__((warn_unused_result));
int ms_pwrite_full(int fd, const void *buf, size_t len, off_t off) __attribute__((warn_unused_result));
int ms_write_full(int fd, const void *buf, size_t len) __attribute__((warn_unused_result));

/* mkdir -p of PATH's directories with MODE; PATH itself too if WHOLE, else up to its last '/'. */
int ms_mkdirs(const char *path, mode_t mode, int whole) __attribute__((warn_unused_result));

#endif
