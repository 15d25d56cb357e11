/* follow.c — a traced program's own children (see follow.h). */
#include "ptrace/follow.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "core/events.generated.h"
#include "ptrace/attach.h"
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

/* c shares p's memory (vfork): p's breakpoint bytes are in it. c knows
 * them as its own, so that it passes them (a stop, a step over the original
 * instruction), and never writes them away. */
static bool share_breakpoints(struct proc *c, const struct proc *p)
{
	c->vfork_parent = p->pid;
	c->nbps = 0;
	if (!p->nbps)
		return true;
	if (c->capbps < p->nbps) {
		struct bp *nb = realloc(c->bps, p->nbps * sizeof *nb);
		if (!nb)
			return false;
		c->bps = nb;
		c->capbps = p->nbps;
	}
	memcpy(c->bps, p->bps, p->nbps * sizeof *c->bps);
	c->nbps = p->nbps;
	return true;
}

void follow_breakpoints_changed(struct fk_tracer *tr, struct proc *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct proc *c = p->lwps[i].vfork_child ? tr_find_proc(tr, p->lwps[i].vfork_child) : NULL;
		if (c && c->vfork_parent == p->pid && !share_breakpoints(c, p))
			fk_warn("no memory to share the breakpoints of %d with its vfork child %d", (int)p->pid,
				(int)c->pid);
	}
}

/* A vfork child: it runs in p's memory, p's breakpoint bytes in place, until
 * it calls exec or exits; l (which made it) waits at its event stop until
 * then. Held for a session (hold), or traced by us alone until its exec so
 * that it passes p's breakpoints; or, when p has none, detached at once. */
static void follow_vfork(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child)
{
	if (p->session && p->hold_children && hold(tr, p, child)) {
		struct proc *c = tr_find_proc(tr, child);
		share_breakpoints(c, p);
		l->vfork_child = child;
		fk_info("process %d (thread %d) created process %d (vfork): held for a session of its own", (int)p->pid,
			(int)l->tid, (int)child);
		ev_child_process(tr, p->pid, l->tid, child, EV_CHILD_PROCESS_KIND_VFORK, false);
		return;
	}
	struct proc *c = p->nbps ? tr_add_proc(tr, child) : NULL;
	struct lwp *cl = c ? proc_add_lwp(c, child) : NULL;
	if (cl && share_breakpoints(c, p)) {
		proc_set_stopped(c, cl);
		cl->stop = STOP_INTERRUPT;
		c->want_running = true; /* not a session: attach_on_stop passes everything */
		l->vfork_child = child;
		int rc = attach_resume_lwp(c, cl);
		if (rc < 0 && rc != -ESRCH)
			fk_warn("resuming vfork child %d of %d: %s", (int)child, (int)p->pid, strerror(-rc));
		fk_info("process %d (thread %d) created process %d (vfork): traced until its exec, to pass the "
			"breakpoints in the memory it shares",
			(int)p->pid, (int)l->tid, (int)child);
	} else {
		if (c)
			tr_remove_proc(tr, c);
		if (ptrace(PTRACE_DETACH, child, 0, 0) < 0 && errno != ESRCH)
			fk_warn("detaching vfork child %d of %d: %s", (int)child, (int)p->pid, strerror(errno));
		fk_info("process %d (thread %d) created process %d (vfork): detached", (int)p->pid, (int)l->tid,
			(int)child);
	}
	if (p->session)
		ev_child_process(tr, p->pid, l->tid, child, EV_CHILD_PROCESS_KIND_VFORK, true);
}

bool follow_exec(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t caller)
{
	if (p->vfork_parent)
		attach_vfork_done(tr, p); /* its own memory now */
	if (!p->session) {
		if (p->want_running && !p->own_fork && l->tid == p->pid && p->n == 1) {
			/* a vfork child we traced only to pass its parent's
			 * breakpoints: the new program is none of our business */
			if (ptrace(PTRACE_DETACH, l->tid, 0, 0) < 0 && errno != ESRCH)
				fk_warn("detaching %d after its exec: %s", (int)l->tid, strerror(errno));
			tr_remove_proc(tr, p);
			return true;
		}
		return false;
	}
	if (p->launched && p->execs == 1)
		return false; /* the launch's own exec */
	char path[4096];
	char link[64];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)p->pid);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		snprintf(path, sizeof path, "?");
	else
		path[n] = '\0';
	fk_info("process %d (thread %d) exec'd %s", (int)p->pid, (int)caller, path);
	ev_exec(tr, p->pid, caller, path);
	return false;
}

void follow_new_process(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child, const char *kind)
{
	if (p->own_fork)
		return; /* the forkall engine's own fork: it takes the child */
	if (!first_stop(tr, child))
		return; /* it is gone already */
	if (strcmp(kind, "vfork") == 0) {
		follow_vfork(tr, p, l, child);
		return;
	}
	/* fork copied our breakpoint bytes: put the originals back (a child
	 * session sets its own) */
	if (p->nbps)
		bp_scrub_copy(p, child);
	if (p->session && p->hold_children && hold(tr, p, child)) {
		fk_info("process %d (thread %d) created process %d (%s): held for a session of its own", (int)p->pid,
			(int)l->tid, (int)child, kind);
		/* the picture of the threads it lost, then the event (main loop) */
		struct proc *c = tr_find_proc(tr, child);
		c->fork_parent = p->pid;
		c->fork_tid = l->tid;
		c->fork_clone = strcmp(kind, "clone") == 0;
		p->capture_child = child;
		p->capture_tid = l->tid;
		p->capture_clone = c->fork_clone;
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

/* Everything a lost thread's copy would need (engine/recreate.c), read
 * while the parent's threads are all stopped: registers, xstate, signal
 * mask, rseq (ptrace); robust list, affinity, scheduling (syscalls on the
 * tid); name and credentials (/proc); the bytes at its thread pointer. */
static int capture_ghost(pid_t pid, pid_t tid, struct ghost *g)
{
	memset(g, 0, sizeof *g);
	if (arch_get_gregs(tid, &g->regs) < 0)
		return -1;
	g->tid = tid;
	if (proc_task_comm(pid, tid, g->name, sizeof g->name) < 0)
		snprintf(g->name, sizeof g->name, "?");
	size_t cap = arch_xstate_bufsize();
	g->xstate = malloc(cap);
	if (g->xstate && arch_get_xstate(tid, g->xstate, cap, &g->xlen) < 0) {
		free(g->xstate);
		g->xstate = NULL;
	}
	g->have_mask = ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof g->sigmask, &g->sigmask) == 0;
	if (ptrace(FK_PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof g->rseq, &g->rseq) <= 0)
		memset(&g->rseq, 0, sizeof g->rseq);
	long head = 0;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, tid, &head, &len) == 0) {
		g->robust_head = (uint64_t)head;
		g->robust_len = len;
	}
	g->affinity_ok = sched_getaffinity(tid, sizeof g->affinity, &g->affinity) == 0;
	g->sched_ok = syscall(SYS_sched_getattr, tid, &g->sched, sizeof g->sched, 0) == 0;
	g->creds_ok = proc_task_creds(pid, tid, &g->creds) == 0;
	/* glibc's struct pthread sits at the thread pointer, at the top of the
	 * thread's stack mapping: one page-sized read takes it whole */
	uint64_t tp = arch_tp(&g->regs);
	if (tp && (g->pd = malloc(GHOST_PD_MAX)) != NULL) {
		ssize_t n = mem_read(pid, tp, g->pd, GHOST_PD_MAX);
		if (n <= 0) {
			free(g->pd);
			g->pd = NULL;
		} else {
			g->pdlen = (size_t)n;
		}
	}
	return 0;
}

void follow_capture(struct fk_tracer *tr, struct proc *p)
{
	pid_t pid = p->pid, child = p->capture_child, ftid = p->capture_tid;
	bool clone = p->capture_clone;
	p->capture_child = 0;
	bool was_running = p->want_running;
	struct fk_err err;
	fk_err_clear(&err);
	uint64_t t0 = tr_now_us();
	if (attach_stop_all(tr, p, 10000, &err) < 0)
		fk_warn("process %d forked %d: stopping its threads for the picture of the child's lost threads: %s",
			(int)pid, (int)child, err.msg);
	p = tr_find_proc(tr, pid);
	struct proc *c = tr_find_proc(tr, child);
	if (p && c && p->n > 1) {
		for (size_t i = 0; i < c->nghosts; i++)
			ghost_clear(&c->ghosts[i]);
		free(c->ghosts);
		c->nghosts = 0;
		c->ghosts = calloc(p->n, sizeof *c->ghosts);
		for (size_t i = 0; c->ghosts && i < p->n; i++) {
			struct lwp *l = &p->lwps[i];
			if (l->tid == ftid || l->state != LWP_STOPPED || l->exiting)
				continue;
			if (capture_ghost(pid, l->tid, &c->ghosts[c->nghosts]) == 0)
				c->nghosts++;
		}
	}
	uint64_t t1 = tr_now_us();
	if (p && was_running)
		attach_resume_all(tr, p);
	if (c)
		fk_debug("process %d forked %d: %zu lost threads captured in %llu us (paused %llu us)", (int)pid,
			 (int)child, c->nghosts, (unsigned long long)(t1 - t0), (unsigned long long)(tr_now_us() - t0));
	if (p && c)
		ev_child_process(tr, pid, ftid, child, clone ? EV_CHILD_PROCESS_KIND_CLONE : EV_CHILD_PROCESS_KIND_FORK,
				 false);
}
