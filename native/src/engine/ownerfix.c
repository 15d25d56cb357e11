/* ownerfix.c — owner fields rewritten to new tids (see ownerfix.h). */
#include "engine/ownerfix.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"
#include "debuginfo/locks.h"
#include "debuginfo/symbols.h"
#include "engine/forkall_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct undo_ent {
	uint64_t addr;
	uint8_t *old;
	size_t len;
};

void undo_init(struct undo *u, pid_t pid)
{
	memset(u, 0, sizeof *u);
	u->pid = pid;
}

int undo_write(struct undo *u, uint64_t addr, const void *buf, size_t len)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 32;
		struct undo_ent *nv = realloc(u->v, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		u->v = nv;
		u->cap = cap;
	}
	uint8_t *old = malloc(len);
	if (!old)
		return -ENOMEM;
	int rc = mem_read_exact(u->pid, addr, old, len);
	if (rc == 0)
		rc = mem_write_exact(u->pid, addr, buf, len);
	if (rc < 0) {
		free(old);
		return rc;
	}
	u->v[u->n++] = (struct undo_ent){ addr, old, len };
	return 0;
}

void undo_all(struct undo *u)
{
	while (u->n > 0) {
		struct undo_ent *e = &u->v[--u->n];
		if (mem_write_exact(u->pid, e->addr, e->old, e->len) < 0)
			fk_warn("process %d: putting back %zu bytes at 0x%llx failed", (int)u->pid, e->len,
				(unsigned long long)e->addr);
		free(e->old);
	}
}

void undo_free(struct undo *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].old);
	free(u->v);
	u->v = NULL;
	u->n = u->cap = 0;
}

int ownerfix_locks(struct forkall *fa, struct proc *c, struct proc *like, struct undo *u, size_t *fixed)
{
	struct lock_site *v = NULL;
	size_t n = 0;
	struct fk_symbols *s = sym_of_proc(like ? like : c);
	if (!s || locks_find(s, c->pid, &v, &n) < 0 || !n) {
		free(v);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t at[2] = { v[i].owner_addr, v[i].futex_addr };
		bool changed = false;
		for (int w = 0; w < 2; w++) {
			uint32_t val;
			if (!at[w] || (w == 1 && at[1] == at[0]) || mem_read_exact(c->pid, at[w], &val, sizeof val) < 0)
				continue;
			uint32_t tid = w == 0 ? val : (val & 0x3fffffffu);
			for (size_t k = 0; tid && k < fa->nts; k++) {
				const struct tstate *t = &fa->ts[k];
				if ((uint32_t)t->tid != tid || !t->child_tid || t->child_tid == t->tid)
					continue;
				uint32_t nv =
					w == 0 ? (uint32_t)t->child_tid : (val & ~0x3fffffffu) | (uint32_t)t->child_tid;
				int rc = undo_write(u, at[w], &nv, sizeof nv);
				if (rc < 0) {
					free(v);
					return fk_fail(fa->err, -rc, FK_KIND_FAILED, "lock-owners",
						       "rewriting the owner of %s at 0x%llx", v[i].name,
						       (unsigned long long)v[i].addr);
				}
				changed = true;
				break;
			}
		}
		*fixed += changed;
	}
	free(v);
	return 0;
}
