/*
 * errmsg.h: the error text a failing call hands back to its caller (an "err, errlen" pair), as
 * the S3 client and the credential sources fill it. Formats only: never logs, never allocates.
 */
#ifndef MS_ERRMSG_H
#define MS_ERRMSG_H

#include <stddef.h>

/* Formats FMT into ERR (ERRLEN bytes, cut to fit); nothing when ERR is NULL or ERRLEN is 0. */
void ms_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
