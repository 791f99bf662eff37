/* test_creds_parse.c: the credential answers (JSON, STS XML) and the profiles of the AWS shared files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "creds.h"
#include "table.h"

static struct ms_creds creds;
static char err[512];

static void
assert_wiped(void)
{
	static const struct ms_creds zero;

	cr_assert(!memcmp(&creds, &zero, sizeof zero), "credentials not wiped");
}

struct json_case {
	const char *doc;
	int process;
	int rc;
	const char *needle; /* in ERR when rc < 0; the access key when 0 */
};

static const struct json_case json_cases[] = {
	{ "{\"Version\": 1, \"AccessKeyId\": \"AKIA1\", \"SecretAccessKey\": \"s3cr3t\"}", 1, 0, "AKIA1" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"ASIA2\", \"SecretAccessKey\": \"s3cr3t\", \"SessionToken\": \"T\", "
	  "\"Expiration\": \"2026-12-02T15:00:00Z\"}\n", 1, 0, "ASIA2" },
	{ "{\"Code\": \"Success\", \"AccessKeyId\": \"ASIA3\", \"SecretAccessKey\": \"s3cr3t\", \"Token\": \"T\", "
	  "\"Expiration\": \"2026-12-02T15:00:00Z\"}", 0, 0, "ASIA3" },
	{ "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"}", 1, -EBADMSG, "Version" },
	{ "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"}", 1, -EBADMSG, "Version" },
	{ "{\"Code\": \"Failure\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"}", 0, -EBADMSG, "Success" },
	{ "{\"Version\": 1, \"SecretAccessKey\": \"s3cr3t\"}", 1, -EBADMSG, "\"AccessKeyId\" is missing" },
	{ "{\"Version\": 1, \"AccessKeyId\": 7, \"SecretAccessKey\": \"s3cr3t\"}", 1, -EBADMSG, "not a string" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"A\\nB\", \"SecretAccessKey\": \"s3cr3t\"}", 1, -EBADMSG, "control" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\", \"SessionToken\": \"T\"}", 1,
	  -EBADMSG, "without \"Expiration\"" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\", \"Expiration\": \"soon\"}", 1,
	  -EBADMSG, "ISO 8601" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"A\", \"Secret", 1, -EBADMSG, "not valid JSON" },
	{ "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"} {}", 1, -EBADMSG, "after" },
	{ "[1, 2]", 0, -EBADMSG, "not a JSON object" },
	{ "", 0, -EBADMSG, "not valid JSON" },
};

static size_t json_idx[TABLE_LEN(json_cases)];

ParameterizedTestParameters(creds_parse, json)
{
	return table_rows(json_idx, TABLE_LEN(json_cases));
}

ParameterizedTest(size_t *i, creds_parse, json)
{
	const struct json_case *jc = &json_cases[*i];
	int rc;

	memset(&creds, 'x', sizeof creds);
	rc = ms_creds_json_parse(jc->doc, strlen(jc->doc), jc->process, &creds, err, sizeof err);
	cr_assert_eq(rc, jc->rc, "case %zu: rc %d (%s)", *i, rc, err);
	if (rc == 0) {
		cr_assert_str_eq(creds.access_key, jc->needle);
		cr_assert_str_eq(creds.secret_key, "s3cr3t");
	} else {
		assert_wiped();
		cr_assert(strstr(err, jc->needle), "case %zu: '%s' lacks '%s'", *i, err, jc->needle);
		cr_assert_null(strstr(err, "s3cr3t"), "secret in message: %s", err);
	}
}

Test(creds_parse, json_expiration)
{
	const char *doc = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", "
	    "\"SessionToken\": \"T\", \"Expiration\": \"2026-12-02T15:00:00Z\"}";

	cr_assert_eq(ms_creds_json_parse(doc, strlen(doc), true, &creds, err, sizeof err), 0, "%s", err);
	cr_assert_eq(creds.expiration, 1796223600);
	cr_assert_str_eq(creds.session_token, "T");
}

#define STS_OK(creds_xml) \
	"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n" \
	"  <AssumeRoleWithWebIdentityResult>\n    <Credentials>\n" creds_xml \
	"    </Credentials>\n  </AssumeRoleWithWebIdentityResult>\n</AssumeRoleWithWebIdentityResponse>\n"

struct sts_case {
	const char *doc;
	int rc;
	const char *needle;
};

static const struct sts_case sts_cases[] = {
	{ STS_OK("<SessionToken>\n  TOK/+=\n</SessionToken><SecretAccessKey>s3cr3t</SecretAccessKey>"
	    "<Expiration>2026-12-02T15:00:00Z</Expiration><AccessKeyId>ASIA1</AccessKeyId>"), 0, "ASIA1" },
	{ STS_OK("<SessionToken>T</SessionToken><SecretAccessKey>s3cr3t</SecretAccessKey>"
	    "<AccessKeyId>ASIA1</AccessKeyId>"), -EBADMSG, "Expiration is missing" },
	{ STS_OK("<SessionToken>T</SessionToken><SecretAccessKey>s3cr3t</SecretAccessKey>"
	    "<Expiration>2026-12-02T15:00:00Z</Expiration><AccessKeyId>AS&#10;IA</AccessKeyId>"),
	    -EBADMSG, "line break" },
	{ STS_OK("<SessionToken>T</SessionToken><SessionToken>U</SessionToken>"), -EBADMSG, "twice" },
	{ STS_OK("<AccessKeyId><b>x</b></AccessKeyId>"), -EBADMSG, "inside a credential field" },
	{ "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized"
	  "</Message></Error></ErrorResponse>", -EACCES, "AccessDenied: Not authorized" },
	{ "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", -EBADMSG, "DOCTYPE" },
	{ "<AssumeRoleWithWebIdentityResponse>", -EBADMSG, "not an STS answer" },
	{ "<Other/>", -EBADMSG, "AccessKeyId is missing" },
};

static size_t sts_idx[TABLE_LEN(sts_cases)];

ParameterizedTestParameters(creds_parse, sts)
{
	return table_rows(sts_idx, TABLE_LEN(sts_cases));
}

ParameterizedTest(size_t *i, creds_parse, sts)
{
	const struct sts_case *sc = &sts_cases[*i];
	int rc;

	memset(&creds, 'x', sizeof creds);
	rc = ms_creds_sts_parse(sc->doc, strlen(sc->doc), &creds, err, sizeof err);
	cr_assert_eq(rc, sc->rc, "case %zu: rc %d (%s)", *i, rc, err);
	if (rc == 0) {
		cr_assert_str_eq(creds.access_key, sc->needle);
		cr_assert_str_eq(creds.session_token, "TOK/+=");
		cr_assert_eq(creds.expiration, 1796223600);
	} else {
		assert_wiped();
		cr_assert(strstr(err, sc->needle), "case %zu: '%s' lacks '%s'", *i, err, sc->needle);
		cr_assert_null(strstr(err, "s3cr3t"), "secret in message: %s", err);
	}
}

/* Writes TEXT to a temporary file of mode MODE; its name goes to PATH (64 bytes). */
static void
write_file(char *path, const char *text, mode_t mode)
{
	int fd;

	strlcpy(path, "/tmp/ms-test-profile-XXXXXX", 64);
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

struct profile_case {
	const char *text;
	const char *profile;
	int config_file;
	mode_t mode;
	int rc;
	const char *want; /* the access key, or the process, or a word of ERR */
};

static const struct profile_case profile_cases[] = {
	{ "[dev]\naws_access_key_id = AKIA\naws_secret_access_key = s3cr3t\n", "dev", 0, 0600, 0, "AKIA" },
	{ "[default]\ncredential_process = /bin/tool --json\n", "default", 0, 0600, 0, "/bin/tool --json" },
	{ "[profile dev]\ncredential_process = /bin/tool dev\n", "dev", 1, 0644, 0, "/bin/tool dev" },
	{ "[default]\ncredential_process = /bin/tool\n", "default", 1, 0644, 0, "/bin/tool" },
	{ "[dev]\ncredential_process = /bin/tool\n", "dev", 1, 0644, -ENOENT, "no profile [dev]" },
	{ "[profile dev]\naws_access_key_id = AKIA\naws_secret_access_key = s3cr3t\n", "dev", 1, 0644,
	  -ENOENT, "no keys" },
	{ "[dev]\naws_access_key_id = AKIA\naws_secret_access_key = s3cr3t\n", "dev", 0, 0644, -EACCES, "chmod 600" },
	{ "[dev]\naws_access_key_id = AKIA\n", "dev", 0, 0600, -EINVAL, "aws_secret_access_key: missing" },
	{ "[other]\naws_access_key_id = AKIA\n", "dev", 0, 0600, -ENOENT, "no profile [dev]" },
	{ "[dev]\nregion = us-east-1\n", "dev", 0, 0600, -ENOENT, "no keys" },
};

static size_t profile_idx[TABLE_LEN(profile_cases)];

ParameterizedTestParameters(creds_parse, profile)
{
	return table_rows(profile_idx, TABLE_LEN(profile_cases));
}

ParameterizedTest(size_t *i, creds_parse, profile)
{
	const struct profile_case *pc = &profile_cases[*i];
	char path[64], process[MS_CREDS_PROCESS_MAX];
	int rc;

	write_file(path, pc->text, pc->mode);
	memset(&creds, 'x', sizeof creds);
	rc = ms_creds_read_profile(path, pc->profile, pc->config_file, &creds, process, sizeof process,
	    err, sizeof err);
	unlink(path);
	cr_assert_eq(rc, pc->rc, "case %zu: rc %d (%s)", *i, rc, err);
	if (rc == 0 && process[0] != '\0')
		cr_assert_str_eq(process, pc->want);
	else if (rc == 0)
		cr_assert_str_eq(creds.access_key, pc->want);
	else
		cr_assert(strstr(err, pc->want), "case %zu: '%s' lacks '%s'", *i, err, pc->want);
	if (rc < 0)
		assert_wiped();
}

Test(creds_parse, profile_file_missing)
{
	char process[64];

	cr_assert_eq(ms_creds_read_profile("/nonexistent/credentials", "default", false, &creds,
	    process, sizeof process, err, sizeof err), -ENOENT);
	cr_assert(strstr(err, "does not exist"), "%s", err);
}

/* Loads a config whose mount has credential_source = VALUE; 0 or the load's -errno. */
static int
load_source(const char *value, struct ms_config *cfg)
{
	char path[64], text[512];

	snprintf(text, sizeof text, "[cache]\ndir = /var/cache/ms\n[mount \"m\"]\npath = /models\n"
	    "source = s3://bucket/\nendpoint = http://h\ncredential_source = %s\n", value);
	write_file(path, text, 0600);
	memset(err, 0, sizeof err);
	int rc = ms_config_load(cfg, path, err, sizeof err);
	unlink(path);
	return rc;
}

Test(creds_parse, credential_source_key)
{
	static struct ms_config cfg;

	for (int i = 0; i < MS_CRED_COUNT; i++) {
		cr_assert_eq(load_source(ms_cred_source_names[i], &cfg), 0, "%s: %s",
		    ms_cred_source_names[i], err);
		cr_assert_eq(cfg.mounts[0].credential_source, i);
	}
	cr_assert_eq(load_source("sso", &cfg), -EINVAL);
	cr_assert(strstr(err, ":7: [mount \"m\"] credential_source: 'sso' is not one of chain, env, "
	    "web-identity"), "%s", err);
}
