/*
 * creds.h: S3 credentials for one mount, from its AWS shared-credentials file or the standard
 * AWS environment variables, and the parsers of what the other sources of the AWS chain send
 * (credential JSON: creds_json.c; STS XML: creds_sts.c). Only the daemon and the CLI call this;
 * never the shim.
 */
#ifndef MS_CREDS_H
#define MS_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ms_creds {
	char access_key[128];
	char secret_key[128];
	char session_token[2048]; /* "" if none */
	int64_t expiration;       /* when they stop working (Unix seconds); 0: long-term keys */
};

#define MS_CREDS_PROCESS_MAX 1024 /* longest credential_process command line */

/*
 * Fills C for mount M: M->credentials if set (refused if group- or world-readable, -EACCES), else
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Returns 0 or -errno with a message.
 */
int ms_creds_load(const struct ms_mount *m, struct ms_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Reads profile PROFILE of the AWS shared file PATH: CONFIG_FILE false for a credentials file
 * ([NAME] sections, refused like a mount's credentials file when group- or world-readable),
 * true for a config file ([profile NAME], [default]; only credential_process is taken from it).
 * Fills C with aws_access_key_id, aws_secret_access_key, aws_session_token and PROCESS (may be
 * NULL) with credential_process when present. Returns 0 when the profile gave keys or a
 * process, -ENOENT when the file or the profile does not exist or gave neither, else -errno;
 * a message in ERR either way. C is wiped on every failure.
 */
int ms_creds_read_profile(const char *path, const char *profile, bool config_file,
    struct ms_creds *c, char *process, size_t proclen, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Parses the JSON credentials of a credential_process (PROCESS true: "Version": 1 required,
 * "SessionToken") or of a container or IMDS endpoint ("Token"; "Code" must be "Success" when
 * present): "AccessKeyId", "SecretAccessKey", optional token and "Expiration" (ISO 8601) into
 * C. At most MS_CREDS_JSON_MAX bytes. Returns 0, or -EBADMSG with the reason in ERR (never a
 * value of the document); C is wiped on failure.
 */
#define MS_CREDS_JSON_MAX (64u << 10)
int ms_creds_json_parse(const char *buf, size_t len, bool process, struct ms_creds *c,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Parses an STS AssumeRoleWithWebIdentity answer: the Credentials of its result into C (0), or
 * an ErrorResponse, whose Code and Message go into ERR (-EACCES), or anything else (-EBADMSG).
 * At most MS_CREDS_JSON_MAX bytes. C is wiped on failure.
 */
int ms_creds_sts_parse(const char *xml, size_t len, struct ms_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Overwrites the secrets in C with zeros (explicit_bzero). */
void ms_creds_wipe(struct ms_creds *c);

#endif
