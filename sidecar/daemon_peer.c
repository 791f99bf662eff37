/*
 * daemon_peer.c: who a connected client is, from the credentials the kernel recorded when it
 * connected (SO_PEERCRED, SO_PEERGROUPS), and which tenants' mounts it may fill and open. Never
 * trusts anything a client says about itself: a name or id in a message grants nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"

_Static_assert(MS_MAX_MOUNTS <= 64, "client.mounts_ok has one bit per mount");

/* The peer's supplementary groups into *GROUPS (malloc'd), their number into *N. */
static int
peer_groups(int fd, gid_t **groups, size_t *n)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = NULL, *ng;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		ng = realloc(g, len > 0 ? len : sizeof(gid_t));
		if (ng == NULL) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			*groups = g;
			*n = len / sizeof(gid_t);
			return 0;
		}
		if (errno != ERANGE)
			break;
		/* LEN now says how much is needed. */
	}
	free(g);
	return -errno;
}

static bool
has_gid(const gid_t *groups, size_t n, gid_t primary, gid_t gid)
{
	if (primary == gid)
		return true;
	for (size_t i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

int
peer_identify(const struct daemon *d, struct client *cl, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof uc;
	const struct ms_tenant *t;
	gid_t *groups = NULL;
	size_t ngroups = 0;
	unsigned i;
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	cl->uid = (uint32_t)uc.uid;
	cl->pid = (uint32_t)uc.pid;
	cl->admin = uc.uid == 0 || uc.uid == geteuid();
	cl->mounts_ok = 0;
	if (cl->admin) {
		cl->mounts_ok = ~(uint64_t)0;
		return 0;
	}
	rc = peer_groups(fd, &groups, &ngroups);
	if (rc < 0)
		return rc;
	for (i = 0; i < d->cfg.nmounts; i++) {
		t = ms_config_tenant(&d->cfg, d->cfg.mounts[i].tenant);
		if (t != NULL && t->gid != 0 && has_gid(groups, ngroups, uc.gid, (gid_t)t->gid))
			cl->mounts_ok |= (uint64_t)1 << i;
	}
	free(groups);
	return 0;
}

bool
peer_of_tenant(const struct daemon *d, const struct client *cl, const char *tenant)
{
	unsigned i;

	if (cl->admin)
		return true;
	for (i = 0; i < d->cfg.nmounts; i++)
		if ((cl->mounts_ok & ((uint64_t)1 << i)) != 0 && !strcmp(d->cfg.mounts[i].tenant, tenant))
			return true;
	return false;
}
