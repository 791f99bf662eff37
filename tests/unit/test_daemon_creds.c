/*
 * test_daemon_creds.c: the daemon's hold on a mount's credentials (sidecar/store_creds.c): which
 * answers mean an expired token, one renewal for every request signed with the old keys, the
 * renewal time of temporary keys, and a credential_process picked through the config file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "creds_chain.h"
#include "s3.h"
#include "store_creds.h"

Test(daemon_creds, expired_answers)
{
	cr_assert(store_creds_expired_answer(400, "<Error><Code>ExpiredToken</Code></Error>"));
	cr_assert(store_creds_expired_answer(403, "<Code>InvalidToken</Code>"));
	cr_assert(store_creds_expired_answer(400, "<Code>TokenRefreshRequired</Code>"));
	cr_assert(store_creds_expired_answer(403, "<Message>The provided token has expired.</Message>"));
	cr_assert_not(store_creds_expired_answer(403, "<Code>AccessDenied</Code>"));
	cr_assert_not(store_creds_expired_answer(500, "<Code>ExpiredToken</Code>"));
	cr_assert_not(store_creds_expired_answer(400, ""));
}

static char dir[64];
static struct ms_config cfg;

/*
 * A mount whose credentials come from a credential_process (through AWS_CONFIG_FILE) that counts
 * its runs in DIR/runs and prints keys expiring in LIFETIME seconds.
 */
static void
setup_process(long lifetime)
{
	char path[128], text[1024], when[32];
	time_t t = time(NULL) + lifetime;
	struct tm tm;
	FILE *f;

	strlcpy(dir, "/tmp/ms-test-dcreds-XXXXXX", sizeof dir);
	cr_assert_not_null(mkdtemp(dir));
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	snprintf(path, sizeof path, "%s/tool.sh", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\necho run >>%s/runs\nprintf '{\"Version\": 1, \"AccessKeyId\": \"ASIA\", "
	    "\"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"%s\"}'\n", dir, when);
	fclose(f);
	snprintf(path, sizeof path, "%s/config", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[default]\ncredential_process = /bin/sh %s/tool.sh\n", dir);
	fclose(f);
	setenv("AWS_CONFIG_FILE", path, 1);
	setenv("HOME", dir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_PROFILE");
	snprintf(text, sizeof text, "[cache]\ndir = %s/cache\n[mount \"m\"]\npath = /models\n"
	    "source = s3://bucket/\nendpoint = http://127.0.0.1:9\n", dir);
	snprintf(path, sizeof path, "%s/ms.ini", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(ms_config_load(&cfg, path, text, sizeof text), 0, "%s", text);
}

static unsigned
runs(void)
{
	char path[128], line[16];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/runs", dir);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n++;
	fclose(f);
	return n;
}

static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(daemon_creds, one_renewal_per_generation)
{
	struct ms_msg_creds_mount rep;
	struct store_creds *sc;
	struct ms_s3 *s3;
	char err[512];

	setup_process(3600);
	cr_assert_eq(store_creds_open(&cfg, &cfg.mounts[0], &s3, &sc, err, sizeof err), 0, "%s", err);
	cr_assert_eq(runs(), 1);
	store_creds_report(sc, &rep);
	cr_assert_eq(rep.source, MS_CRED_PROCESS);
	cr_assert_eq(rep.renewals, 0);
	cr_assert_gt(rep.expiration, (int64_t)time(NULL) + 3500);
	store_creds_due(sc, s3); /* an hour left: nothing due */
	cr_assert_eq(runs(), 1);
	/* Three requests signed under generation 0 come back expired: one renewal. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(store_creds_expired(sc, s3, 0, err, sizeof err), 0, "%s", err);
	cr_assert_eq(runs(), 2);
	cr_assert_eq(store_creds_generation(sc), 1);
	/* One signed with the renewed keys, refused again: another renewal. */
	cr_assert_eq(store_creds_expired(sc, s3, 1, err, sizeof err), 0, "%s", err);
	cr_assert_eq(runs(), 3);
	store_creds_free(sc);
	ms_s3_free(s3);
	cleanup();
}

Test(daemon_creds, short_lived_keys_due_at_once)
{
	struct ms_msg_creds_mount rep;
	struct store_creds *sc;
	struct ms_s3 *s3;
	char err[512];

	setup_process(1); /* half of at most a second: due by the next request */
	cr_assert_eq(store_creds_open(&cfg, &cfg.mounts[0], &s3, &sc, err, sizeof err), 0, "%s", err);
	usleep(600 * 1000);
	store_creds_due(sc, s3);
	cr_assert_eq(runs(), 2);
	store_creds_report(sc, &rep);
	cr_assert_eq(rep.renewals, 1);
	cr_assert_eq(rep.failing, 0);
	store_creds_free(sc);
	ms_s3_free(s3);
	cleanup();
}
