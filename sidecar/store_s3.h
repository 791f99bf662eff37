/*
 * store_s3.h: the S3 backend of store.h, the one the daemon runs with (store_s3.c).
 */
#ifndef MS_STORE_S3_H
#define MS_STORE_S3_H

#include "config.h"
#include "store.h"

/*
 * A backend for every mount of CFG, with the credentials each mount names (loaded now, then
 * wiped from memory but inside the signing clients); events go to EV. 0 and *out, or -errno
 * with the reason logged.
 */
int store_s3_new(const struct ms_config *cfg, const struct store_events *ev, struct store **out);

#endif
