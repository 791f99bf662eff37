/*
 * creds_chain.c: picks a mount's credential source in the AWS SDKs' order (or the one its
 * credential_source names) from the environment read once, and fetches from it, now and at
 * each renewal. Every failure is one message that names the source; no message or log line
 * ever holds a secret. It keeps only the sources' settings (and a container authorization
 * token), wiped when freed; the credentials themselves are the caller's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "creds_chain.h"
#include "errmsg.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT "http://169.254.169.254"

struct creds_source {
	int kind;
	struct ms_mount m;
	char profile[MS_NAME_MAX];
	char shared_file[MS_PATH_MAX], config_file[MS_PATH_MAX];
	char process[MS_CREDS_PROCESS_MAX];
	char role_arn[2048], token_file[MS_PATH_MAX], session_name[128], sts_url[1024];
	char container_url[2048], auth_token[4096], auth_file[MS_PATH_MAX];
	char imds_url[1024];
};

static const char *const kind_names[CREDS_FILE + 1] = {
	[MS_CRED_CHAIN] = "chain", [MS_CRED_ENV] = "environment",
	[MS_CRED_WEB_IDENTITY] = "web identity", [MS_CRED_PROFILE] = "profile",
	[MS_CRED_PROCESS] = "credential_process", [MS_CRED_CONTAINER] = "container",
	[MS_CRED_IMDS] = "IMDS", [MS_CRED_ANONYMOUS] = "anonymous",
	[CREDS_FILE] = "credentials file",
};

const char *
creds_kind_name(int kind)
{
	return kind >= 0 && kind <= CREDS_FILE ? kind_names[kind] : "unknown";
}

int
creds_kind(const struct creds_source *src)
{
	return src->kind;
}

/* Environment variable VAR, or NULL when unset or empty. */
static const char *
env(const char *var)
{
	const char *v = getenv(var);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* VAR into DST; -ENAMETOOLONG with a message if it does not fit (the value is not shown). */
static int
copy_env(char *dst, size_t cap, const char *var, const char *v, char *err, size_t errlen)
{
	if (strlcpy(dst, v, cap) < cap)
		return 0;
	ms_errf(err, errlen, "%s is too long (max %zu characters)", var, cap - 1);
	return -ENAMETOOLONG;
}

/* The shared files and profile of the chain: the variables, else ~/.aws/. */
static int
setup_profile(struct creds_source *s, char *err, size_t errlen)
{
	const char *home = env("HOME"), *v;
	int rc = 0;

	if (strcmp(s->m.profile, "default") != 0 || env("AWS_PROFILE") == NULL)
		strlcpy(s->profile, s->m.profile[0] ? s->m.profile : "default", sizeof s->profile);
	else
		rc = copy_env(s->profile, sizeof s->profile, "AWS_PROFILE", env("AWS_PROFILE"), err,
		    errlen);
	if (rc == 0 && (v = env("AWS_SHARED_CREDENTIALS_FILE")) != NULL)
		rc = copy_env(s->shared_file, sizeof s->shared_file, "AWS_SHARED_CREDENTIALS_FILE", v,
		    err, errlen);
	else if (rc == 0 && home != NULL)
		snprintf(s->shared_file, sizeof s->shared_file, "%s/.aws/credentials", home);
	if (rc == 0 && (v = env("AWS_CONFIG_FILE")) != NULL)
		rc = copy_env(s->config_file, sizeof s->config_file, "AWS_CONFIG_FILE", v, err,
		    errlen);
	else if (rc == 0 && home != NULL)
		snprintf(s->config_file, sizeof s->config_file, "%s/.aws/config", home);
	return rc;
}

/*
 * The profile's keys (kind PROFILE) or credential_process (kind PROCESS), from the credentials
 * file first, then the config file. -ENOENT when neither has them.
 */
static int
read_profile(struct creds_source *s, struct ms_creds *c, char *err, size_t errlen)
{
	char why[512] = "", why2[512] = "";
	int rc = -ENOENT;

	if (s->shared_file[0] && s->kind != MS_CRED_PROCESS) {
		rc = ms_creds_read_profile(s->shared_file, s->profile, false, c, s->process,
		    sizeof s->process, why, sizeof why);
		if (rc != 0 && rc != -ENOENT) {
			ms_errf(err, errlen, "%s", why);
			return rc;
		}
	}
	if (rc == -ENOENT && s->config_file[0]) {
		rc = ms_creds_read_profile(s->config_file, s->profile, true, c, s->process,
		    sizeof s->process, why2, sizeof why2);
		if (rc != 0 && rc != -ENOENT) {
			ms_errf(err, errlen, "%s", why2);
			return rc;
		}
	}
	if (rc == -ENOENT) {
		ms_errf(err, errlen, "profile [%s] has neither keys nor credential_process (%s%s%s)",
		    s->profile, why[0] ? why : "", why[0] && why2[0] ? "; " : "", why2);
		return rc;
	}
	if (s->process[0] != '\0') {
		ms_creds_wipe(c);
		s->kind = MS_CRED_PROCESS;
	} else if (s->kind == MS_CRED_PROCESS) {
		ms_errf(err, errlen, "profile [%s] has no credential_process", s->profile);
		return -ENOENT;
	} else {
		s->kind = MS_CRED_PROFILE;
	}
	return 0;
}

static int
setup_web_identity(struct creds_source *s, char *err, size_t errlen)
{
	const char *arn = env("AWS_ROLE_ARN"), *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *v;
	const char *region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	int rc;

	if (arn == NULL || file == NULL) {
		ms_errf(err, errlen, "%s is not set", arn == NULL ? "AWS_ROLE_ARN" :
		    "AWS_WEB_IDENTITY_TOKEN_FILE");
		return -ENOENT;
	}
	if ((rc = copy_env(s->role_arn, sizeof s->role_arn, "AWS_ROLE_ARN", arn, err, errlen)) ||
	    (rc = copy_env(s->token_file, sizeof s->token_file, "AWS_WEB_IDENTITY_TOKEN_FILE",
	    file, err, errlen)))
		return rc;
	if ((v = env("AWS_ROLE_SESSION_NAME")) != NULL)
		rc = copy_env(s->session_name, sizeof s->session_name, "AWS_ROLE_SESSION_NAME", v,
		    err, errlen);
	else
		snprintf(s->session_name, sizeof s->session_name, "modelshim-%ld", (long)getpid());
	if (rc == 0 && (v = env("AWS_ENDPOINT_URL_STS")) != NULL)
		rc = copy_env(s->sts_url, sizeof s->sts_url, "AWS_ENDPOINT_URL_STS", v, err, errlen);
	else if (rc == 0 && (v = env("AWS_ENDPOINT_URL")) != NULL)
		rc = copy_env(s->sts_url, sizeof s->sts_url, "AWS_ENDPOINT_URL", v, err, errlen);
	else if (rc == 0)
		snprintf(s->sts_url, sizeof s->sts_url, "https://sts.%s.amazonaws.com",
		    region != NULL ? region : s->m.region[0] ? s->m.region : "us-east-1");
	return rc;
}

static int
setup_container(struct creds_source *s, char *err, size_t errlen)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI"), *v;
	int rc = 0;

	if (rel != NULL) {
		if (rel[0] != '/') {
			ms_errf(err, errlen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start "
			    "with '/'");
			return -EINVAL;
		}
		if (snprintf(s->container_url, sizeof s->container_url, "%s%s", CONTAINER_HOST,
		    rel) >= (int)sizeof s->container_url) {
			ms_errf(err, errlen, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
			return -ENAMETOOLONG;
		}
	} else if (full != NULL) {
		if (strncmp(full, "http://", 7) != 0 && strncmp(full, "https://", 8) != 0) {
			ms_errf(err, errlen, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
			return -EINVAL;
		}
		rc = copy_env(s->container_url, sizeof s->container_url,
		    "AWS_CONTAINER_CREDENTIALS_FULL_URI", full, err, errlen);
	} else {
		ms_errf(err, errlen, "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
		    "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
		return -ENOENT;
	}
	if (rc == 0 && (v = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) != NULL)
		rc = copy_env(s->auth_file, sizeof s->auth_file,
		    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", v, err, errlen);
	else if (rc == 0 && (v = env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) != NULL)
		rc = copy_env(s->auth_token, sizeof s->auth_token, "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		    v, err, errlen);
	return rc;
}

static int
setup_imds(struct creds_source *s, char *err, size_t errlen)
{
	const char *off = env("AWS_EC2_METADATA_DISABLED"), *v;

	if (off != NULL && strcasecmp(off, "true") == 0) {
		ms_errf(err, errlen, "AWS_EC2_METADATA_DISABLED is true");
		return -ENOENT;
	}
	if ((v = env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) != NULL)
		return copy_env(s->imds_url, sizeof s->imds_url, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		    v, err, errlen);
	strlcpy(s->imds_url, IMDS_DEFAULT, sizeof s->imds_url);
	return 0;
}

static int
get_env(struct ms_creds *c, char *err, size_t errlen)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *key = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");

	if (id == NULL || key == NULL) {
		ms_errf(err, errlen, "%s is not set", id == NULL ? "AWS_ACCESS_KEY_ID" :
		    "AWS_SECRET_ACCESS_KEY");
		return -ENOENT;
	}
	if (copy_env(c->access_key, sizeof c->access_key, "AWS_ACCESS_KEY_ID", id, err, errlen) ||
	    copy_env(c->secret_key, sizeof c->secret_key, "AWS_SECRET_ACCESS_KEY", key, err,
	    errlen) || (token != NULL && copy_env(c->session_token, sizeof c->session_token,
	    "AWS_SESSION_TOKEN", token, err, errlen)))
		return -EINVAL;
	return 0;
}

/* Prepares source S->kind from the environment; -ENOENT when its variables are not set. */
static int
setup(struct creds_source *s, char *err, size_t errlen)
{
	switch (s->kind) {
	case MS_CRED_ENV:
		if (env("AWS_ACCESS_KEY_ID") || env("AWS_SECRET_ACCESS_KEY"))
			return 0;
		ms_errf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return -ENOENT;
	case MS_CRED_WEB_IDENTITY:
		return setup_web_identity(s, err, errlen);
	case MS_CRED_PROFILE:
	case MS_CRED_PROCESS:
		return setup_profile(s, err, errlen);
	case MS_CRED_CONTAINER:
		return setup_container(s, err, errlen);
	case MS_CRED_IMDS:
		return setup_imds(s, err, errlen);
	default:
		return 0;
	}
}

int
creds_get(struct creds_source *s, struct ms_creds *c, char *err, size_t errlen)
{
	struct creds_remote r = {
		.mount = s->m.name, .ca_file = s->m.ca_bundle, .role_arn = s->role_arn, .token_file = s->token_file,
		.session_name = s->session_name, .sts_url = s->sts_url,
		.container_url = s->container_url, .auth_token = s->auth_token,
		.auth_file = s->auth_file, .imds_url = s->imds_url, .process = s->process,
	};
	char why[768] = "";
	int rc;

	ms_creds_wipe(c);
	switch (s->kind) {
	case CREDS_FILE:
		rc = ms_creds_load(&s->m, c, why, sizeof why);
		break;
	case MS_CRED_ENV:
		rc = get_env(c, why, sizeof why);
		break;
	case MS_CRED_WEB_IDENTITY:
		rc = creds_fetch_web_identity(&r, c, why, sizeof why);
		break;
	case MS_CRED_PROFILE:
		rc = read_profile(s, c, why, sizeof why);
		if (rc == 0 && s->kind == MS_CRED_PROCESS)
			rc = creds_fetch_process(&r, c, why, sizeof why);
		break;
	case MS_CRED_PROCESS:
		rc = s->process[0] ? 0 : read_profile(s, c, why, sizeof why);
		if (rc == 0)
			rc = creds_fetch_process(&r, c, why, sizeof why);
		break;
	case MS_CRED_CONTAINER:
		rc = creds_fetch_container(&r, c, why, sizeof why);
		break;
	case MS_CRED_IMDS:
		rc = creds_fetch_imds(&r, c, why, sizeof why);
		break;
	default: /* anonymous: no keys, unsigned requests */
		rc = 0;
		break;
	}
	if (rc < 0) {
		ms_creds_wipe(c);
		if (s->kind == CREDS_FILE)
			ms_errf(err, errlen, "%s", why);
		else
			ms_errf(err, errlen, "credentials from %s: %s", creds_kind_name(s->kind), why);
	}
	return rc;
}

/* The chain: the first source whose variables are set, in the SDKs' order. */
static int
pick_chain(struct creds_source *s, char *err, size_t errlen)
{
	static const int order[] = { MS_CRED_ENV, MS_CRED_WEB_IDENTITY, MS_CRED_PROFILE,
	    MS_CRED_CONTAINER, MS_CRED_IMDS };
	struct ms_creds c;
	char why[512];
	int rc;

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		s->kind = order[i];
		why[0] = '\0';
		rc = setup(s, why, sizeof why);
		if (rc == 0 && s->kind == MS_CRED_PROFILE) {
			rc = read_profile(s, &c, why, sizeof why); /* are the files there? */
			ms_creds_wipe(&c);
		}
		/* A web identity half set up is an error, not a reason to go on. */
		if (rc == -ENOENT && s->kind == MS_CRED_WEB_IDENTITY &&
		    (env("AWS_ROLE_ARN") || env("AWS_WEB_IDENTITY_TOKEN_FILE")))
			rc = -EINVAL;
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			ms_errf(err, errlen, "credentials from %s: %s", creds_kind_name(s->kind), why);
		return rc;
	}
	ms_errf(err, errlen, "no credentials found: no credentials file configured; environment, "
	    "web identity, profile and container not set; %s", why);
	return -ENOENT;
}

int
creds_open(const struct ms_mount *m, struct creds_source **out, struct ms_creds *c, char *err,
    size_t errlen)
{
	struct creds_source *s = calloc(1, sizeof *s);
	char why[512] = "";
	int rc;

	ms_creds_wipe(c);
	if (s == NULL) {
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->m = *m;
	if (m->credentials[0] != '\0' && m->credential_source != MS_CRED_CHAIN) {
		ms_errf(err, errlen, "credentials = and credential_source = %s exclude each other",
		    ms_cred_source_names[m->credential_source]);
		rc = -EINVAL;
	} else if (m->credentials[0] != '\0') {
		s->kind = CREDS_FILE;
		rc = 0;
	} else if (m->credential_source == MS_CRED_CHAIN) {
		rc = pick_chain(s, err, errlen);
	} else {
		s->kind = m->credential_source;
		rc = setup(s, why, sizeof why);
		if (rc < 0)
			ms_errf(err, errlen, "credentials from %s (credential_source = %s): %s",
			    creds_kind_name(s->kind), ms_cred_source_names[m->credential_source], why);
	}
	if (rc == 0 && (rc = creds_get(s, c, err, errlen)) < 0 && m->credentials[0] == '\0' &&
	    m->credential_source == MS_CRED_CHAIN && s->kind == MS_CRED_IMDS) {
		/* The end of the chain: nothing else was set either. */
		snprintf(why, sizeof why, "%s", err);
		ms_errf(err, errlen, "no credentials found: no credentials file configured; "
		    "environment, web identity, profile and container not set; %s", why);
	}
	if (rc < 0) {
		creds_source_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
creds_source_free(struct creds_source *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, sizeof *s);
	free(s);
}
