/*
 * cmd.c: what every subcommand shares: the common options, loading the config, and reaching
 * (or starting) the daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libutil.h>

#include "cmd.h"
#include "endpoint.h"
#include "log.h"

void
cmd_human(uint64_t v, char *out, size_t len)
{
	humanize_number(out, len < 6 ? len : 6, (int64_t)v, "", HN_AUTOSCALE,
	    HN_DECIMAL | HN_NOSPACE | HN_B);
}

int
cmd_usage(const struct cmd_entry *e)
{
	fprintf(stderr, "usage: modelshim %s %s\n", e->name, e->usage);
	return 2;
}

int
cmd_load_config(const struct cmd_entry *e, int *argc, char **argv, struct ms_config *cfg)
{
	const char *explicit_path = NULL;
	char path[MS_PATH_MAX], err[1024];
	int i, out = 1, rc;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			/* Everything after "--" belongs to a command (modelshim run). */
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < *argc) {
			explicit_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			explicit_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			ms_log_init("modelshim", MS_LOG_DEBUG);
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			ms_log_init("modelshim", MS_LOG_ERROR);
		} else if (strcmp(argv[i], "--config") == 0) {
			cmd_usage(e);
			return -1;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	rc = ms_config_path(explicit_path, path, sizeof path);
	if (rc < 0) {
		fprintf(stderr, "modelshim %s: no config file: use --config FILE or set MODELSHIM_CONFIG\n",
		    e->name);
		return -1;
	}
	rc = ms_config_load(cfg, path, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "modelshim %s: %s\n", e->name, err);
		return -1;
	}
	return 0;
}

int
cmd_resolve_store(const struct cmd_entry *e, struct ms_config *cfg)
{
	char err[512];

	if (ms_endpoint_resolve(cfg, getenv, err, sizeof err) < 0) {
		fprintf(stderr, "modelshim %s: %s\n", e->name, err);
		return -1;
	}
	return 0;
}

int
cmd_connect(struct ms_client *cl, const struct ms_config *cfg)
{
	char exe[PATH_MAX];
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	return ms_client_connect_or_start(cl, cfg, exe);
}
