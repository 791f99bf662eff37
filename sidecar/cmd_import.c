/*
 * cmd_import.c: `modelshim import [--publish] [MOUNT...]`: syncs each mount's local namespace
 * (core/namespace.c) with a listing of its bucket prefix, or with the namespace snapshot another
 * node published (namespace_snapshot; import_snapshot.c) when there is a fresh one, reporting
 * rejected keys and a summary. --publish lists and puts the snapshot. A snapshot that cannot be
 * taken is said on stderr and the bucket is listed instead: a node always starts. Progress goes
 * to stderr when it is a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "creds_chain.h"
#include "import_snapshot.h"
#include "namespace.h"
#include "s3.h"

struct import_ui {
	const struct ms_mount *m;
	int tty;
	int quiet;
	int publish;
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

/* Imports M from its snapshot into REP (0), or says why not and returns 1 (list instead). */
static int
import_from_snapshot(const struct ms_config *cfg, const struct ms_mount *m, struct ms_s3 *s3,
    const struct ms_import_hooks *hooks, struct ms_import_report *rep, char *how, size_t howlen)
{
	struct import_snapshot snap;
	struct ms_import_source src = { 0 };
	char err[1024];
	int rc;

	rc = import_snapshot_fetch(cfg, m, s3, &snap, err, sizeof err);
	if (rc == 0) {
		src.from = snap.xml;
		src.from_len = snap.len;
		rc = ms_import(cfg, m, s3, &src, hooks, rep, err, sizeof err);
		free(snap.xml);
	}
	if (rc == 0) {
		snprintf(how, howlen, " (from the snapshot %s, %lld s old, %u requests, %u to the "
		    "tier, %u tier hits)", m->snapshot, (long long)snap.age_s, snap.blocks,
		    snap.tier_blocks, snap.tier_hits);
		return 0;
	}
	fprintf(stderr, "modelshim import: %s: %s%s; listing the bucket instead\n", m->name,
	    rc == 1 ? "no snapshot to take: " : "", err);
	return 1;
}

static int
import_one(const struct ms_config *cfg, const struct ms_mount *m, int quiet, int publish)
{
	struct import_ui ui = { .m = m, .tty = isatty(STDERR_FILENO), .quiet = quiet };
	struct ms_import_hooks hooks = { .arg = &ui, .reject = on_reject, .progress = on_progress };
	struct ms_snapshot snap = { 0 };
	struct ms_import_source src = { .publish = publish ? &snap : NULL };
	struct ms_import_report rep;
	struct creds_source *csrc;
	struct ms_creds creds;
	struct ms_s3 *s3;
	char err[1024], how[MS_PATH_MAX + 128] = "";
	int rc;

	if (publish && m->snapshot[0] == '\0') {
		fprintf(stderr, "modelshim import: %s: --publish needs namespace_snapshot = KEY in "
		    "[mount \"%s\"] of %s\n", m->name, m->name, cfg->file);
		return -1;
	}
	rc = creds_open(m, &csrc, &creds, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "modelshim import: %s: %s\n", m->name, err);
		return -1;
	}
	creds_source_free(csrc);
	s3 = ms_s3_new(cfg, m, &creds);
	ms_creds_wipe(&creds);
	if (s3 == NULL) {
		fprintf(stderr, "modelshim import: out of memory\n");
		return -1;
	}
	rc = 1;
	if (m->snapshot[0] != '\0' && !publish)
		rc = import_from_snapshot(cfg, m, s3, &hooks, &rep, how, sizeof how);
	if (rc == 1)
		rc = ms_import(cfg, m, s3, &src, &hooks, &rep, err, sizeof err);
	if (rc == 0 && publish) {
		rc = ms_s3_put(s3, m->snapshot, snap.p, snap.len, err, sizeof err);
		if (rc == 0)
			snprintf(how, sizeof how, " (published as the snapshot %s, %zu bytes)",
			    m->snapshot, snap.len);
	}
	free(snap.p);
	ms_s3_free(s3);
	if (rc < 0) {
		if (ui.tty && !quiet)
			fputc('\n', stderr);
		fprintf(stderr, "modelshim import: %s: %s\n", m->name, err);
		return -1;
	}
	if (!quiet)
		printf("%s: %llu objects (%llu bytes) from s3://%s/%s at %s: %llu added, %llu changed, "
		    "%llu unchanged, %llu deleted, %llu rejected%s\n", m->name,
		    (unsigned long long)(rep.added + rep.changed + rep.unchanged),
		    (unsigned long long)rep.bytes, m->bucket, m->prefix, m->path,
		    (unsigned long long)rep.added, (unsigned long long)rep.changed,
		    (unsigned long long)rep.unchanged, (unsigned long long)rep.deleted,
		    (unsigned long long)rep.rejected, how);
	return 0;
}

static int
cmd_import_exec(int argc, char **argv)
{
	struct ms_config cfg;
	int i, n, failed = 0, quiet = 0, publish = 0;
	unsigned j;

	for (i = 1, n = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		if (strcmp(argv[i], "--publish") == 0)
			publish = 1;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (cmd_load_config(&cmd_import_entry, &argc, argv, &cfg) < 0 ||
	    cmd_resolve_store(&cmd_import_entry, &cfg) < 0)
		return 1;
	if (argc == 1) {
		for (j = 0; j < cfg.nmounts; j++)
			failed |= import_one(&cfg, &cfg.mounts[j], quiet, publish) < 0;
		return failed ? 1 : 0;
	}
	for (i = 1; i < argc; i++) {
		const struct ms_mount *m = ms_config_mount_by_name(&cfg, argv[i]);

		if (m == NULL) {
			fprintf(stderr, "modelshim import: no mount named '%s' in %s\n", argv[i], cfg.file);
			failed = 1;
			continue;
		}
		failed |= import_one(&cfg, m, quiet, publish) < 0;
	}
	return failed ? 1 : 0;
}

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.usage = "[--config FILE] [-q] [--publish] [MOUNT...]",
	.summary = "sync each mount's local namespace with its bucket (or a published snapshot)",
	.exec = cmd_import_exec,
};
