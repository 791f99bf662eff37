/*
 * store_creds.h: the credentials of one mount's S3 client while the daemon runs: where they
 * came from (creds_chain.h), when they expire, and their renewal before then or after the store
 * said a token expired. Used by store_s3.c; never by the shim.
 */
#ifndef MS_STORE_CREDS_H
#define MS_STORE_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proto.h"
#include "s3.h"

struct store_creds;

/*
 * M's source picked and its credentials fetched into a new client *S3 (ms_s3_new with CFG).
 * 0 and *out, or -errno with one message naming the source in ERR.
 */
int store_creds_open(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 **s3,
    struct store_creds **out, char *err, size_t errlen) __attribute__((warn_unused_result));
void store_creds_free(struct store_creds *sc);

/*
 * Before a request is signed: renews temporary credentials whose renewal time has come (5 min
 * before they expire, or at half their life when that is shorter). A failed renewal is logged
 * once and tried again a little later; the old keys stay in use while they last.
 */
void store_creds_due(struct store_creds *sc, struct ms_s3 *s3);

/* Counts renewals: a request remembers the one it was signed under. */
unsigned store_creds_generation(const struct store_creds *sc);

/* An answer that says the request's token expired: 400/403 ExpiredToken and kin. */
bool store_creds_expired_answer(long http, const char *errbody);

/*
 * A request signed under generation GEN was refused as expired: renews, unless another request
 * renewed since GEN already. 0: send it again (signed anew); -errno: the renewal failed, WHAT
 * says why, naming the source.
 */
int store_creds_expired(struct store_creds *sc, struct ms_s3 *s3, unsigned gen, char *what,
    size_t whatlen);

/* For status: the source's kind, the expiry of the keys in use, renewals, a failing renewal. */
void store_creds_report(const struct store_creds *sc, struct ms_msg_creds_mount *out);

#endif
