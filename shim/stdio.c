/*
 * stdio.c: glibc's stdio refills a FILE's buffer through internal reads that no preload sees. A
 * FILE the shim opened (fopen, fdopen) is complete from the start; this file guards the others,
 * stdin above all (`cmd < /models/file`, a dup2 onto fd 0): before any stdio call that may read
 * from a FILE whose fd is an incomplete virtual file, the whole file is made present, or the call
 * fails with EIO and the FILE's error flag set. On any other FILE each call is one table load
 * and the real call. It never reads or changes a FILE's buffer.
 */
/*
 * Optimised builds of glibc's headers define getline, getc_unlocked and others inline: the
 * wrappers below are meant, so those inline bodies are kept out.
 */
#ifndef __NO_INLINE__
#define __NO_INLINE__ 1
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#include "shim.h"

/* Optimised builds of glibc's headers make some of these macros: the functions are meant here. */
#undef fread_unlocked
#undef getc
#undef getc_unlocked
#undef getchar
#undef getchar_unlocked
#undef fgetc_unlocked

/* FD of FP is tracked: its whole file made present, or false (errno EIO, FP's error flag set). */
static __attribute__((noinline)) bool
fill_for_stdio(FILE *fp, int fd)
{
	if (!shim_active() || shim_fd_ensure(fd, 0, 0) == 0)
		return true;
	fp->_flags |= _IO_ERR_SEEN;
	errno = EIO;
	return false;
}

/* True when FP may be read. Inline: on an untracked FILE it costs a few loads (fgetc pays it). */
static inline bool
ready(FILE *fp)
{
	return fp == NULL || !shim_fd_tracked(fp->_fileno) || fill_for_stdio(fp, fp->_fileno);
}

SHIM_EXPORT size_t
fread(void *buf, size_t size, size_t n, FILE *fp)
{
	return ready(fp) ? REAL(fread)(buf, size, n, fp) : 0;
}

SHIM_EXPORT size_t
fread_unlocked(void *buf, size_t size, size_t n, FILE *fp)
{
	return ready(fp) ? REAL(fread_unlocked)(buf, size, n, fp) : 0;
}

SHIM_EXPORT size_t
__fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp)
{
	return ready(fp) ? REAL(__fread_chk)(buf, buflen, size, n, fp) : 0;
}

SHIM_EXPORT size_t
__fread_unlocked_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp)
{
	return ready(fp) ? REAL(__fread_unlocked_chk)(buf, buflen, size, n, fp) : 0;
}

SHIM_EXPORT char *
fgets(char *s, int n, FILE *fp)
{
	return ready(fp) ? REAL(fgets)(s, n, fp) : NULL;
}

SHIM_EXPORT char *
fgets_unlocked(char *s, int n, FILE *fp)
{
	return ready(fp) ? REAL(fgets_unlocked)(s, n, fp) : NULL;
}

SHIM_EXPORT char *
__fgets_chk(char *s, size_t size, int n, FILE *fp)
{
	return ready(fp) ? REAL(__fgets_chk)(s, size, n, fp) : NULL;
}

SHIM_EXPORT char *
__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp)
{
	return ready(fp) ? REAL(__fgets_unlocked_chk)(s, size, n, fp) : NULL;
}

SHIM_EXPORT ssize_t
getline(char **line, size_t *n, FILE *fp)
{
	return ready(fp) ? REAL(getline)(line, n, fp) : -1;
}

SHIM_EXPORT ssize_t
getdelim(char **line, size_t *n, int delim, FILE *fp)
{
	return ready(fp) ? REAL(getdelim)(line, n, delim, fp) : -1;
}

SHIM_EXPORT ssize_t
__getdelim(char **line, size_t *n, int delim, FILE *fp)
{
	return ready(fp) ? REAL(__getdelim)(line, n, delim, fp) : -1;
}

SHIM_EXPORT int
fgetc(FILE *fp)
{
	return ready(fp) ? REAL(fgetc)(fp) : EOF;
}

SHIM_EXPORT int
getc(FILE *fp)
{
	return ready(fp) ? REAL(getc)(fp) : EOF;
}

SHIM_EXPORT int
_IO_getc(FILE *fp)
{
	return ready(fp) ? REAL(_IO_getc)(fp) : EOF;
}

SHIM_EXPORT int
fgetc_unlocked(FILE *fp)
{
	return ready(fp) ? REAL(fgetc_unlocked)(fp) : EOF;
}

SHIM_EXPORT int
getc_unlocked(FILE *fp)
{
	return ready(fp) ? REAL(getc_unlocked)(fp) : EOF;
}

SHIM_EXPORT int
getchar(void)
{
	return ready(stdin) ? REAL(getchar)() : EOF;
}

SHIM_EXPORT int
getchar_unlocked(void)
{
	return ready(stdin) ? REAL(getchar_unlocked)() : EOF;
}

SHIM_EXPORT int
getw(FILE *fp)
{
	return ready(fp) ? REAL(getw)(fp) : EOF;
}

/* The refills behind the getc_unlocked and getc macros, once a buffer is empty. */
SHIM_EXPORT int
__uflow(FILE *fp)
{
	return ready(fp) ? REAL(__uflow)(fp) : EOF;
}

SHIM_EXPORT int
__underflow(FILE *fp)
{
	return ready(fp) ? REAL(__underflow)(fp) : EOF;
}

SHIM_EXPORT wint_t
__wuflow(FILE *fp)
{
	return ready(fp) ? REAL(__wuflow)(fp) : WEOF;
}

SHIM_EXPORT wint_t
__wunderflow(FILE *fp)
{
	return ready(fp) ? REAL(__wunderflow)(fp) : WEOF;
}

SHIM_EXPORT wint_t
fgetwc(FILE *fp)
{
	return ready(fp) ? REAL(fgetwc)(fp) : WEOF;
}

SHIM_EXPORT wint_t
getwc(FILE *fp)
{
	return ready(fp) ? REAL(getwc)(fp) : WEOF;
}

SHIM_EXPORT wint_t
fgetwc_unlocked(FILE *fp)
{
	return ready(fp) ? REAL(fgetwc_unlocked)(fp) : WEOF;
}

SHIM_EXPORT wint_t
getwc_unlocked(FILE *fp)
{
	return ready(fp) ? REAL(getwc_unlocked)(fp) : WEOF;
}

SHIM_EXPORT wint_t
getwchar(void)
{
	return ready(stdin) ? REAL(getwchar)() : WEOF;
}

SHIM_EXPORT wint_t
getwchar_unlocked(void)
{
	return ready(stdin) ? REAL(getwchar_unlocked)() : WEOF;
}

SHIM_EXPORT wchar_t *
fgetws(wchar_t *s, int n, FILE *fp)
{
	return ready(fp) ? REAL(fgetws)(s, n, fp) : NULL;
}

SHIM_EXPORT wchar_t *
fgetws_unlocked(wchar_t *s, int n, FILE *fp)
{
	return ready(fp) ? REAL(fgetws_unlocked)(s, n, fp) : NULL;
}

/*
 * The scanf family: each variadic name ends in its v-form, as glibc's own do. In C99 builds
 * glibc's headers rename fscanf, scanf, vfscanf and vscanf to their __isoc99_ forms, so the
 * plain symbols are defined here under plain_ names with an assembler label (gen-shim-map
 * exports them under the label).
 */
int plain_vfscanf(FILE *fp, const char *fmt, va_list ap) __asm__("vfscanf");
int plain_vscanf(const char *fmt, va_list ap) __asm__("vscanf");
int plain_fscanf(FILE *fp, const char *fmt, ...) __asm__("fscanf");
int plain_scanf(const char *fmt, ...) __asm__("scanf");

SHIM_EXPORT int
plain_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return ready(fp) ? REAL(vfscanf)(fp, fmt, ap) : EOF;
}

SHIM_EXPORT int
plain_vscanf(const char *fmt, va_list ap)
{
	return ready(stdin) ? REAL(vfscanf)(stdin, fmt, ap) : EOF;
}

SHIM_EXPORT int
plain_fscanf(FILE *fp, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = plain_vfscanf(fp, fmt, ap);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
plain_scanf(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = plain_vfscanf(stdin, fmt, ap);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
__isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return ready(fp) ? REAL(__isoc99_vfscanf)(fp, fmt, ap) : EOF;
}

SHIM_EXPORT int
__isoc99_vscanf(const char *fmt, va_list ap)
{
	return ready(stdin) ? REAL(__isoc99_vfscanf)(stdin, fmt, ap) : EOF;
}

SHIM_EXPORT int
__isoc99_fscanf(FILE *fp, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = __isoc99_vfscanf(fp, fmt, ap);
	va_end(ap);
	return rc;
}

SHIM_EXPORT int
__isoc99_scanf(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = __isoc99_vfscanf(stdin, fmt, ap);
	va_end(ap);
	return rc;
}
