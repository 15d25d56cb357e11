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

void follow_new_process(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child, const char *kind)
{
	if (p->own_fork)
		return; /* the forkall engine's own fork: it takes the child */
	if (!first_stop(tr, child))
		return; /* it is gone already */
	/* fork copied our breakpoint bytes: put the originals back */
	if (p->nbps)
		bp_scrub_copy(p, child);
	if (ptrace(PTRACE_DETACH, child, 0, 0) < 0 && errno != ESRCH)
		fk_warn("detaching child %d of %d: %s", (int)child, (int)p->pid, strerror(errno));
	fk_info("process %d (thread %d) created process %d (%s): breakpoints removed from its copy, detached",
		(int)p->pid, (int)l->tid, (int)child, kind);
	if (!p->session)
		return;
	ev_child_process(tr, p->pid, l->tid, child,
			 strcmp(kind, "fork") == 0 ? EV_CHILD_PROCESS_KIND_FORK : EV_CHILD_PROCESS_KIND_CLONE, true);
}
