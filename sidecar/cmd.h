/*
 * cmd.h: the table of `modelshim` subcommands. Each cmd_*.c file exports one struct cmd_entry;
 * main.c lists them and only dispatches. Commands return the process exit status.
 */
#ifndef MS_CMD_H
#define MS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "config.h"

struct cmd_entry {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line for `modelshim help` */
	int (*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_daemon_entry;
extern const struct cmd_entry cmd_import_entry;
extern const struct cmd_entry cmd_cat_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_gc_entry;
extern const struct cmd_entry cmd_warmup_entry;
extern const struct cmd_entry cmd_verify_entry;
extern const struct cmd_entry cmd_tier_config_entry;

/*
 * Parses the common options (--config F, --quiet, --verbose) out of ARGV in place and loads the
 * config; on failure prints the error and returns -1. *ARGC and ARGV keep the other arguments.
 */
int cmd_load_config(const struct cmd_entry *e, int *argc, char **argv, struct ms_config *cfg);

/*
 * For the commands that talk to the store (daemon, import, tier-config): fills in the endpoints
 * and regions CFG's file leaves out from the environment (core/endpoint.h). On failure prints
 * the error and returns -1.
 */
int cmd_resolve_store(const struct cmd_entry *e, struct ms_config *cfg);

/* Connects CL to CFG's daemon, starting this very binary as the daemon if none runs. -errno. */
int cmd_connect(struct ms_client *cl, const struct ms_config *cfg);

/* V bytes in at most 4 digits and a unit ("4.8M", "512K") into OUT. */
void cmd_human(uint64_t v, char *out, size_t len);

/* Prints "usage: modelshim NAME USAGE" to stderr and returns 2. */
int cmd_usage(const struct cmd_entry *e);

#endif
