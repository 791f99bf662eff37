/*
 * creds.h: S3 credentials for one mount, from its AWS shared-credentials file or the standard
 * AWS environment variables. Only the daemon and the CLI call this; never the shim.
 */
#ifndef MS_CREDS_H
#define MS_CREDS_H

#include <stddef.h>

#include "config.h"

struct ms_creds {
	char access_key[128];
	char secret_key[128];
	char session_token[2048]; /* "" if none */
};

/*
 * Fills C for mount M: M->credentials if set (refused if group- or world-readable, -EACCES), else
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Returns 0 or -errno with a message.
 */
int ms_creds_load(const struct ms_mount *m, struct ms_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Overwrites the secrets in C with zeros (explicit_bzero). */
void ms_creds_wipe(struct ms_creds *c);

#endif
