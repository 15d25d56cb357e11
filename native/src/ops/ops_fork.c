/* ops_fork.c — the "fork" and "recreate" requests, handed to the engine. */
#include "engine/fork.h"
#include "engine/recreate.h"
#include "ops/ops.h"

#include <errno.h>

int op_fork(struct fk_tracer *tr, const struct rq_fork *rq, struct jw *body, struct fk_err *err)
{
	uint32_t flags = (rq->stopped ? FK_FORK_STOPPED : 0) | (rq->keep_traced ? FK_FORK_KEEP_TRACED : 0) |
			 (rq->copy_dontfork ? FK_FORK_COPY_DONTFORK : 0) | (rq->same_tids ? FK_FORK_SAME_TIDS : 0);
	return forkall_run(tr, rq->pid, flags, body, err);
}

int op_recreate(struct fk_tracer *tr, const struct rq_recreate *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "recreate", "process %d is not attached", (int)rq->pid);
	return forkall_recreate(tr, p, body, err);
}
