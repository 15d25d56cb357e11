/* forkall.c — the multithreaded fork (work in progress). */
#include "ops.h"

#include <errno.h>

int op_fork(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err)
{
	(void)tr, (void)body;
	return fk_fail(err, ENOSYS, FK_KIND_FAILED, "fork", "forkall of process %d: not available in this build",
		       (int)rq->pid);
}
