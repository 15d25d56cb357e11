/* ops_step.c — "step" with line / line+into / out:
 * a source-line step run in the tracer thread (engine/step.c). */
#include "engine/step.h"
#include "ops/ops.h"

#include <errno.h>

int op_step_line(struct fk_tracer *tr, const struct rq_step *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, rq->pid);
	if (!p || !p->session)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "session", "process %d is not attached", (int)rq->pid);
	if (p->want_running)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "session", "process %d is running; pause it first",
			       (int)rq->pid);
	if (rq->out && (rq->line || rq->into))
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "step", "step: \"out\" does not go with \"line\"/\"into\"");
	if (vfork_held(p, rq->tid, err))
		return -1;
	enum step_kind kind = rq->out ? STEP_OUT : rq->into ? STEP_IN : STEP_NEXT;
	struct step_result res;
	uint64_t t0 = tr_now_us();
	if (step_line(tr, p, rq->tid, kind, rq->alone, &res, err) < 0)
		return -1;
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "tid", rq->tid);
	jw_kstr(body, "reason", res.reason);
	jw_kint(body, "stopTid", res.stop_tid);
	if (res.signal)
		jw_kint(body, "signal", res.signal);
	if (res.addr)
		jw_khex(body, "addr", res.addr);
	fk_gregs r;
	if ((p = tr_find_proc(tr, rq->pid)) != NULL && arch_get_gregs(rq->tid, &r) == 0)
		jw_khex(body, "pc", arch_pc(&r));
	jw_kint(body, "singleSteps", (int64_t)res.single_steps);
	jw_kint(body, "continues", (int64_t)res.continues);
	jw_kint(body, "us", (int64_t)(tr_now_us() - t0));
	return 0;
}
