/*
 * io.c: EINTR-safe full reads and writes and directory helpers shared by core. Returns -errno,
 * never logs, never exits.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int
ms_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		done += (size_t)n;
	}
	return 0;
}

/* Writes all LEN bytes of BUF: at OFF when OFF >= 0 (pwrite), else at the file position. */
static int
write_all(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (off >= 0)
			n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
		else
			n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

int
ms_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	return off < 0 ? -EINVAL : write_all(fd, buf, len, off);
}

int
ms_write_full(int fd, const void *buf, size_t len)
{
	return write_all(fd, buf, len, -1);
}

int
ms_mkdirs(const char *path, mode_t mode, int whole)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), i;

	if (len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	if (!whole) {
		char *slash = strrchr(buf, '/');
		if (slash == NULL)
			return 0;
		*slash = '\0';
		len = (size_t)(slash - buf);
	}
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}
