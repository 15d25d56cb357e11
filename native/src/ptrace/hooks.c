/* hooks.c — see hooks.h. */
#include "ptrace/hooks.h"

#include "ptrace/attach.h"
#include "ptrace/bpslot.h"
#include "ptrace/breakpoints.h"
#include "ptrace/follow.h"
#include "ptrace/watch.h"

#include <signal.h>

void ptrace_on_trap(struct proc *p, struct lwp *l)
{
	if (!bp_check_hit(p, l))
		watch_check_hit(p, l);
}

void ptrace_on_stopped(struct fk_tracer *tr, struct proc *p, struct lwp *l)
{
	/* before anything looks at its pc: never a slot's address */
	bpslot_map_back(p, l);
	attach_on_stop(tr, p, l);
}

void ptrace_on_exited(struct fk_tracer *tr, struct proc *p)
{
	if (p->vfork_parent)
		attach_vfork_done(tr, p);
}

bool ptrace_pending(struct fk_tracer *tr, struct proc *p)
{
	if (p->stop_all_pending)
		attach_interrupt_all(tr, p);
	if (p->capture_child) {
		follow_capture(tr, p);
		return true;
	}
	if (p->step_over_pending) {
		p->step_over_pending = false;
		p->want_running = false; /* the step's own trap is not a signal to pass */
		if (p->cond_pass) {
			/* threads at a false compiled condition: passed, and
			 * only who was running runs on */
			p->cond_pass = false;
			bp_cond_pass(tr, p);
		} else {
			attach_resume_all(tr, p);
		}
		return true;
	}
	return false;
}

void ptrace_close_release(struct fk_tracer *tr, struct proc *p)
{
	if (p->frozen && !p->exited) {
		kill(p->pid, SIGKILL);
		attach_reap(tr, p, 2000);
		tr_remove_proc(tr, p);
		return;
	}
	attach_release(tr, p);
}
