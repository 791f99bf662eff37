/*
 * cmd_import.c: `modelshim import [MOUNT...]`: lists each mount's bucket prefix and syncs its
 * local namespace (core/namespace.c), reporting rejected keys and a summary. Progress goes to
 * stderr when it is a terminal.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "creds_chain.h"
#include "namespace.h"
#include "s3.h"

struct import_ui {
	const struct ms_mount *m;
	int tty;
	int quiet;
};

static void
on_reject(void *arg, const char *key, size_t keylen, const char *why)
{
	struct import_ui *ui = arg;
	size_t i;

	/* The key is untrusted: print it with control bytes escaped. */
	fprintf(stderr, "modelshim import: %s: rejected key \"", ui->m->name);
	for (i = 0; i < keylen && i < 300; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fprintf(stderr, "%s\": %s\n", keylen > 300 ? "..." : "", why);
}

static void
on_progress(void *arg, const char *phase, const struct ms_import_report *r)
{
	struct import_ui *ui = arg;

	if (!ui->tty || ui->quiet)
		return;
	fprintf(stderr, "\r%s: %-9s %llu listed, %llu added, %llu changed, %llu unchanged, %llu deleted",
	    ui->m->name, phase, (unsigned long long)r->listed, (unsigned long long)r->added,
	    (unsigned long long)r->changed, (unsigned long long)r->unchanged,
	    (unsigned long long)r->deleted);
	if (strcmp(phase, "done") == 0)
		fputc('\n', stderr);
}

static int
import_one(const struct ms_config *cfg, const struct ms_mount *m, int quiet)
{
	struct import_ui ui = { .m = m, .tty = isatty(STDERR_FILENO), .quiet = quiet };
	struct ms_import_hooks hooks = { .arg = &ui, .reject = on_reject, .progress = on_progress };
	struct ms_import_report rep;
	struct creds_source *src;
	struct ms_creds creds;
	struct ms_s3 *s3;
	char err[1024];
	int rc;

	rc = creds_open(m, &src, &creds, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "modelshim import: %s: %s\n", m->name, err);
		return -1;
	}
	creds_source_free(src);
	s3 = ms_s3_new(cfg, m, &creds);
	ms_creds_wipe(&creds);
	if (s3 == NULL) {
		fprintf(stderr, "modelshim import: out of memory\n");
		return -1;
	}
	rc = ms_import(cfg, m, s3, &hooks, &rep, err, sizeof err);
	ms_s3_free(s3);
	if (rc < 0) {
		if (ui.tty && !quiet)
			fputc('\n', stderr);
		fprintf(stderr, "modelshim import: %s: %s\n", m->name, err);
		return -1;
	}
	if (!quiet)
		printf("%s: %llu objects (%llu bytes) from s3://%s/%s at %s: %llu added, %llu changed, "
		    "%llu unchanged, %llu deleted, %llu rejected\n", m->name,
		    (unsigned long long)(rep.added + rep.changed + rep.unchanged),
		    (unsigned long long)rep.bytes, m->bucket, m->prefix, m->path,
		    (unsigned long long)rep.added, (unsigned long long)rep.changed,
		    (unsigned long long)rep.unchanged, (unsigned long long)rep.deleted,
		    (unsigned long long)rep.rejected);
	return 0;
}

static int
cmd_import_exec(int argc, char **argv)
{
	struct ms_config cfg;
	int i, failed = 0, quiet = 0;
	unsigned j;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
	if (cmd_load_config(&cmd_import_entry, &argc, argv, &cfg) < 0 ||
	    cmd_resolve_store(&cmd_import_entry, &cfg) < 0)
		return 1;
	if (argc == 1) {
		for (j = 0; j < cfg.nmounts; j++)
			failed |= import_one(&cfg, &cfg.mounts[j], quiet) < 0;
		return failed ? 1 : 0;
	}
	for (i = 1; i < argc; i++) {
		const struct ms_mount *m = ms_config_mount_by_name(&cfg, argv[i]);

		if (m == NULL) {
			fprintf(stderr, "modelshim import: no mount named '%s' in %s\n", argv[i], cfg.file);
			failed = 1;
			continue;
		}
		failed |= import_one(&cfg, m, quiet) < 0;
	}
	return failed ? 1 : 0;
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[--config FILE] [-q] [MOUNT...]",
	.summary = "list the bucket prefix of each mount and sync its local namespace",
	.exec = cmd_import_exec,
};
