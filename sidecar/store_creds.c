/*
 * store_creds.c: one mount's credentials in the running daemon: fetched from their source at
 * start, renewed before they expire (blocking, bounded by creds_fetch.c's short timeouts) and
 * once more when the store says a token expired. The keys themselves live only in the S3 client
 * (ms_s3_set_creds); what is kept here is when they expire and how renewals went. Never logs a
 * secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds_chain.h"
#include "log.h"
#include "store_creds.h"

#define RENEW_BEFORE_MS (5 * 60 * 1000LL) /* renew this long before expiry... */
#define RENEW_RETRY_MS 2000LL              /* ...and after a failure, this much later */

struct store_creds {
	struct creds_source *src;
	char mount[MS_NAME_MAX];
	int64_t expiration;  /* Unix seconds of the keys in use, 0: they do not expire */
	int64_t renew_at_ms; /* wall clock, ms; 0: never */
	unsigned generation; /* renewals so far */
	bool failing;        /* the last renewal failed (logged once until one succeeds) */
};

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes C into S3 (then wipes it) and plans the next renewal. */
static void
install(struct store_creds *sc, struct ms_s3 *s3, struct ms_creds *c)
{
	int64_t now = wall_ms(), left, margin;

	sc->expiration = c->expiration;
	if (s3 != NULL)
		ms_s3_set_creds(s3, c);
	ms_creds_wipe(c);
	if (sc->expiration <= 0) {
		sc->renew_at_ms = 0;
		return;
	}
	left = sc->expiration * 1000 - now;
	margin = left / 2 < RENEW_BEFORE_MS ? left / 2 : RENEW_BEFORE_MS;
	sc->renew_at_ms = now + (left - margin > 0 ? left - margin : 0);
}

int
store_creds_open(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 **s3,
    struct store_creds **out, char *err, size_t errlen)
{
	struct store_creds *sc = calloc(1, sizeof *sc);
	struct ms_creds c;
	int rc;

	if (sc == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	strlcpy(sc->mount, m->name, sizeof sc->mount);
	rc = creds_open(m, &sc->src, &c, err, errlen);
	if (rc < 0) {
		free(sc);
		return rc;
	}
	*s3 = ms_s3_new(cfg, m, &c);
	install(sc, NULL, &c);
	if (*s3 == NULL) {
		store_creds_free(sc);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (sc->expiration > 0)
		ms_info("mount %s: credentials from %s, expiring in %lld s", m->name,
		    creds_kind_name(creds_kind(sc->src)),
		    (long long)(sc->expiration - wall_ms() / 1000));
	else
		ms_info("mount %s: credentials from %s", m->name, creds_kind_name(creds_kind(sc->src)));
	*out = sc;
	return 0;
}

void
store_creds_free(struct store_creds *sc)
{
	if (sc == NULL)
		return;
	creds_source_free(sc->src);
	free(sc);
}

/* One renewal; 0, or -errno with WHAT (logged once per run of failures). */
static int
renew(struct store_creds *sc, struct ms_s3 *s3, char *what, size_t whatlen)
{
	struct ms_creds c;
	int rc = creds_get(sc->src, &c, what, whatlen);

	if (rc < 0) {
		sc->renew_at_ms = wall_ms() + RENEW_RETRY_MS;
		if (!sc->failing)
			ms_error("mount %s: renewing credentials failed: %s", sc->mount, what);
		sc->failing = true;
		return rc;
	}
	install(sc, s3, &c);
	sc->generation++;
	if (sc->failing)
		ms_info("mount %s: credentials from %s renewed again", sc->mount,
		    creds_kind_name(creds_kind(sc->src)));
	sc->failing = false;
	ms_debug("mount %s: credentials renewed (%u), expiring in %lld s", sc->mount,
	    sc->generation, (long long)(sc->expiration - wall_ms() / 1000));
	return 0;
}

void
store_creds_due(struct store_creds *sc, struct ms_s3 *s3)
{
	char what[512];

	if (sc->renew_at_ms != 0 && wall_ms() >= sc->renew_at_ms)
		(void)renew(sc, s3, what, sizeof what);
}

unsigned
store_creds_generation(const struct store_creds *sc)
{
	return sc->generation;
}

bool
store_creds_expired_answer(long http, const char *errbody)
{
	static const char *const codes[] = { "<Code>ExpiredToken</Code>",
	    "<Code>InvalidToken</Code>", "<Code>TokenRefreshRequired</Code>",
	    "The provided token has expired" };

	if (http != 400 && http != 403)
		return false;
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strstr(errbody, codes[i]) != NULL)
			return true;
	return false;
}

int
store_creds_expired(struct store_creds *sc, struct ms_s3 *s3, unsigned gen, char *what,
    size_t whatlen)
{
	char why[512];
	int rc;

	if (gen != sc->generation)
		return 0; /* renewed meanwhile: the new keys may do */
	if (creds_kind(sc->src) == MS_CRED_ANONYMOUS) {
		snprintf(what, whatlen, "the store asks for credentials (anonymous access)");
		return -EACCES;
	}
	rc = renew(sc, s3, why, sizeof why);
	if (rc < 0)
		snprintf(what, whatlen, "token expired, and %s", why);
	return rc;
}

void
store_creds_report(const struct store_creds *sc, struct ms_msg_creds_mount *out)
{
	memset(out, 0, sizeof *out);
	out->source = (uint8_t)creds_kind(sc->src);
	out->expiration = sc->expiration;
	out->renewals = sc->generation;
	out->failing = sc->failing;
}
