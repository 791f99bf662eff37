/*
 * main.c: `modelshim` entry point: finds the subcommand in the table and runs it. Owns nothing
 * else; every command lives in its own cmd_*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cmd.h"
#include "crash.h"
#include "log.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_import_entry,
	&cmd_daemon_entry,
	&cmd_cat_entry,
	&cmd_status_entry,
	&cmd_run_entry,
	&cmd_warmup_entry,
	&cmd_gc_entry,
	&cmd_verify_entry,
	&cmd_tier_config_entry,
};

static int
help(FILE *out)
{
	size_t i;

	fprintf(out, "usage: modelshim COMMAND [--config FILE] [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++)
		fprintf(out, "  %-8s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(out, "\nThe config file comes from --config or $MODELSHIM_CONFIG.\n");
	return out == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
	size_t i;
	int rc;

	if (argc < 2)
		return help(stderr);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help(stdout);
	for (i = 0; i < sizeof cmd_table / sizeof cmd_table[0]; i++) {
		if (strcmp(argv[1], cmd_table[i]->name) != 0)
			continue;
		ms_log_init("modelshim", MS_LOG_WARN);
		ms_crash_init(); /* tests only: MODELSHIM_CRASH_AT (core/crash.c) */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "modelshim: libcurl failed to initialise\n");
			return 1;
		}
		rc = cmd_table[i]->exec(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "modelshim: unknown command '%s'\n", argv[1]);
	return help(stderr);
}
