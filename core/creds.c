/*
 * creds.c: one mount's S3 credentials, from its AWS shared-credentials file or the AWS_*
 * environment variables, and the profiles of the AWS shared files (credentials and config) that
 * the chain (sidecar/creds_chain.c) reads. It holds secrets only in the caller's struct ms_creds (wiped on every
 * failure), never puts a secret in a message or a log line, never prints and never exits.
 * Only the daemon and the CLI call it; the shim never does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "creds.h"
#include "ini_line.h"

enum { K_ACCESS = 1, K_SECRET = 2, K_TOKEN = 4, K_PROCESS = 8 };

/* State of one credentials-file parse: inih calls read_line() and on_key() with it. */
struct cparse {
	const char *what;  /* the file in messages: "credentials file of mount \"NAME\"" */
	const char *path;
	const char *profile;
	bool config_file; /* [profile NAME] sections; only credential_process is taken */
	char *process;    /* credential_process goes here (PROCLEN bytes), or NULL: not taken */
	size_t proclen;
	FILE *f;
	struct ms_creds *c;
	char *err;
	size_t errlen;
	int rc;           /* first error (-errno), 0 while none */
	int lineno;       /* lines read so far */
	bool in_profile;  /* the current section is [PROFILE] */
	int profile_line; /* line of [PROFILE], 0 if not seen */
	unsigned seen;    /* K_* bits */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct cparse *p, int rc, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Records the first error as "PATH:LINE: message" (LINE 0: "PATH: message"). Returns p->rc. */
static int
fail(struct cparse *p, int rc, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc)
		return p->rc;
	p->rc = rc;
	if (!p->err || !p->errlen)
		return rc;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->path);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* inih handler: keeps the three keys of [PROFILE]; other sections and keys are not ours. */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct cparse *p = user;
	char *dst;
	size_t cap;
	unsigned bit;

	(void)section; /* truncated by inih at 49 characters: read_line() tracks sections */
	if (p->rc)
		return 0;
	if (!p->in_profile)
		return 1;
	if (p->process && !strcmp(name, "credential_process")) {
		bit = K_PROCESS;
		dst = p->process;
		cap = p->proclen;
	} else if (p->config_file) {
		return 1; /* keys belong in the credentials file */
	} else if (!strcmp(name, "aws_access_key_id")) {
		bit = K_ACCESS;
		dst = p->c->access_key;
		cap = sizeof p->c->access_key;
	} else if (!strcmp(name, "aws_secret_access_key")) {
		bit = K_SECRET;
		dst = p->c->secret_key;
		cap = sizeof p->c->secret_key;
	} else if (!strcmp(name, "aws_session_token")) {
		bit = K_TOKEN;
		dst = p->c->session_token;
		cap = sizeof p->c->session_token;
	} else {
		return 1; /* region, output, ...: not ours */
	}
	if (p->seen & bit)
		fail(p, -EINVAL, p->lineno, "[%s] %s: duplicate key", p->profile, name);
	else if (!*value && bit != K_TOKEN)
		fail(p, -EINVAL, p->lineno, "[%s] %s: empty value", p->profile, name);
	else if (strlcpy(dst, value, cap) >= cap)
		fail(p, -EINVAL, p->lineno, "[%s] %s: value too long (max %zu characters)",
		    p->profile, name, cap - 1);
	p->seen |= bit;
	return p->rc == 0;
}

/* A "[NAME]" line (leading blanks already gone): notes whether it opens the wanted profile. */
static int
begin_section(struct cparse *p, const char *line)
{
	const char *in = line + 1, *close = strchr(line, ']');
	size_t len;

	if (!close)
		return fail(p, -EINVAL, p->lineno, "section header without ']'");
	in += strspn(in, " \t");
	len = (size_t)(close - in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	/* A config file names "[profile NAME]", but "[default]" for the default profile. */
	if (p->config_file && strcmp(p->profile, "default") && len > 8 &&
	    !strncmp(in, "profile", 7) && (in[7] == ' ' || in[7] == '\t')) {
		size_t skip = 7 + strspn(in + 7, " \t");

		in += skip;
		len -= skip;
	} else if (p->config_file && strcmp(p->profile, "default")) {
		len = 0; /* [NAME] without "profile" is not NAME's section in a config file */
	}
	p->in_profile = len == strlen(p->profile) && !strncmp(in, p->profile, len);
	if (p->in_profile && p->profile_line)
		return fail(p, -EINVAL, p->lineno, "[%s]: duplicate section (first at line %d)",
		    p->profile, p->profile_line);
	if (p->in_profile)
		p->profile_line = p->lineno;
	return 0;
}

/*
 * inih reader: one whole line into BUF (ms_ini_read_line), tracking sections itself (inih
 * truncates their names). Never copies the line anywhere else, and wipes inih's line buffer
 * (BUF) when it returns NULL, which ends the parse: nothing of the file stays on inih's stack.
 */
static char *
read_line(char *buf, int num, void *stream)
{
	struct cparse *p = stream;
	char why[64];
	int rc;

	if (num <= 0)
		return NULL;
	if (p->rc)
		goto stop;
	rc = ms_ini_read_line(p->f, &p->lineno, buf, num, why, sizeof why);
	if (rc < 0) {
		fail(p, rc, rc == -EIO ? 0 : p->lineno + 1, "%s", why);
		goto stop;
	}
	if (rc == 0)
		goto stop;
	if (buf[0] == '[' && begin_section(p, buf))
		goto stop;
	return buf;
stop:
	explicit_bzero(buf, (size_t)num);
	return NULL;
}

/*
 * Opens PATH safely (no blocking on a FIFO) and checks it is a regular file, private unless it
 * is a config file (which holds no secret: only credential_process is read from it).
 */
static int
open_private(struct cparse *p, int *fdp)
{
	struct stat st;
	int fd, rc;

	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return fail(p, rc, 0, "%s does not exist", p->what);
		return fail(p, rc, 0, "cannot open %s: %s", p->what, strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fail(p, rc, 0, "cannot stat credentials file: %s", strerror(-rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(p, -EINVAL, 0, "%s is not a regular file", p->what);
	}
	if ((st.st_mode & 077) && !p->config_file) {
		close(fd);
		return fail(p, -EACCES, 0, "credentials file is open to group or others "
		    "(mode %04o); run: chmod 600 %s", (unsigned)(st.st_mode & 07777), p->path);
	}
	*fdp = fd;
	return 0;
}

/* Parses the file of P, whose parse state it fills; 0 or p->rc. */
static int
parse_file(struct cparse *pp)
{
	struct cparse p = *pp;
	char iobuf[BUFSIZ]; /* stdio's buffer holds secrets: ours, so it can be wiped */
	int fd = -1, r;

	if (open_private(&p, &fd)) {
		*pp = p;
		return p.rc;
	}
	p.f = fdopen(fd, "r");
	if (!p.f) {
		r = -errno;
		close(fd);
		return fail(&p, r, 0, "fdopen: %s", strerror(-r));
	}
	setvbuf(p.f, iobuf, _IOFBF, sizeof iobuf);
	r = ini_parse_stream(read_line, &p, on_key, &p);
	if (r > 0)
		fail(&p, -EINVAL, r, "syntax error");
	else if (r < 0)
		fail(&p, -ENOMEM, 0, "out of memory");
	fclose(p.f);
	explicit_bzero(iobuf, sizeof iobuf);
	*pp = p;
	return p.rc;
}

static int
load_file(const struct ms_mount *m, struct ms_creds *c, char *err, size_t errlen)
{
	char what[MS_NAME_MAX + 40];
	struct cparse p = {
		.what = what, .path = m->credentials, .c = c, .err = err, .errlen = errlen,
		.profile = m->profile[0] ? m->profile : "default",
	};

	snprintf(what, sizeof what, "credentials file of mount \"%s\"", m->name);
	if (parse_file(&p))
		return p.rc;
	if (!p.profile_line)
		return fail(&p, -ENOENT, 0, "profile [%s] (mount \"%s\") not found", p.profile,
		    m->name);
	if (!(p.seen & K_ACCESS))
		return fail(&p, -EINVAL, p.profile_line, "[%s] aws_access_key_id: missing",
		    p.profile);
	if (!(p.seen & K_SECRET))
		return fail(&p, -EINVAL, p.profile_line, "[%s] aws_secret_access_key: missing",
		    p.profile);
	return 0;
}

/* Copies environment variable VAR into DST; -EINVAL if too long (the value is not quoted). */
static int
from_env(const char *var, char *dst, size_t cap, char *err, size_t errlen)
{
	const char *v = getenv(var);

	if (!v || !*v)
		return 0;
	if (strlcpy(dst, v, cap) >= cap) {
		set_err(err, errlen, "%s: value too long (max %zu characters)", var, cap - 1);
		return -EINVAL;
	}
	return 0;
}

static int
load_env(const struct ms_mount *m, struct ms_creds *c, char *err, size_t errlen)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *key = getenv("AWS_SECRET_ACCESS_KEY");
	bool have_id = id && *id, have_key = key && *key;

	if (!have_id && !have_key) {
		set_err(err, errlen, "mount \"%s\": no credentials file configured and "
		    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set", m->name);
		return -ENOENT;
	}
	if (!have_id || !have_key) {
		set_err(err, errlen, "mount \"%s\": %s is set but %s is not", m->name,
		    have_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    have_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -EINVAL;
	}
	if (from_env("AWS_ACCESS_KEY_ID", c->access_key, sizeof c->access_key, err, errlen) ||
	    from_env("AWS_SECRET_ACCESS_KEY", c->secret_key, sizeof c->secret_key, err, errlen) ||
	    from_env("AWS_SESSION_TOKEN", c->session_token, sizeof c->session_token, err, errlen))
		return -EINVAL;
	return 0;
}

int
ms_creds_read_profile(const char *path, const char *profile, bool config_file,
    struct ms_creds *c, char *process, size_t proclen, char *err, size_t errlen)
{
	struct cparse p = {
		.what = config_file ? "AWS config file" : "AWS shared credentials file",
		.path = path, .profile = profile, .config_file = config_file, .c = c,
		.process = process, .proclen = proclen, .err = err, .errlen = errlen,
	};

	if (err && errlen)
		err[0] = '\0';
	if (process && proclen)
		process[0] = '\0';
	ms_creds_wipe(c);
	if (parse_file(&p) == 0 && !p.profile_line)
		fail(&p, -ENOENT, 0, "no profile [%s]", profile);
	else if (p.rc == 0 && (p.seen & (K_ACCESS | K_SECRET)) == K_ACCESS)
		fail(&p, -EINVAL, p.profile_line, "[%s] aws_secret_access_key: missing", profile);
	else if (p.rc == 0 && (p.seen & (K_ACCESS | K_SECRET)) == K_SECRET)
		fail(&p, -EINVAL, p.profile_line, "[%s] aws_access_key_id: missing", profile);
	else if (p.rc == 0 && !(p.seen & (K_ACCESS | K_PROCESS)))
		fail(&p, -ENOENT, p.profile_line, "[%s]: no keys%s", profile,
		    process ? " and no credential_process" : "");
	if (p.rc)
		ms_creds_wipe(c);
	return p.rc;
}

int
ms_creds_load(const struct ms_mount *m, struct ms_creds *c, char *err, size_t errlen)
{
	int rc;

	if (err && errlen)
		err[0] = '\0';
	ms_creds_wipe(c);
	if (m->credentials[0])
		rc = load_file(m, c, err, errlen);
	else
		rc = load_env(m, c, err, errlen);
	if (rc)
		ms_creds_wipe(c);
	return rc;
}

void
ms_creds_wipe(struct ms_creds *c)
{
	if (c)
		explicit_bzero(c, sizeof *c);
}
