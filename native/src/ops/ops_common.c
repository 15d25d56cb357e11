/* ops_common.c — helpers more than one ops file uses (ops.h). */
#include "ops/ops.h"

#include "debuginfo/symbols.h"

#include <errno.h>

/* A thread held at its vfork event cannot run until its child execs. */
bool vfork_held(struct proc *p, pid_t tid, struct fk_err *err)
{
	struct lwp *l = proc_lwp(p, tid);
	if (!l || !l->vfork_child)
		return false;
	fk_fail(err, EBUSY, FK_KIND_BADREQ, "step",
		"thread %d of %d is in vfork(): it cannot run until its child %d calls exec or exits (continue, or "
		"step another thread)",
		(int)tid, (int)p->pid, (int)l->vfork_child);
	return true;
}
