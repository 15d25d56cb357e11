/* ops_session.c — sessions: a process stays attached between requests
 * (the debug adapter's launch/attach), stopped or running. */
#include "ptrace/attach.h"

#include "base/procfs.h"
#include "debuginfo/stack.h"
#include "ops/ops.h"

#include <errno.h>
#include <signal.h>

#define STOP_TIMEOUT_MS 10000

static void lwp_list(struct jw *body, const struct proc *p)
{
	jw_key(body, "tids");
	jw_arr_begin(body);
	for (size_t i = 0; i < p->n; i++)
		jw_int(body, p->lwps[i].tid);
	jw_arr_end(body);
}

static struct proc *session_of(struct fk_tracer *tr, pid_t pid, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, pid);
	if (!p || !p->session) {
		fk_fail(err, ESRCH, FK_KIND_BADREQ, "session", "process %d is not attached", (int)pid);
		return NULL;
	}
	return p;
}

int op_attach(struct fk_tracer *tr, const struct rq_attach *rq, struct jw *body, struct fk_err *err)
{
	pid_t pid = rq->pid;
	if (attach_check_pid(pid, err) < 0)
		return -1;
	struct proc *p = tr_find_proc(tr, pid);
	if (p)
		return fk_fail(err, EALREADY, FK_KIND_BADREQ, "attach", "process %d is already attached", (int)pid);
	p = tr_add_proc(tr, pid);
	if (!p)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "attach", "out of memory");
	/* Stop while seizing so no thread escapes the scan, then decide. */
	if (attach_seize_all(tr, p, true, NULL, 0, err) < 0 || attach_stop_all(tr, p, STOP_TIMEOUT_MS, err) < 0) {
		if ((p = tr_find_proc(tr, pid)) != NULL)
			attach_release(tr, p);
		return -1;
	}
	p->session = true;
	if (!rq->stop)
		attach_resume_all(tr, p);
	jw_kint(body, "pid", pid);
	jw_kbool(body, "stopped", !p->want_running);
	lwp_list(body, p);
	return 0;
}

int op_detach(struct fk_tracer *tr, const struct rq_detach *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	attach_release(tr, p);
	jw_kint(body, "pid", rq->pid);
	return 0;
}

int op_signals(struct fk_tracer *tr, const struct rq_signals *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	/* SIGKILL and SIGSTOP are never the table's to decide */
	uint64_t fixed = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));
	if (rq->has_nostop)
		p->sigs.nostop = rq->nostop & ~fixed;
	if (rq->has_noprint)
		p->sigs.noprint = rq->noprint & ~fixed;
	if (rq->has_nopass)
		p->sigs.nopass = rq->nopass & ~fixed;
	jw_kint(body, "pid", rq->pid);
	jw_khex(body, "nostop", p->sigs.nostop);
	jw_khex(body, "noprint", p->sigs.noprint);
	jw_khex(body, "nopass", p->sigs.nopass);
	return 0;
}

int op_follow_forks(struct fk_tracer *tr, const struct rq_follow_forks *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	p->hold_children = rq->hold;
	jw_kint(body, "pid", rq->pid);
	return 0;
}

int op_stop(struct fk_tracer *tr, const struct rq_stop *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	uint64_t t0 = tr_now_us();
	if (attach_stop_all(tr, p, STOP_TIMEOUT_MS, err) < 0)
		return -1;
	jw_kint(body, "pid", rq->pid);
	jw_kint(body, "pauseUs", (int64_t)(tr_now_us() - t0));
	lwp_list(body, p);
	return 0;
}

int op_resume(struct fk_tracer *tr, const struct rq_resume *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	attach_resume_all(tr, p);
	jw_kint(body, "pid", rq->pid);
	return 0;
}

/* Completes at once on the tracer thread (liveness, latency, ordering). */
int op_ping(struct fk_tracer *tr, const struct rq_ping *rq, struct jw *body, struct fk_err *err)
{
	(void)rq, (void)err;
	jw_kint(body, "tracerTid", tr_tid(tr));
	return 0;
}

int op_fork_info(struct fk_tracer *tr, const struct rq_fork_info *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	if (!p->fork_parent)
		return fk_fail(err, ENOENT, FK_KIND_BADREQ, "forkInfo",
			       "process %d was not forked by a process followed here (followForks)", (int)rq->pid);
	struct vma_list maps = { 0 };
	bool have_maps = proc_maps_read(p->pid, &maps) == 0;
	struct proc_task_stat pst = { 0 };
	bool have_stat = proc_task_stat(p->pid, p->pid, &pst) == 0;
	jw_kint(body, "pid", p->pid);
	jw_kint(body, "parent", p->fork_parent);
	jw_kstr(body, "kind", p->fork_clone ? "clone" : "fork");
	jw_kint(body, "forkingTid", p->fork_tid);
	jw_key(body, "deadThreads");
	jw_arr_begin(body);
	for (size_t i = 0; i < p->nghosts; i++) {
		const struct ghost *g = &p->ghosts[i];
		jw_obj_begin(body);
		jw_kint(body, "tid", g->tid);
		jw_kstr(body, "name", g->name);
		jw_khex(body, "pc", arch_pc(&g->regs));
		jw_khex(body, "sp", arch_sp(&g->regs));
		jw_khex(body, "fsBase", arch_tp(&g->regs));
		struct stack_range sr;
		bool is_main = g->tid == p->fork_parent;
		jw_key(body, "stack");
		if (have_maps && stack_find(&maps, is_main, have_stat ? pst.startstack : 0,
					    is_main ? 0 : arch_tp(&g->regs), arch_sp(&g->regs), &sr)) {
			jw_obj_begin(body);
			jw_khex(body, "low", sr.low);
			jw_khex(body, "high", sr.high);
			jw_kint(body, "guard", (int64_t)sr.guard);
			jw_kstr(body, "source", sr.source);
			jw_obj_end(body);
		} else {
			jw_null(body);
		}
		jw_obj_end(body);
	}
	jw_arr_end(body);
	if (have_maps)
		proc_maps_free(&maps);
	return 0;
}
