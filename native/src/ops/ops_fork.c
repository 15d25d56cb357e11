/* ops_fork.c — the engine's requests: fork, recreate, checkpoints. */
#include "engine/checkpoint.h"
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

int op_checkpoint(struct fk_tracer *tr, const struct rq_checkpoint *rq, struct jw *body, struct fk_err *err)
{
	return checkpoint_save(tr, rq->pid, rq->keep, body, err);
}

int op_restore(struct fk_tracer *tr, const struct rq_restore *rq, struct jw *body, struct fk_err *err)
{
	return checkpoint_restore(tr, rq->checkpoint, rq->run, rq->same_tids, body, err);
}

int op_checkpoint_delete(struct fk_tracer *tr, const struct rq_checkpoint_delete *rq, struct jw *body,
			 struct fk_err *err)
{
	if (checkpoint_delete(tr, rq->checkpoint, err) < 0)
		return -1;
	jw_kint(body, "checkpoint", rq->checkpoint);
	return 0;
}

int op_checkpoints(struct fk_tracer *tr, const struct rq_checkpoints *rq, struct jw *body, struct fk_err *err)
{
	(void)err;
	jw_key(body, "checkpoints");
	checkpoint_list(tr, rq->pid, body);
	return 0;
}
