/* shim_virtual: realpath, canonicalize_file_name, getcwd, readlink of /proc/self/fd/N and /proc/self/cwd show virtual paths, never cache paths (FORTIFY build: the __*_chk variants). */
#if defined(__OPTIMIZE__) && !defined(_FORTIFY_SOURCE)
#define _FORTIFY_SOURCE 2
#endif
#include "shimtest.h"

#include <dirent.h>
#include <limits.h>

static int bad;

static void
same(const char *got, const char *want, const char *what)
{
	if (got == NULL) {
		printf("%s: FAIL: %s: %s, want \"%s\"\n", st_prog, what, strerror(errno), want);
		bad = 1;
	} else if (strcmp(got, want) != 0) {
		printf("%s: FAIL: %s = \"%s\", want \"%s\"\n", st_prog, what, got, want);
		bad = 1;
	} else {
		printf("%s: %s = %s ok\n", st_prog, what, got);
	}
}

static void
link_is(const char *link, const char *want, const char *what)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof buf - 1);

	if (n >= 0)
		buf[n] = 0;
	same(n < 0 ? NULL : buf, want, what);
}

int
main(int argc, char **argv)
{
	const char *file = argv[1], *dir = argv[2], *name;
	char buf[PATH_MAX], path[PATH_MAX + 64], *p;
	struct stat a, b;
	int fd, dfd;

	st_init(argc, argv, 2, "VIRTUAL_FILE_IN_DIR VIRTUAL_DIR");
#ifdef _FORTIFY_SOURCE
	st_say("built with _FORTIFY_SOURCE=%d", _FORTIFY_SOURCE);
#endif
	name = strrchr(file, '/') + 1;
	same(realpath(file, buf), file, "realpath(file)");
	snprintf(path, sizeof path, "%s/./../%s/%s", dir, strrchr(dir, '/') + 1, name);
	same(realpath(path, buf), file, "realpath(dir/./../dir/file)");
	same((p = realpath(dir, NULL)), dir, "realpath(dir, NULL)");
	free(p);
	same((p = canonicalize_file_name(file)), file, "canonicalize_file_name(file)");
	free(p);

	fd = st_open(file, O_RDONLY);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	link_is(path, file, "readlink(/proc/self/fd/N of the file)");
	same(realpath(path, buf), file, "realpath(/proc/self/fd/N)");
	dfd = st_open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof path, "/proc/self/fd/%d", dfd);
	link_is(path, dir, "readlink(/proc/self/fd/N of the dir)");
	{
		ssize_t n = readlinkat(AT_FDCWD, path, buf, sizeof buf - 1);

		if (n >= 0)
			buf[n] = 0;
		same(n < 0 ? NULL : buf, dir, "readlinkat(AT_FDCWD, /proc/self/fd/N)");
	}
	if (fstat(fd, &a) < 0 || stat(file, &b) < 0)
		st_die("fstat/stat: %s", strerror(errno));
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev || a.st_size != b.st_size ||
	    a.st_mtim.tv_sec != b.st_mtim.tv_sec) {
		printf("%s: FAIL: stat(path) and fstat(fd) disagree (ino %llu/%llu, size %lld/%lld)\n",
		    st_prog, (unsigned long long)b.st_ino, (unsigned long long)a.st_ino,
		    (long long)b.st_size, (long long)a.st_size);
		bad = 1;
	} else {
		st_say("stat(path) agrees with fstat(fd)");
	}

	if (chdir(dir) < 0)
		st_die("chdir(%s): %s", dir, strerror(errno));
	same(getcwd(buf, sizeof buf), dir, "getcwd after chdir");
	same((p = getcwd(NULL, 0)), dir, "getcwd(NULL, 0)");
	free(p);
	same((p = get_current_dir_name()), dir, "get_current_dir_name()");
	free(p);
	link_is("/proc/self/cwd", dir, "readlink(/proc/self/cwd)");
	same(realpath(".", buf), dir, "realpath(.)");
	same(realpath(name, buf), file, "realpath(relative name)");
	if (fchdir(dfd) < 0)
		st_die("fchdir: %s", strerror(errno));
	same(getcwd(buf, sizeof buf), dir, "getcwd after fchdir");
	close(fd);
	close(dfd);
	if (bad)
		st_die("a cache path (or an error) showed where a virtual path belongs (see above)");
	st_say("every path shown is virtual");
	return 0;
}
