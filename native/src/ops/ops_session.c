/* ops_session.c — sessions: a process stays attached between requests
 * (the debug adapter's launch/attach), stopped or running. */
#include "ptrace/attach.h"

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
	if (rq->has_tid) {
		if (vfork_held(p, rq->tid, err))
			return -1;
		int rc = attach_resume_only(tr, p, rq->tid);
		if (rc < 0)
			return fk_fail(err, -rc, rc == -ESRCH ? FK_KIND_BADREQ : FK_KIND_FAILED, "resume",
				       "thread %d of process %d is not stopped", (int)rq->tid, (int)rq->pid);
	} else {
		attach_resume_all(tr, p);
	}
	jw_kint(body, "pid", rq->pid);
	return 0;
}

int op_freeze(struct fk_tracer *tr, const struct rq_freeze *rq, struct jw *body, struct fk_err *err)
{
	struct proc *p = session_of(tr, rq->pid, err);
	if (!p)
		return -1;
	struct lwp *l = proc_lwp(p, rq->tid);
	if (!l)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "freeze", "process %d has no thread %d", (int)rq->pid,
			       (int)rq->tid);
	if (rq->frozen && l->state != LWP_STOPPED)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "freeze",
			       "thread %d of process %d is running: pause it first", (int)rq->tid, (int)rq->pid);
	l->frozen = rq->frozen;
	jw_kint(body, "pid", rq->pid);
	jw_key(body, "frozen");
	jw_arr_begin(body);
	for (size_t i = 0; i < p->n; i++)
		if (p->lwps[i].frozen)
			jw_int(body, p->lwps[i].tid);
	jw_arr_end(body);
	return 0;
}

/* Completes at once on the tracer thread (liveness, latency, ordering). */
int op_ping(struct fk_tracer *tr, const struct rq_ping *rq, struct jw *body, struct fk_err *err)
{
	(void)rq, (void)err;
	jw_kint(body, "tracerTid", tr_tid(tr));
	return 0;
}
