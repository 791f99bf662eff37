/*
 * walk: lists a tree and stats every entry (opendir/readdir/lstat by path, as ls -lR or os.walk
 * with stat do). Prints "walk ENTRIES FILES BYTES NS".
 * usage: walk DIR
 */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "bench.h"

static uint64_t entries, files, bytes;

static void
walk(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > 64)
		die("walk: %s: too deep", dir);
	if ((d = opendir(dir)) == NULL)
		die("walk: opendir %s: %s", dir, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
			die("walk: path too long under %s", dir);
		if (lstat(path, &st) < 0)
			die("walk: lstat %s: %s", path, strerror(errno));
		entries++;
		if (S_ISDIR(st.st_mode)) {
			walk(path, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			files++;
			bytes += (uint64_t)st.st_size;
		}
	}
	if (errno != 0)
		die("walk: readdir %s: %s", dir, strerror(errno));
	closedir(d);
}

int
main(int argc, char **argv)
{
	uint64_t t0;

	if (argc != 2)
		die("usage: walk DIR");
	t0 = now_ns();
	walk(argv[1], 0);
	printf("walk %llu %llu %llu %llu\n", (unsigned long long)entries, (unsigned long long)files,
	    (unsigned long long)bytes, (unsigned long long)(now_ns() - t0));
	return 0;
}
