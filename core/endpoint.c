/*
 * endpoint.c: each mount's endpoint, region and CA file, from its config keys or, where the file
 * gives none, from the AWS SDKs' variables (in their order of precedence) or their defaults. It
 * never overrides a config key, never reads credentials and never opens a connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoint.h"
#include "log.h"

static const char *const region_vars[] = { "AWS_REGION", "AWS_DEFAULT_REGION" };
static const char *const endpoint_vars[] = { "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" };

/* The first of VARS (N of them) set to something other than "": its name, and its value in *V. */
static const char *
first_set(ms_getenv_fn env, const char *const *vars, size_t n, const char **v)
{
	for (size_t i = 0; i < n; i++) {
		*v = env(vars[i]);
		if (*v != NULL && **v != '\0')
			return vars[i];
	}
	*v = NULL;
	return NULL;
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
resolve_region(struct ms_mount *m, ms_getenv_fn env, char *err, size_t errlen)
{
	const char *v, *var;

	if (m->region[0] != '\0') {
		ms_debug("mount %s: region %s (config)", m->name, m->region);
		return 0;
	}
	var = first_set(env, region_vars, sizeof region_vars / sizeof region_vars[0], &v);
	if (var == NULL) {
		strlcpy(m->region, "us-east-1", sizeof m->region);
		ms_debug("mount %s: region us-east-1 (default)", m->name);
		return 0;
	}
	if (!ms_config_valid_name(v))
		return fail(err, errlen, "%s: '%.64s' is not 1-63 of A-Z a-z 0-9 . _ -, starting with "
		    "a letter or digit (for [mount \"%s\"], which has no region key)", var, v, m->name);
	strlcpy(m->region, v, sizeof m->region);
	ms_debug("mount %s: region %s (%s)", m->name, m->region, var);
	return 0;
}

static int
resolve_endpoint(struct ms_mount *m, ms_getenv_fn env, char *err, size_t errlen)
{
	const char *v, *var;
	char why[200], aws[MS_NAME_MAX + 40];

	if (m->endpoint[0] != '\0') {
		ms_debug("mount %s: endpoint %s (config)", m->name, m->endpoint);
		return 0;
	}
	var = first_set(env, endpoint_vars, sizeof endpoint_vars / sizeof endpoint_vars[0], &v);
	if (var == NULL) {
		/* Through a copy: gcc cannot tell that region and endpoint never overlap. */
		snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com%s", m->region,
		    strncmp(m->region, "cn-", 3) == 0 ? ".cn" : "");
		strlcpy(m->endpoint, aws, sizeof m->endpoint);
		ms_debug("mount %s: endpoint %s (AWS's, for the region)", m->name, m->endpoint);
		return 0;
	}
	if (ms_config_endpoint(v, m->endpoint, sizeof m->endpoint, why, sizeof why) < 0) {
		m->endpoint[0] = '\0';
		return fail(err, errlen, "%s: %s (for [mount \"%s\"], which has no endpoint key)", var,
		    why, m->name);
	}
	ms_debug("mount %s: endpoint %s (%s)", m->name, m->endpoint, var);
	return 0;
}

/* PATH can be opened for reading and is a file: 0, or -errno (-EISDIR, -EINVAL for others). */
static int
readable_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	close(fd);
	return rc;
}

/* The CA file: the ca_bundle key, else AWS_CA_BUNDLE, else none; either must be readable now. */
static int
resolve_ca_bundle(struct ms_mount *m, ms_getenv_fn env, char *err, size_t errlen)
{
	const char *v = env("AWS_CA_BUNDLE"), *from = "AWS_CA_BUNDLE";
	char where[MS_NAME_MAX + 32];
	int rc;

	if (m->ca_bundle[0] != '\0') {
		snprintf(where, sizeof where, "[mount \"%s\"] ca_bundle", m->name);
		from = "config";
	} else if (v != NULL && v[0] != '\0') {
		snprintf(where, sizeof where, "AWS_CA_BUNDLE");
		if (v[0] != '/')
			return fail(err, errlen, "AWS_CA_BUNDLE: '%.64s' is not an absolute path", v);
		if (strlcpy(m->ca_bundle, v, sizeof m->ca_bundle) >= sizeof m->ca_bundle) {
			m->ca_bundle[0] = '\0';
			return fail(err, errlen, "AWS_CA_BUNDLE: path too long (max %zu characters)",
			    sizeof m->ca_bundle - 1);
		}
	} else {
		return 0;
	}
	rc = readable_file(m->ca_bundle);
	if (rc < 0) {
		fail(err, errlen, "%s: %s: %s", where, m->ca_bundle, rc == -EINVAL ?
		    "not a regular file" : strerror(-rc));
		return rc;
	}
	ms_debug("mount %s: CA file %s (%s)", m->name, m->ca_bundle, from);
	return 0;
}

int
ms_endpoint_resolve(struct ms_config *cfg, ms_getenv_fn env, char *err, size_t errlen)
{
	int rc;

	for (unsigned i = 0; i < cfg->nmounts; i++) {
		struct ms_mount *m = &cfg->mounts[i];

		/* The region first: the default endpoint is the region's. */
		rc = resolve_region(m, env, err, errlen);
		if (rc == 0)
			rc = resolve_endpoint(m, env, err, errlen);
		if (rc == 0)
			rc = resolve_ca_bundle(m, env, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}
