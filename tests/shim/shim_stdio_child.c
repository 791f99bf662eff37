/* shim_stdio_child: a virtual fd opened by this process is read through stdio by a child, sha256sum: on its stdin via system, popen, posix_spawn file actions and fork+execve, or as /dev/fd/N (fdarg). */
#include "shimtest.h"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>

extern char **environ;

/* A memfd for the child's stdout; sh redirections want a one-digit fd. */
static int
out_fd(void)
{
	int fd = memfd_create("sha256sum-out", 0);

	if (fd < 0)
		st_die("memfd_create: %s", strerror(errno));
	if (fd > 9)
		st_die("the output memfd is fd %d; sh redirections need 0-9", fd);
	return fd;
}

static int
open_onto_stdin(const char *path)
{
	int fd = st_open(path, O_RDONLY);

	if (fd != STDIN_FILENO) {
		if (dup2(fd, STDIN_FILENO) != STDIN_FILENO)
			st_die("dup2(%d, 0): %s", fd, strerror(errno));
		close(fd);
	}
	return STDIN_FILENO;
}

static void
check_status(int status, const char *what)
{
	if (status == -1)
		st_die("%s: could not run the child: %s", what, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		st_die("%s: the child %s %d", what, WIFEXITED(status) ? "exited" : "was killed by signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* The first 64 characters the child printed must be WANT. */
static void
check_hash(const char *got, const char *want, const char *zero, const char *what)
{
	if (strlen(got) < 64 || strncmp(got, want, 64) != 0)
		st_die("%s: sha256sum printed \"%.64s\", want %s%s", what, got, want,
		    zero != NULL && strncmp(got, zero, 64) == 0 ?
			" (the sha256 of as many zero bytes: the child read unfilled cache bytes)" :
			"");
	st_say("%s: sha256sum printed the source's hash", what);
}

static void
check_out_fd(int fd, const char *want, const char *zero, const char *what)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n < 0)
		st_die("%s: reading the child's output: %s", what, strerror(errno));
	buf[n] = '\0';
	check_hash(buf, want, zero, what);
}

/* WHAT's child ended with STATUS, and its output (in OUT) is WANT's hash. */
static void
check_child(int status, int out, const char *want, const char *zero, const char *what)
{
	check_status(status, what);
	check_out_fd(out, want, zero, what);
}

/* The wait status of child PID. */
static int
wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		st_die("waitpid: %s", strerror(errno));
	return status;
}

int
main(int argc, char **argv)
{
	const char *vpath, *want, *mode, *zero;
	char cmd[256], line[256];
	posix_spawn_file_actions_t fa;
	int fd, out, status;
	FILE *p;
	pid_t pid;

	st_prog = "shim_stdio_child";
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s VIRTUAL_PATH WANT_SHA256 system|popen|spawn|execve|fdarg "
		    "[ZERO_SHA256]\n", st_prog);
		return 2;
	}
	vpath = argv[1];
	want = argv[2];
	mode = argv[3];
	zero = argc == 5 ? argv[4] : NULL;
	if (strlen(want) != 64)
		st_die("WANT_SHA256 must be 64 hex digits");
	fflush(stdout);

	if (strcmp(mode, "system") == 0) {
		/* system(): sh, then sha256sum, inherit fd 0 and read it with fread. */
		open_onto_stdin(vpath);
		out = out_fd();
		snprintf(cmd, sizeof cmd, "sha256sum >&%d", out);
		status = system(cmd);
		check_child(status, out, want, zero, "system(\"sha256sum\") with the file on stdin");
	} else if (strcmp(mode, "popen") == 0) {
		open_onto_stdin(vpath);
		if ((p = popen("sha256sum", "r")) == NULL)
			st_die("popen(sha256sum): %s", strerror(errno));
		if (fgets(line, sizeof line, p) == NULL)
			line[0] = '\0';
		status = pclose(p);
		check_status(status, "popen(\"sha256sum\", \"r\") with the file on stdin");
		check_hash(line, want, zero, "popen(\"sha256sum\", \"r\") with the file on stdin");
	} else if (strcmp(mode, "spawn") == 0) {
		/* O_CLOEXEC: only the file action's dup2 onto 0 passes it to the child. */
		char *args[] = { (char *)"sha256sum", NULL };

		fd = st_open(vpath, O_RDONLY | O_CLOEXEC);
		out = out_fd();
		if (posix_spawn_file_actions_init(&fa) != 0 ||
		    posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO) != 0 ||
		    posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO) != 0)
			st_die("posix_spawn_file_actions: %s", strerror(errno));
		if ((errno = posix_spawnp(&pid, "sha256sum", &fa, NULL, args, environ)) != 0)
			st_die("posix_spawnp(sha256sum): %s", strerror(errno));
		posix_spawn_file_actions_destroy(&fa);
		check_child(wait_status(pid), out, want, zero,
		    "posix_spawnp(sha256sum) with adddup2(fd, 0)");
		close(fd);
	} else if (strcmp(mode, "execve") == 0) {
		char *args[] = { (char *)"sha256sum", NULL };

		fd = st_open(vpath, O_RDONLY);
		out = out_fd();
		if ((pid = fork()) < 0)
			st_die("fork: %s", strerror(errno));
		if (pid == 0) {
			if (dup2(fd, STDIN_FILENO) != STDIN_FILENO || dup2(out, STDOUT_FILENO) != STDOUT_FILENO)
				_exit(126);
			close(fd);
			execve("/usr/bin/sha256sum", args, environ);
			_exit(127);
		}
		check_child(wait_status(pid), out, want, zero, "fork, dup2(fd, 0), execve(sha256sum)");
		close(fd);
	} else if (strcmp(mode, "fdarg") == 0) {
		/* The inherited fd N stays N in the child, which opens /dev/fd/N with fopen. */
		fd = st_open(vpath, O_RDONLY);
		out = out_fd();
		snprintf(cmd, sizeof cmd, "sha256sum /dev/fd/%d >&%d", fd, out);
		status = system(cmd);
		check_child(status, out, want, zero, "system(\"sha256sum /dev/fd/N\") with N inherited");
		close(fd);
	} else {
		st_die("unknown mode %s", mode);
	}
	return 0;
}
