/* ownerfix.h — after threads got new tids (a recreation, a checkpoint
 * restore): the owner fields that name an old tid are made to name the
 * new one, each write logged with the old bytes so a failure can undo it. */
#ifndef FK_ENGINE_OWNERFIX_H
#define FK_ENGINE_OWNERFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/proc.h"

struct forkall;
struct fk_symbols;

/* Memory writes in one process, each with the bytes it replaced. */
struct undo {
	pid_t pid;
	struct undo_ent *v;
	size_t n, cap;
};

void undo_init(struct undo *u, pid_t pid);
/* Write len bytes at addr, keeping what was there. 0 or -errno. */
int undo_write(struct undo *u, uint64_t addr, const void *buf, size_t len);
/* Put every logged write back, newest first (the log is emptied). */
void undo_all(struct undo *u);
void undo_free(struct undo *u);

/* The mutexes and rwlocks DWARF shows in c (locks.h) whose owner field,
 * or PI/robust futex word, holds the tid of one of fa->ts whose copy has
 * another tid (ts[i].child_tid): rewritten to it (logged in u). *fixed
 * counts the locks changed. `like` is a process with c's very address
 * space whose symbols (and their cached DWARF walk) serve for c — a
 * restore's checkpoint, so that only its first restore walks the DWARF —
 * or NULL for c's own. 0, or -1 with fa->err. */
int ownerfix_locks(struct forkall *fa, struct proc *c, struct proc *like, struct undo *u, size_t *fixed);

#endif
