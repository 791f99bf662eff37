/* test_walk.c: the one tree walker: keys with and without a prefix, post-order directories, entries that are neither files nor dirs, a missing dir, stopping at a callback's error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "walk.h"

static char dir[64];

/* What a walk saw, in order: "f:KEY", "d:KEY", "o:KEY", one per line. */
struct seen {
	char log[4096];
	int stop_at; /* return -ECANCELED from the Nth callback (0: never) */
	int calls;
};

static int
note(struct seen *s, const char *kind, const char *key)
{
	strlcat(s->log, kind, sizeof s->log);
	strlcat(s->log, key, sizeof s->log);
	strlcat(s->log, "\n", sizeof s->log);
	return ++s->calls == s->stop_at ? -ECANCELED : 0;
}

static int on_file(void *a, const char *path, const char *key) { (void)path; return note(a, "f:", key); }
static int on_dir(void *a, const char *path, const char *key) { (void)path; return note(a, "d:", key); }
static int on_other(void *a, const char *path, const char *key) { (void)path; return note(a, "o:", key); }

static void
make(const char *rel, bool is_dir)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (is_dir)
		cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
	else
		cr_assert_eq(close(open(p, O_WRONLY | O_CREAT, 0644)), 0, "create %s", p);
}

static void
setup(void)
{
	char p[256];

	strlcpy(dir, "/tmp/ms-walk-XXXXXX", sizeof dir);
	cr_assert_not_null(mkdtemp(dir));
	make("a", true);
	make("a/b", true);
	make("a/b/x.bin", false);
	make("top.bin", false);
	snprintf(p, sizeof p, "%s/a/link", dir);
	cr_assert_eq(symlink("/etc/passwd", p), 0);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(walk, .init = setup, .fini = teardown);

/* Entry order within a directory is the file system's: compare sorted lines, and order apart. */
static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sorted(const char *log, char *out, size_t outlen)
{
	char copy[4096], *lines[64], *save = NULL, *l;
	size_t n = 0, i;

	strlcpy(copy, log, sizeof copy);
	for (l = strtok_r(copy, "\n", &save); l != NULL && n < 64; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof *lines, cmp_lines);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strlcat(out, lines[i], outlen);
		strlcat(out, "\n", outlen);
	}
}

Test(walk, keys_dirs_and_others)
{
	const struct ms_walk_ops ops = { .file = on_file, .dir_done = on_dir, .other = on_other };
	struct seen s = { .stop_at = 0 };
	char got[4096];

	cr_assert_eq(ms_walk(dir, "", &ops, &s), 0);
	sorted(s.log, got, sizeof got);
	cr_expect_str_eq(got, "d:a\nd:a/b\nf:a/b/x.bin\nf:top.bin\no:a/link\n");
	/* Post-order: a directory comes after everything below it. */
	cr_expect(strstr(s.log, "f:a/b/x.bin") < strstr(s.log, "d:a/b"));
	cr_expect(strstr(s.log, "d:a/b") < strstr(s.log, "d:a\n"));
}

Test(walk, prefix_and_maps_only)
{
	struct seen s = { .stop_at = 0 };
	char sub[128], got[4096];

	snprintf(sub, sizeof sub, "%s/a", dir);
	cr_assert_eq(ms_walk_maps(sub, on_file, &s), 0);
	cr_expect_str_eq(s.log, "f:b/x.bin\n", "files only, no link, keys relative to the dir");
	memset(&s, 0, sizeof s);
	{
		const struct ms_walk_ops ops = { .file = on_file };

		cr_assert_eq(ms_walk(sub, "a", &ops, &s), 0);
	}
	sorted(s.log, got, sizeof got);
	cr_expect_str_eq(got, "f:a/b/x.bin\n", "keys start with the prefix");
}

Test(walk, missing_dir_and_stop)
{
	const struct ms_walk_ops ops = { .file = on_file, .dir_done = on_dir, .other = on_other };
	struct seen s = { .stop_at = 2 };
	char missing[128];

	snprintf(missing, sizeof missing, "%s/nope", dir);
	cr_expect_eq(ms_walk(missing, "", &ops, &s), 0, "a missing dir is empty");
	cr_expect_eq(s.calls, 0);
	cr_expect_eq(ms_walk(dir, "", &ops, &s), -ECANCELED, "the first callback error is returned");
	cr_expect_eq(s.calls, 2, "nothing after it");
}
