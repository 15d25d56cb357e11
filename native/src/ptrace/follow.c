/* follow.c — a traced program's own children (see follow.h). */
#include "ptrace/follow.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "base/log.h"
#include "core/events.generated.h"
#include "ptrace/breakpoints.h"

/* The child's first stop: already taken by the wait loop (it can come
 * before the parent's event), or waited for here, by pid. Returns true
 * when the child is in a ptrace-stop; false if it is gone. */
static bool first_stop(struct fk_tracer *tr, pid_t child)
{
	int status;
	if (tr_take_unclaimed(tr, child, &status))
		return WIFSTOPPED(status);
	for (;;) {
		pid_t r = waitpid(child, &status, __WALL);
		if (r == child)
			return WIFSTOPPED(status);
		if (r < 0 && errno != EINTR) {
			fk_warn("waiting for the first stop of child %d: %s", (int)child, strerror(errno));
			return false;
		}
	}
}

/* Keep the child traced and stopped at its first stop, as a session
 * process of its own (same signal table, same follow mode): the adapter
 * opens a session for it, which sets its breakpoints and resumes it. */
static bool hold(struct fk_tracer *tr, struct proc *p, pid_t child)
{
	struct proc *c = tr_add_proc(tr, child);
	struct lwp *cl = c ? proc_add_lwp(c, child) : NULL;
	if (!cl) {
		if (c)
			tr_remove_proc(tr, c);
		fk_warn("no memory to hold child %d of %d: detached", (int)child, (int)p->pid);
		return false;
	}
	proc_set_stopped(c, cl);
	cl->stop = STOP_INTERRUPT;
	c->session = true;
	c->want_running = false;
	c->sigs = p->sigs;
	c->hold_children = p->hold_children;
	return true;
}

void follow_new_process(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child, const char *kind)
{
	if (p->own_fork)
		return; /* the forkall engine's own fork: it takes the child */
	if (!first_stop(tr, child))
		return; /* it is gone already */
	/* fork copied our breakpoint bytes: put the originals back (a child
	 * session sets its own) */
	if (p->nbps)
		bp_scrub_copy(p, child);
	if (p->session && p->hold_children && hold(tr, p, child)) {
		fk_info("process %d (thread %d) created process %d (%s): held for a session of its own", (int)p->pid,
			(int)l->tid, (int)child, kind);
		ev_child_process(tr, p->pid, l->tid, child,
				 strcmp(kind, "fork") == 0 ? EV_CHILD_PROCESS_KIND_FORK : EV_CHILD_PROCESS_KIND_CLONE,
				 false);
		return;
	}
	if (ptrace(PTRACE_DETACH, child, 0, 0) < 0 && errno != ESRCH)
		fk_warn("detaching child %d of %d: %s", (int)child, (int)p->pid, strerror(errno));
	fk_info("process %d (thread %d) created process %d (%s): breakpoints removed from its copy, detached",
		(int)p->pid, (int)l->tid, (int)child, kind);
	if (!p->session)
		return;
	ev_child_process(tr, p->pid, l->tid, child,
			 strcmp(kind, "fork") == 0 ? EV_CHILD_PROCESS_KIND_FORK : EV_CHILD_PROCESS_KIND_CLONE, true);
}
