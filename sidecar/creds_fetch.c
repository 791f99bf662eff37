/*
 * creds_fetch.c: the credential sources that answer over HTTP (STS AssumeRoleWithWebIdentity,
 * the container credentials endpoint, IMDSv2) or run a program (credential_process). Each call
 * is bounded: short curl timeouts, answers capped at MS_CREDS_JSON_MAX, a process killed after
 * PROCESS_TIMEOUT_S. Tokens and keys pass through stack buffers that are wiped before return;
 * nothing secret reaches a message. The daemon and `import` only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "creds_chain.h"
#include "errmsg.h"
#include "s3.h"

#define CONNECT_TIMEOUT_MS 2000L
#define TOTAL_TIMEOUT_MS 10000L
#define IMDS_TIMEOUT_MS 2000L /* as the SDKs: an instance answers at once, elsewhere nobody does */
#define PROCESS_TIMEOUT_S 60
#define TOKEN_FILE_MAX (16u << 10)

extern char **environ;

/* An answer body, capped. */
struct body {
	char buf[MS_CREDS_JSON_MAX + 1];
	size_t len;
	bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > MS_CREDS_JSON_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/*
 * One request: METHOD to URL with HDRS (and BODY for a POST), no proxy when DIRECT (link-local
 * endpoints), trusting CA_FILE's CAs when it is not "" (the mount's ca_bundle or AWS_CA_BUNDLE,
 * as for the store), at most TIMEOUT_MS. 0 with *status and B filled, or -EIO with the transport
 * failure in ERR.
 */
static int
http_call(const char *method, const char *url, struct curl_slist *hdrs, const char *post,
    bool direct, const char *ca_file, long timeout_ms, struct body *b, long *status, char *err,
    size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	CURL *e = curl_easy_init();
	CURLcode cc;

	b->len = 0;
	b->buf[0] = '\0';
	b->too_big = false;
	*status = 0;
	if (e == NULL) {
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < CONNECT_TIMEOUT_MS ?
	    timeout_ms : CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
	if (direct)
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	if (ca_file != NULL && ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	if (post != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	} else if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	}
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(e);
	if (b->too_big) {
		ms_errf(err, errlen, "%s %s: the answer is over %u bytes", method, url,
		    MS_CREDS_JSON_MAX);
		return -EIO;
	}
	if (cc != CURLE_OK) {
		ms_errf(err, errlen, "%s %s: %s%s%s%s", method, url, curl_easy_strerror(cc),
		    cerr[0] ? " (" : "", cerr, cerr[0] ? ")" : "");
		return -EIO;
	}
	return 0;
}

/* Wipes the header values (tokens) of H and frees it. */
static void
free_headers(struct curl_slist *h)
{
	for (struct curl_slist *l = h; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
}

/* Header "NAME: VALUE" appended to *H; -ENOMEM. The line is wiped from our stack. */
static int
add_header(struct curl_slist **h, const char *name, const char *value)
{
	char line[4400];
	struct curl_slist *n;

	if (snprintf(line, sizeof line, "%s: %s", name, value) >= (int)sizeof line)
		return -ENAMETOOLONG;
	n = curl_slist_append(*h, line);
	explicit_bzero(line, sizeof line);
	if (n == NULL)
		return -ENOMEM;
	*h = n;
	return 0;
}

/* Reads a token file (whole, trimmed) into BUF; -errno with a message naming PATH. */
static int
read_token_file(const char *what, const char *path, char *buf, size_t cap, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		ms_errf(err, errlen, "cannot read %s %s: %s", what, path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		ms_errf(err, errlen, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (rc == 0 && len == cap - 1)
		rc = -EFBIG;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		buf[--len] = '\0';
	if (rc == 0 && (len == 0 || strpbrk(buf, "\r\n") != NULL))
		rc = -EINVAL;
	if (rc < 0) {
		explicit_bzero(buf, cap);
		ms_errf(err, errlen, "%s %s: %s", what, path, rc == -EFBIG ? "too large" :
		    rc == -EINVAL ? "empty, or more than one line" : strerror(-rc));
	}
	return rc;
}

/* The <Code>: <Message> of an error answer, or its status alone. */
static void
describe_refusal(const char *who, long status, const struct body *b, bool xml, char *err,
    size_t errlen)
{
	struct ms_creds scratch;
	char what[400] = "";

	if (xml && ms_creds_sts_parse(b->buf, b->len, &scratch, what, sizeof what) == -EACCES)
		ms_errf(err, errlen, "%s answered HTTP %ld: %s", who, status, what);
	else
		ms_errf(err, errlen, "%s answered HTTP %ld", who, status);
	ms_creds_wipe(&scratch);
}

int
creds_fetch_web_identity(const struct creds_remote *r, struct ms_creds *c, char *err,
    size_t errlen)
{
	char token[TOKEN_FILE_MAX], form[TOKEN_FILE_MAX * 3 + 8192], url[1100], why[400] = "";
	char *arn = NULL, *name = NULL, *tok = NULL;
	struct body *b = NULL;
	long status;
	int rc;

	rc = read_token_file("AWS_WEB_IDENTITY_TOKEN_FILE", r->token_file, token, sizeof token,
	    err, errlen);
	if (rc < 0)
		return rc;
	b = malloc(sizeof *b);
	arn = curl_easy_escape(NULL, r->role_arn, 0);
	name = curl_easy_escape(NULL, r->session_name, 0);
	tok = curl_easy_escape(NULL, token, 0);
	explicit_bzero(token, sizeof token);
	if (b == NULL || arn == NULL || name == NULL || tok == NULL) {
		ms_errf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	if (snprintf(form, sizeof form, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&"
	    "RoleArn=%s&RoleSessionName=%s&WebIdentityToken=%s", arn, name, tok) >=
	    (int)sizeof form) {
		ms_errf(err, errlen, "the web identity token is too long");
		rc = -EINVAL;
		goto out;
	}
	/* STS is asked at its root: "https://sts.REGION.amazonaws.com/" or the override as given. */
	snprintf(url, sizeof url, "%s%s", r->sts_url, strchr(strstr(r->sts_url, "://") ?
	    strstr(r->sts_url, "://") + 3 : r->sts_url, '/') ? "" : "/");
	rc = http_call("POST", url, NULL, form, false, r->ca_file, TOTAL_TIMEOUT_MS, b, &status, why,
	    sizeof why);
	if (rc < 0) {
		ms_errf(err, errlen, "STS AssumeRoleWithWebIdentity: %s", why);
		goto out;
	}
	if (status != 200) {
		describe_refusal("STS AssumeRoleWithWebIdentity", status, b, true, err, errlen);
		rc = status == 401 || status == 403 ? -EACCES : -EIO;
		goto out;
	}
	rc = ms_creds_sts_parse(b->buf, b->len, c, why, sizeof why);
	if (rc < 0)
		ms_errf(err, errlen, "STS AssumeRoleWithWebIdentity at %s: %s", url, why);
out:
	explicit_bzero(form, sizeof form);
	if (tok != NULL)
		explicit_bzero(tok, strlen(tok));
	curl_free(tok);
	curl_free(arn);
	curl_free(name);
	if (b != NULL)
		explicit_bzero(b, sizeof *b);
	free(b);
	return rc;
}

int
creds_fetch_container(const struct creds_remote *r, struct ms_creds *c, char *err,
    size_t errlen)
{
	char token[TOKEN_FILE_MAX], why[400] = "";
	struct curl_slist *h = NULL;
	struct body *b = malloc(sizeof *b);
	long status;
	int rc = 0;

	if (b == NULL) {
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	token[0] = '\0';
	if (r->auth_file[0] != '\0')
		rc = read_token_file("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", r->auth_file, token,
		    sizeof token, err, errlen);
	else
		strlcpy(token, r->auth_token, sizeof token);
	if (rc == 0 && strpbrk(token, "\r\n") != NULL) {
		ms_errf(err, errlen, "the authorization token holds a line break");
		rc = -EINVAL;
	}
	if (rc == 0 && token[0] != '\0')
		rc = add_header(&h, "Authorization", token);
	explicit_bzero(token, sizeof token);
	if (rc == 0) {
		rc = http_call("GET", r->container_url, h, NULL, true, r->ca_file, TOTAL_TIMEOUT_MS, b, &status,
		    why, sizeof why);
		if (rc < 0)
			ms_errf(err, errlen, "%s", why);
	}
	if (rc == 0 && status != 200) {
		ms_errf(err, errlen, "GET %s answered HTTP %ld%s", r->container_url, status,
		    status == 401 || status == 403 ? " (check the authorization token)" : "");
		rc = -EACCES;
	}
	if (rc == 0) {
		rc = ms_creds_json_parse(b->buf, b->len, false, c, why, sizeof why);
		if (rc < 0)
			ms_errf(err, errlen, "GET %s: bad credentials JSON: %s", r->container_url, why);
	}
	free_headers(h);
	explicit_bzero(b, sizeof *b);
	free(b);
	return rc;
}

/* One IMDS step: METHOD BASE PATH with H; the body in B on 200, else -errno and a message. */
static int
imds_call(const char *method, const char *base, const char *path, struct curl_slist *h,
    struct body *b, char *err, size_t errlen)
{
	char url[1200], why[400] = "";
	long status;
	int rc;

	snprintf(url, sizeof url, "%s%s", base, path);
	rc = http_call(method, url, h, NULL, true, NULL, IMDS_TIMEOUT_MS, b, &status, why, sizeof why);
	if (rc < 0) {
		ms_errf(err, errlen, "%s", why);
		return rc;
	}
	if (status != 200) {
		ms_errf(err, errlen, "%s %s answered HTTP %ld", method, url, status);
		return status == 401 || status == 403 ? -EACCES : -EIO;
	}
	return 0;
}

int
creds_fetch_imds(const struct creds_remote *r, struct ms_creds *c, char *err, size_t errlen)
{
	static const char creds_path[] = "/latest/meta-data/iam/security-credentials/";
	char base[1024], token[1024], role[256], path[sizeof creds_path + sizeof role], why[400];
	struct curl_slist *h = NULL;
	struct body *b = malloc(sizeof *b);
	size_t len;
	int rc;

	if (b == NULL) {
		ms_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	strlcpy(base, r->imds_url, sizeof base);
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';
	rc = add_header(&h, "X-aws-ec2-metadata-token-ttl-seconds", "21600");
	if (rc == 0)
		rc = imds_call("PUT", base, "/latest/api/token", h, b, err, errlen);
	free_headers(h);
	h = NULL;
	if (rc == 0 && (b->len == 0 || b->len >= sizeof token || strpbrk(b->buf, "\r\n"))) {
		ms_errf(err, errlen, "PUT %s/latest/api/token: no usable token in the answer", base);
		rc = -EBADMSG;
	}
	if (rc == 0) {
		memcpy(token, b->buf, b->len + 1);
		rc = add_header(&h, "X-aws-ec2-metadata-token", token);
		explicit_bzero(token, sizeof token);
	}
	if (rc == 0)
		rc = imds_call("GET", base, creds_path, h, b, err, errlen);
	if (rc == 0) {
		b->buf[strcspn(b->buf, "\r\n")] = '\0';
		if (b->buf[0] == '\0' || strlen(b->buf) >= sizeof role || strchr(b->buf, '/')) {
			ms_errf(err, errlen, "GET %s%s: no role name in the answer", base, creds_path);
			rc = -EBADMSG;
		} else {
			strlcpy(role, b->buf, sizeof role);
			snprintf(path, sizeof path, "%s%s", creds_path, role);
			rc = imds_call("GET", base, path, h, b, err, errlen);
		}
	}
	if (rc == 0) {
		rc = ms_creds_json_parse(b->buf, b->len, false, c, why, sizeof why);
		if (rc < 0)
			ms_errf(err, errlen, "GET %s%s: bad credentials JSON: %s", base, path, why);
	}
	free_headers(h);
	explicit_bzero(b, sizeof *b);
	free(b);
	return rc;
}

/* Reads FD (the process's stdout) into B until EOF or the deadline; -ETIMEDOUT, -EFBIG. */
static int
read_output(int fd, struct body *b, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	b->len = 0;
	for (;;) {
		uint64_t now = ms_now_ms();

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline_ms - now)) < 0 && errno != EINTR)
			return -errno;
		if (p.revents == 0)
			continue;
		if (b->len == MS_CREDS_JSON_MAX)
			return -EFBIG;
		n = read(fd, b->buf + b->len, MS_CREDS_JSON_MAX - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
	}
}

int
creds_fetch_process(const struct creds_remote *r, struct ms_creds *c, char *err, size_t errlen)
{
	char *const argv[] = { "/bin/sh", "-c", (char *)r->process, NULL };
	posix_spawn_file_actions_t fa;
	struct body *b = malloc(sizeof *b);
	char why[400] = "";
	int pipefd[2], rc, status = 0;
	pid_t pid;

	if (b == NULL || pipe2(pipefd, O_CLOEXEC) < 0) {
		free(b);
		ms_errf(err, errlen, "cannot run credential_process: %s", strerror(errno));
		return -EIO;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		free(b);
		ms_errf(err, errlen, "cannot run credential_process: %s", strerror(rc));
		return -EIO;
	}
	rc = read_output(pipefd[0], b, ms_now_ms() + PROCESS_TIMEOUT_S * 1000u);
	close(pipefd[0]);
	if (rc == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == -ETIMEDOUT)
		ms_errf(err, errlen, "credential_process did not finish within %d s (killed)",
		    PROCESS_TIMEOUT_S);
	else if (rc < 0)
		ms_errf(err, errlen, "credential_process: reading its output: %s", rc == -EFBIG ?
		    "over 64 KiB" : strerror(-rc));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ms_errf(err, errlen, "credential_process failed (%s %d)", WIFEXITED(status) ?
		    "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
	else if ((rc = ms_creds_json_parse(b->buf, b->len, true, c, why, sizeof why)) < 0)
		ms_errf(err, errlen, "credential_process printed bad JSON: %s", why);
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = -EIO;
	explicit_bzero(b, sizeof *b);
	free(b);
	return rc < 0 ? (rc == -EBADMSG ? rc : -EIO) : 0;
}
