/*
 * creds_chain.h: where a mount's credentials come from, as the AWS SDKs find them: the mount's
 * credentials file, or the standard chain (environment, web identity, shared files and
 * credential_process, container endpoint, IMDSv2), or one source named by credential_source =,
 * or none (anonymous). The daemon and `import` only; never the shim.
 */
#ifndef MS_CREDS_CHAIN_H
#define MS_CREDS_CHAIN_H

#include <stddef.h>

#include "config.h"
#include "creds.h"

/* The source in use: an enum ms_cred_source but MS_CRED_CHAIN, or CREDS_FILE. */
#define CREDS_FILE MS_CRED_COUNT

struct creds_source;

/*
 * Picks M's source (the first of the chain whose variables are set, or the one configured) and
 * fetches its credentials into C. 0 and *out (free with creds_source_free), or -errno with one
 * message naming the source in ERR. Environment variables are read now, not later.
 */
int creds_open(const struct ms_mount *m, struct creds_source **out, struct ms_creds *c,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* Fetches the source's credentials again (a renewal). 0, or -errno with ERR naming the source. */
int creds_get(struct creds_source *src, struct ms_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The source's kind (MS_CRED_* or CREDS_FILE) and its name in messages and status. */
int creds_kind(const struct creds_source *src);
const char *creds_kind_name(int kind);

/* Wipes what the source holds (a container authorization token) and frees it. NULL is fine. */
void creds_source_free(struct creds_source *src);

/* creds_fetch.c: the sources that answer over HTTP or run a program. */
struct creds_remote {
	const char *mount;
	const char *ca_file; /* the mount's ca_bundle (or AWS_CA_BUNDLE), "" for libcurl's CAs */
	/* web identity */
	const char *role_arn, *token_file, *session_name, *sts_url;
	/* container */
	const char *container_url, *auth_token, *auth_file;
	/* IMDS */
	const char *imds_url;
	/* credential_process */
	const char *process;
};
int creds_fetch_web_identity(const struct creds_remote *r, struct ms_creds *c, char *err,
    size_t errlen) __attribute__((warn_unused_result));
int creds_fetch_container(const struct creds_remote *r, struct ms_creds *c, char *err,
    size_t errlen) __attribute__((warn_unused_result));
int creds_fetch_imds(const struct creds_remote *r, struct ms_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int creds_fetch_process(const struct creds_remote *r, struct ms_creds *c, char *err,
    size_t errlen) __attribute__((warn_unused_result));

#endif
