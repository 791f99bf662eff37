/*
 * endpoint.h: where each mount's store is and which CAs its https endpoint is trusted by,
 * decided as the AWS SDKs decide it: the config's own keys first, then the environment, then
 * the defaults. Only the daemon and the CLI call this (never the shim: it needs no store); it
 * never reads credentials and never contacts the store.
 */
#ifndef MS_ENDPOINT_H
#define MS_ENDPOINT_H

#include <stddef.h>

#include "config.h"

/* getenv, or a test's table: NULL for an unset variable ("" counts as unset too). */
typedef char *(*ms_getenv_fn)(const char *name);

/*
 * Fills in what CFG's mounts leave out (config keys always win over the environment):
 *   region:   AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1;
 *   endpoint: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's own regional endpoint
 *             https://s3.REGION.amazonaws.com (.amazonaws.com.cn for cn-* regions);
 *   CA file:  AWS_CA_BUNDLE (an absolute path) where the mount has no ca_bundle key, else none
 *             (libcurl's default CAs).
 * Values from the environment are held to the config keys' grammar, and a CA file, from either,
 * must be a readable file now. Returns 0, or -errno with "VARIABLE: what is wrong" (or
 * "[mount \"NAME\"] ca_bundle: ...") in ERR. The choices are logged at debug level (-v).
 */
int ms_endpoint_resolve(struct ms_config *cfg, ms_getenv_fn env, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
