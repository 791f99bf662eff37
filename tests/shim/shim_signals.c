/* shim_signals: reads of a cold virtual file interrupted by SIGALRM every 20 ms (MODE restart: SA_RESTART; intr: without it, EINTR retried; handler: the handler itself preads a second cold virtual file and checks its bytes), every byte compared with the source; the signals are counted, so that they did interrupt the reads is checked, not hoped for. */
#include "shimtest.h"

#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t signals, handler_reads, handler_bad;
static int handler_fd = -1;
static const unsigned char *handler_ref;
static size_t handler_size;

static void
on_alarm(int sig)
{
	unsigned char buf[4096];
	size_t off;
	ssize_t n;
	int saved = errno;

	(void)sig;
	signals++;
	if (handler_fd >= 0 && handler_size > sizeof buf) {
		/* A different 4 KiB each time, through the whole file. */
		off = ((size_t)signals * 77 * sizeof buf) % (handler_size - sizeof buf);
		n = pread(handler_fd, buf, sizeof buf, (off_t)off);
		if (n != (ssize_t)sizeof buf || memcmp(buf, handler_ref + off, sizeof buf) != 0)
			handler_bad++;
		handler_reads++;
	}
	errno = saved;
}

int
main(int argc, char **argv)
{
	struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	unsigned char *ref, *got;
	size_t size, done = 0;
	unsigned eintr = 0;
	struct sigaction sa;
	const char *mode;
	int fd;

	st_init(argc, argv, 5, "VPATH REF VPATH2 REF2 restart|intr|handler");
	mode = argv[5];
	ref = st_load(argv[2], &size);
	got = st_alloc(size);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = strcmp(mode, "restart") == 0 ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (strcmp(mode, "handler") == 0) {
		handler_ref = st_load(argv[4], &handler_size);
		handler_fd = st_open(argv[3], O_RDONLY);
	} else if (strcmp(mode, "restart") != 0 && strcmp(mode, "intr") != 0) {
		st_die("unknown mode %s", mode);
	}
	fd = st_open(argv[1], O_RDONLY);
	if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &every, NULL) < 0)
		st_die("setting up SIGALRM: %s", strerror(errno));
	while (done < size) {
		ssize_t n = read(fd, got + done, size - done < 1048576 ? size - done : 1048576);

		if (n < 0 && errno == EINTR) {
			if (++eintr > 100000)
				st_die("read: EINTR %u times in a row", eintr);
			continue;
		}
		if (n <= 0)
			st_die("read at %zu: %s", done, n < 0 ? strerror(errno) : "early EOF");
		done += (size_t)n;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	st_check(got, ref, size, 0, size, "read under SIGALRM");
	if (signals < 5)
		st_die("only %d SIGALRMs arrived during the reads: nothing was interrupted", (int)signals);
	if (handler_fd >= 0 && handler_bad > 0)
		st_die("%d of %d reads in the signal handler gave wrong bytes", (int)handler_bad,
		    (int)handler_reads);
	if (handler_fd >= 0 && handler_reads == 0)
		st_die("the handler never read");
	st_say("%s: %zu bytes right under %d SIGALRMs (%u EINTR retried, %d handler reads right)",
	    mode, size, (int)signals, eintr, (int)handler_reads);
	return 0;
}
