/* test_creds.c: S3 credentials from shared-credentials files (modes, profiles, errors) and env. */
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

#define ID "AKIAEXAMPLEID"
#define SECRET "s3cr3t/K3y+EXAMPLEKEYxyz"
#define TOKEN "T0KEN/session+EXAMPLE"
#define GOOD "[default]\naws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n"

static char file[64];
static char err[1024];
static struct ms_mount mnt;
static struct ms_creds creds;

static void
write_creds(const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd;

	strlcpy(file, "/tmp/ms-test-creds-XXXXXX", sizeof file);
	fd = mkstemp(file);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void
set_mount(const char *credentials, const char *profile)
{
	memset(&mnt, 0, sizeof mnt);
	strlcpy(mnt.name, "models", sizeof mnt.name);
	strlcpy(mnt.credentials, credentials, sizeof mnt.credentials);
	strlcpy(mnt.profile, profile, sizeof mnt.profile);
}

/* Loads TEXT (written with MODE) for PROFILE; leaves the file name in `file`. */
static int
load_file(const char *text, mode_t mode, const char *profile)
{
	int rc;

	write_creds(text, mode);
	set_mount(file, profile);
	memset(&creds, 'x', sizeof creds);
	rc = ms_creds_load(&mnt, &creds, err, sizeof err);
	unlink(file);
	return rc;
}

static void
assert_wiped(const struct ms_creds *c)
{
	static const struct ms_creds zero;

	cr_assert(!memcmp(c, &zero, sizeof zero), "credentials not wiped");
}

static void
assert_no_secret(void)
{
	cr_assert_null(strstr(err, SECRET), "secret in message: %s", err);
	cr_assert_null(strstr(err, TOKEN), "token in message: %s", err);
	cr_assert_null(strstr(err, "s3cr3t"), "secret in message: %s", err);
}

Test(creds, default_profile)
{
	cr_assert_eq(load_file(GOOD, 0600, "default"), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
	cr_assert_str_eq(creds.secret_key, SECRET);
	cr_assert_str_eq(creds.session_token, "");
	cr_assert_str_eq(err, "");
}

Test(creds, empty_profile_means_default)
{
	cr_assert_eq(load_file(GOOD, 0600, ""), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
}

Test(creds, named_profile_with_token)
{
	/* Comments, indentation, other profiles and keys that are not ours. */
	const char *text =
	    "# AWS credentials\n"
	    "[default]\n"
	    "aws_access_key_id = OTHER\n"
	    "aws_secret_access_key = OTHERSECRET\n"
	    "\n"
	    "[ prod ]   ; production\n"
	    "region = eu-west-1\n"
	    "  aws_access_key_id=" ID "\r\n"
	    "aws_secret_access_key : " SECRET "\n"
	    "aws_session_token = " TOKEN "\n"
	    "[later]\n"
	    "aws_access_key_id = LATER\n";

	cr_assert_eq(load_file(text, 0600, "prod"), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
	cr_assert_str_eq(creds.secret_key, SECRET);
	cr_assert_str_eq(creds.session_token, TOKEN);
}

Test(creds, long_profile_and_token)
{
	/* inih truncates section names at 49 characters and lines at 200: neither may bite. */
	static char text[4096], token[2048];
	const char *profile = "p23456789012345678901234567890123456789012345678901234567890123";

	memset(token, 'T', sizeof token - 1);
	snprintf(text, sizeof text, "[%.49s]\naws_access_key_id = WRONG\naws_secret_access_key = W\n"
	    "[%s]\naws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n"
	    "aws_session_token = %s\n", profile, profile, token);
	cr_assert_eq(load_file(text, 0600, profile), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
	cr_assert_str_eq(creds.session_token, token);
}

struct mode_case {
	mode_t mode;
	int rc;
};

Test(creds, file_modes)
{
	static const struct mode_case cases[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0700, 0 }, { 0640, -EACCES }, { 0644, -EACCES },
		{ 0604, -EACCES }, { 0620, -EACCES }, { 0602, -EACCES }, { 0610, -EACCES },
		{ 0601, -EACCES }, { 0666, -EACCES }, { 0660, -EACCES },
	};
	char want[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = load_file(GOOD, cases[i].mode, "default");

		cr_assert_eq(rc, cases[i].rc, "mode %04o: %d %s", cases[i].mode, rc, err);
		if (rc == 0)
			continue;
		snprintf(want, sizeof want, "%s: ", file);
		cr_assert(!strncmp(err, want, strlen(want)), "%s", err);
		snprintf(want, sizeof want, "(mode %04o); run: chmod 600 %s", cases[i].mode, file);
		cr_assert(strstr(err, want), "'%s' lacks '%s'", err, want);
		assert_wiped(&creds);
		assert_no_secret();
	}
}

Test(creds, missing_file)
{
	set_mount("/nonexistent/credentials", "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, err, sizeof err), -ENOENT);
	cr_assert_str_eq(err, "/nonexistent/credentials: credentials file of mount \"models\" does "
	    "not exist");
	assert_wiped(&creds);
}

Test(creds, unreadable_file)
{
	int rc;

	write_creds(GOOD, 0);
	set_mount(file, "default");
	/* root reads mode 000 files: be nobody for the load (the saved uid lets us come back) */
	if (geteuid() == 0 && seteuid(65534) != 0)
		cr_skip_test("cannot drop root");
	rc = ms_creds_load(&mnt, &creds, err, sizeof err);
	if (getuid() == 0)
		cr_assert_eq(seteuid(0), 0);
	unlink(file);
	cr_assert_eq(rc, -EACCES, "%s", err);
	cr_assert(strstr(err, "cannot open credentials file of mount \"models\""), "%s", err);
	cr_assert(strstr(err, file), "%s", err);
}

Test(creds, not_regular)
{
	char dir[64], fifo[80];

	strlcpy(dir, "/tmp/ms-test-creds-dir-XXXXXX", sizeof dir);
	cr_assert_not_null(mkdtemp(dir));
	set_mount(dir, "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, err, sizeof err), -EINVAL);
	cr_assert(strstr(err, "is not a regular file"), "%s", err);
	cr_assert(!strncmp(err, dir, strlen(dir)), "%s", err);

	/* A FIFO must be refused, not block waiting for a writer. */
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	set_mount(fifo, "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, err, sizeof err), -EINVAL);
	cr_assert(strstr(err, "is not a regular file"), "%s", err);
	unlink(fifo);
	rmdir(dir);
}

struct bad_case {
	const char *text;
	const char *profile;
	int rc;
	int line; /* 0: "FILE: " */
	const char *needle;
};

/* Criterion may run each case in a fresh process (pointers differ): parameters are indexes. */
static const struct bad_case bad_cases[] = {
	{ GOOD, "prod", -ENOENT, 0, "profile [prod] (mount \"models\") not found" },
	{ "[prod]\naws_access_key_id = " ID "\n", "default", -ENOENT, 0, "profile [default]" },
	{ "", "default", -ENOENT, 0, "profile [default]" },
	{ "[default]\naws_secret_access_key = " SECRET "\n", "default", -EINVAL, 1,
	    "[default] aws_access_key_id: missing" },
	{ "# c\n[default]\naws_access_key_id = " ID "\n[other]\naws_secret_access_key = " SECRET "\n",
	    "default", -EINVAL, 2, "[default] aws_secret_access_key: missing" },
	{ GOOD "aws_secret_access_key = " SECRET "\n", "default", -EINVAL, 4,
	    "[default] aws_secret_access_key: duplicate key" },
	{ "[default]\naws_access_key_id =\naws_secret_access_key = " SECRET "\n", "default", -EINVAL,
	    2, "[default] aws_access_key_id: empty value" },
	{ GOOD "[default]\n", "default", -EINVAL, 4, "[default]: duplicate section (first at line 1)" },
	{ "[default]\naws_access_key_id = " ID "\n" SECRET "\n", "default", -EINVAL, 3,
	    "syntax error" },
	{ "[default]\naws_access_key_id = " ID "\naws_secret_access_key\n", "default", -EINVAL, 3,
	    "syntax error" },
	{ "[default\n" SECRET "\n", "default", -EINVAL, 1, "section header without ']'" },
	{ "[default]\naws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n"
	    "aws_session_token = " TOKEN "\n  " SECRET "\n", "default", -EINVAL, 5, "syntax error" },
	{ "[default]\naws_access_key_id = 0123456789012345678901234567890123456789012345678901234567"
	    "89012345678901234567890123456789012345678901234567890123456789012345678901234567\n",
	    "default", -EINVAL, 2, "[default] aws_access_key_id: value too long (max 127 characters)" },
};

ParameterizedTestParameters(creds, file_errors)
{
	static size_t idx[TABLE_LEN(bad_cases)];

	return table_rows(idx, TABLE_LEN(idx));
}

ParameterizedTest(size_t *i, creds, file_errors)
{
	const struct bad_case *bc = &bad_cases[*i];
	char prefix[128];
	int rc = load_file(bc->text, 0600, bc->profile);

	if (bc->line)
		snprintf(prefix, sizeof prefix, "%s:%d: ", file, bc->line);
	else
		snprintf(prefix, sizeof prefix, "%s: ", file);
	cr_assert_eq(rc, bc->rc, "case %zu: rc %d (%s)", *i, rc, err);
	cr_assert(!strncmp(err, prefix, strlen(prefix)), "'%s' does not start with '%s'", err, prefix);
	cr_assert(strstr(err, bc->needle), "'%s' does not contain '%s'", err, bc->needle);
	assert_no_secret();
	assert_wiped(&creds);
}

/* Loads GOOD with an aws_session_token of LEN 'T's on line 4. */
static int
load_long_token(size_t len)
{
	static char text[8192], token[5000];

	cr_assert_lt(len, sizeof token);
	memset(token, 'T', len);
	token[len] = '\0';
	snprintf(text, sizeof text, GOOD "aws_session_token = %s\n", token);
	return load_file(text, 0600, "default");
}

Test(creds, token_too_long)
{
	cr_assert_eq(load_long_token(2048), -EINVAL);
	cr_assert(strstr(err, ":4: [default] aws_session_token: value too long (max 2047"), "%s", err);
	cr_assert_null(strstr(err, "TTTT"), "%s", err);
	assert_wiped(&creds);
}

Test(creds, line_too_long)
{
	cr_assert_eq(load_long_token(4999), -EINVAL);
	cr_assert(strstr(err, ":4: line too long"), "%s", err);
	cr_assert_null(strstr(err, "TTTT"), "%s", err);
}

Test(creds, nul_byte)
{
	static const char text[] = GOOD "aws_session_token = a\0b\n";
	int fd;

	strlcpy(file, "/tmp/ms-test-creds-XXXXXX", sizeof file);
	fd = mkstemp(file);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	set_mount(file, "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, err, sizeof err), -EINVAL);
	unlink(file);
	cr_assert(strstr(err, ":4: NUL byte"), "%s", err);
}

Test(creds, file_wins_over_environment)
{
	setenv("AWS_ACCESS_KEY_ID", "ENVID", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	cr_assert_eq(load_file(GOOD, 0600, "default"), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
	setenv("AWS_ACCESS_KEY_ID", "", 1);
	cr_assert_eq(load_file(GOOD "[x\n", 0600, "default"), -EINVAL, "%s", err);
}

static int
load_env(void)
{
	set_mount("", "default");
	memset(&creds, 'x', sizeof creds);
	return ms_creds_load(&mnt, &creds, err, sizeof err);
}

Test(creds, environment)
{
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_ACCESS_KEY_ID", ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	cr_assert_eq(load_env(), 0, "%s", err);
	cr_assert_str_eq(creds.access_key, ID);
	cr_assert_str_eq(creds.secret_key, SECRET);
	cr_assert_str_eq(creds.session_token, "");

	setenv("AWS_SESSION_TOKEN", TOKEN, 1);
	cr_assert_eq(load_env(), 0, "%s", err);
	cr_assert_str_eq(creds.session_token, TOKEN);

	setenv("AWS_SESSION_TOKEN", "", 1);
	cr_assert_eq(load_env(), 0, "%s", err);
	cr_assert_str_eq(creds.session_token, "");
}

struct env_case {
	const char *id, *secret, *token; /* NULL: unset */
	int rc;
	const char *needle;
};

Test(creds, environment_errors)
{
	static char long_token[2100];
	const struct env_case cases[] = {
		{ NULL, NULL, NULL, -ENOENT, "mount \"models\": no credentials file configured and "
		    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set" },
		{ "", "", NULL, -ENOENT, "are not set" },
		{ NULL, NULL, TOKEN, -ENOENT, "are not set" },
		{ ID, NULL, NULL, -EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" },
		{ ID, "", NULL, -EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" },
		{ NULL, SECRET, NULL, -EINVAL, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not" },
		{ ID, SECRET, long_token, -EINVAL, "AWS_SESSION_TOKEN: value too long (max 2047" },
	};

	memset(long_token, 'T', sizeof long_token - 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct env_case *ec = &cases[i];

		ec->id ? setenv("AWS_ACCESS_KEY_ID", ec->id, 1) : unsetenv("AWS_ACCESS_KEY_ID");
		ec->secret ? setenv("AWS_SECRET_ACCESS_KEY", ec->secret, 1) :
		    unsetenv("AWS_SECRET_ACCESS_KEY");
		ec->token ? setenv("AWS_SESSION_TOKEN", ec->token, 1) : unsetenv("AWS_SESSION_TOKEN");
		cr_assert_eq(load_env(), ec->rc, "case %zu: %s", i, err);
		cr_assert(strstr(err, ec->needle), "case %zu: '%s' lacks '%s'", i, err, ec->needle);
		cr_assert_null(strstr(err, "TTTT"), "%s", err);
		assert_no_secret();
		assert_wiped(&creds);
	}
}

Test(creds, wipe)
{
	struct ms_creds c;

	memset(&c, 'x', sizeof c);
	ms_creds_wipe(&c);
	assert_wiped(&c);
	ms_creds_wipe(NULL);
}

Test(creds, no_error_buffer)
{
	set_mount("/nonexistent/credentials", "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, NULL, 0), -ENOENT);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	set_mount("", "default");
	cr_assert_eq(ms_creds_load(&mnt, &creds, NULL, 0), -ENOENT);
}
