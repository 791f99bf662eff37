/*
 * object.c: opening a virtual file's object: its map loaded (bits trusted only from this boot
 * and only if the map names this very data file), a pin (shared flock) on an incomplete object
 * with a re-check that the path still names it, verify = open, small objects filled whole, and
 * the table entry; fds inherited across exec adopted and filled. Never writes to the cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "file.h"
#include "log.h"
#include "map.h"
#include "shim.h"
#include "verify.h"

#define SMALL_OBJECT_CHUNKS 4

static struct shim_file *
file_new(const struct shim_path *p, const struct stat *st)
{
	struct shim_file *f = calloc(1, sizeof *f);

	if (f == NULL)
		return NULL;
	atomic_init(&f->refs, 1);
	f->mount = p->mount;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = (uint64_t)st->st_size;
	f->key = strdup(p->key);
	if (f->key == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

/* Loads the object's map into F; an object whose map is missing or foreign gets no chunk. */
static int
load_map(struct shim_file *f)
{
	char state[MS_OBJECT_PATH_MAX];
	struct ms_map map = { .fd = -1 };
	size_t nbytes;
	int rc;

	rc = ms_cache_object_path(&shim.cfg, &shim.cfg.mounts[f->mount], MS_AREA_STATE, f->key, state,
	    sizeof state);
	if (rc == 0)
		rc = ms_map_open(&map, state, false);
	if (rc < 0 || !ms_map_names(&map, (uint64_t)f->ino, f->size)) {
		if (rc == 0)
			ms_map_close(&map);
		f->chunk_size = shim.cfg.chunk_size;
		f->nchunks = ms_chunks_for(f->size, f->chunk_size);
		f->bits = calloc(((size_t)f->nchunks + 7) / 8 + 1, 1);
		return f->bits != NULL ? 0 : -ENOMEM;
	}
	f->chunk_size = map.hdr.chunk_size;
	f->nchunks = map.hdr.nchunks;
	f->mtime = map.hdr.mtime;
	nbytes = ((size_t)f->nchunks + 7) / 8;
	f->bits = calloc(nbytes + 1, 1);
	if (f->bits != NULL && ms_map_same_boot(&map))
		memcpy(f->bits, map.bits, nbytes);
	ms_map_close(&map);
	return f->bits != NULL ? 0 : -ENOMEM;
}

/*
 * verify = open: the chunks F has as present are checked against their checksums before the
 * file is served. Bad ones are dropped by the daemon (it checks again) and F's bits reloaded,
 * so that reading them refetches. -EIO if they cannot be dropped (no daemon).
 */
static int
verify_on_open(int fd, struct shim_file *f)
{
	char state[MS_OBJECT_PATH_MAX], err[512];
	struct ms_map map = { .fd = -1 };
	uint32_t i, bad = 0;
	uint8_t *buf;
	int rc;

	if (ms_cache_object_path(&shim.cfg, &shim.cfg.mounts[f->mount], MS_AREA_STATE, f->key,
	    state, sizeof state) < 0 || ms_map_open(&map, state, false) < 0)
		return 0; /* load_map found no map either: nothing is served from the cache */
	buf = malloc(MS_VERIFY_BUF);
	if (buf == NULL) {
		ms_map_close(&map);
		return -ENOMEM;
	}
	for (i = 0; i < f->nchunks && i < map.hdr.nchunks; i++)
		if (shim_file_has(f, i, i + 1) && ms_map_has(&map, i) &&
		    ms_verify_chunk(fd, &map, i, buf, MS_VERIFY_BUF) < 0)
			bad++;
	free(buf);
	ms_map_close(&map);
	if (bad == 0)
		return 0;
	rc = shim_conn_verify(f->mount, f->key, (uint64_t)f->ino, err, sizeof err);
	if (rc < 0 && rc != -EBADMSG) {
		ms_warn("%u chunks of %s/%s fail their checksum and could not be dropped: %s", bad,
		    shim.cfg.mounts[f->mount].path, f->key, err);
		atomic_store(&f->warned, true);
		return -EIO;
	}
	free(f->bits);
	f->bits = NULL;
	return load_map(f);
}

static void
mark_complete(int fd)
{
	if ((unsigned)fd < shim_fd_kind_size)
		shim_fd_uninstall(fd, NULL, FD_COMPLETE);
}

/*
 * Pins FD, just opened on P's tree file, before anything about that file is trusted: a shared
 * flock (the daemon evicts no object held so; it holds an exclusive one through each eviction),
 * then a check that the path still names FD's file. An eviction between the open and the flock
 * replaced it: the object's new file is opened onto FD (same flags; FD is fresh, so nothing
 * shares it) and ST updated. Returns 1 when pinned, 0 when it cannot be (the flock stayed busy
 * for a second, or FD refuses flocks): the object is then served as before, unpinned.
 */
static int
pin(int fd, const struct shim_path *p, struct stat *st)
{
	struct timespec ms = { 0, 1000 * 1000 };
	struct stat now;
	int tries, waits, nfd, fl, fdfl;

	for (tries = 0; tries < 8; tries++) {
		for (waits = 0; flock(fd, LOCK_SH | LOCK_NB) < 0; waits++) {
			/* The daemon holds LOCK_EX only for a check or an eviction: an instant. */
			if ((errno != EWOULDBLOCK && errno != EINTR) || waits == 1000)
				return 0;
			nanosleep(&ms, NULL);
		}
		if (stat(p->tree, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
			return 1;
		if ((fl = REAL(fcntl)(fd, F_GETFL)) < 0 || (fdfl = REAL(fcntl)(fd, F_GETFD)) < 0)
			return -errno;
		nfd = REAL(openat)(AT_FDCWD, p->tree, fl & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (nfd < 0)
			return -errno;
		if (REAL(dup3)(nfd, fd, (fdfl & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0) < 0) {
			REAL(close)(nfd);
			return -errno;
		}
		REAL(close)(nfd);
		if (REAL(fstat)(fd, st) < 0)
			return -errno;
		if (!S_ISREG(st->st_mode))
			return -ESTALE;
	}
	return -ESTALE;
}

/* FRESH: FD was just opened by us (not inherited: its file may be shared with another process). */
static int
track_open(int fd, const struct shim_path *p, bool fresh)
{
	struct shim_file *f;
	struct stat st;
	int rc, pinned = 0;

	if (fd < 0 || REAL(fstat)(fd, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return 0;
	f = file_new(p, &st);
	if (f == NULL)
		return -ENOMEM;
	if (S_ISDIR(st.st_mode)) {
		f->is_dir = true;
	} else {
		rc = load_map(f);
		/*
		 * A map that names this very file with every chunk present: complete, nothing to pin
		 * (the hit path). Anything else is pinned before it is trusted; if an eviction replaced
		 * the file between the open and the pin, pin() reopened FD and its map is read again.
		 */
		if (rc == 0 && fresh && !shim_file_has(f, 0, f->nchunks)) {
			pinned = pin(fd, p, &st);
			if (pinned < 0) {
				rc = pinned;
			} else if (st.st_ino != f->ino || st.st_dev != f->dev) {
				shim_file_free(f);
				f = file_new(p, &st);
				rc = f != NULL ? load_map(f) : -ENOMEM;
				if (f == NULL)
					return rc;
			}
		}
		if (rc < 0) {
			shim_file_free(f);
			return rc;
		}
		shim_conn_touch(p->mount, p->key, (uint64_t)st.st_ino);
		if (shim.cfg.verify_on_open && (rc = verify_on_open(fd, f)) < 0) {
			shim_file_free(f);
			return rc;
		}
		/* A complete file needs no pin: the daemon may replace it, our bytes stay. */
		if (shim_file_has(f, 0, f->nchunks)) {
			shim_file_free(f);
			if (pinned)
				flock(fd, LOCK_UN);
			mark_complete(fd);
			return 0;
		}
		/* Small objects are filled whole now; and an fd past the table must be complete. */
		if (f->nchunks <= SMALL_OBJECT_CHUNKS || (unsigned)fd >= shim_fd_kind_size) {
			rc = shim_file_ensure(f, fd, 0, 0);
			/* Its error was just reported: the first read must not wait out the same again. */
			atomic_store(&f->open_fill_failed, rc < 0);
			if ((unsigned)fd >= shim_fd_kind_size || atomic_load(&f->complete)) {
				shim_file_free(f);
				if (pinned)
					flock(fd, LOCK_UN);
				mark_complete(fd);
				return (unsigned)fd >= shim_fd_kind_size ? rc : 0;
			}
		}
	}
	if ((unsigned)fd >= shim_fd_kind_size) {
		shim_file_free(f);
		return 0;
	}
	/* An incomplete object open here stays pinned until closed (an inherited fd: pinned now). */
	if (!f->is_dir && !pinned)
		flock(fd, LOCK_SH | LOCK_NB);
	shim_fd_install(fd, f);
	return 0;
}

int
shim_track_open(int fd, const struct shim_path *p)
{
	return track_open(fd, p, true);
}

/*
 * FD was inherited before its file was complete and cannot be filled now: it is replaced by a
 * directory, so that every read of it fails (EISDIR), also the ones inside glibc's stdio that the
 * shim cannot see, instead of returning a hole's zeros.
 */
static void
refuse_reads(int fd, const char *vpath)
{
	int dir = REAL(openat)(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int flags = REAL(fcntl)(fd, F_GETFD);

	if (dir >= 0) {
		REAL(dup3)(dir, fd, flags >= 0 && (flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
		REAL(close)(dir);
	}
	shim_fd_uninstall(fd, NULL, FD_NONE);
	ms_warn("fd %d (%s) was inherited incomplete and could not be filled: its reads fail", fd,
	    vpath);
}

void
shim_fdtable_adopt_inherited(void)
{
	char proc[64], link[MS_PATH_MAX];
	struct shim_path p;
	struct dirent *de;
	DIR *d;
	ssize_t n;
	int fd;

	d = REAL(opendir)("/proc/self/fd");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = (int)strtol(de->d_name, NULL, 10);
		if (fd == dirfd(d))
			continue;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		n = REAL(readlink)(proc, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (shim_classify(AT_FDCWD, link, &p) != 1)
			continue;
		/*
		 * Whatever reads it here may do so inside glibc (stdio on stdin, say), where the shim
		 * cannot see: an inherited file is made complete before the program runs.
		 */
		if (track_open(fd, &p, false) < 0 || shim_fd_ensure(fd, 0, 0) < 0) {
			shim_untranslate(link, sizeof link);
			refuse_reads(fd, link);
		}
	}
	closedir(d);
}
