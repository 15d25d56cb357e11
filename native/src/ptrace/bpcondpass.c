/* bpcondpass.c — passing breakpoints whose compiled condition is false
 * (the condition itself: ops/ops_bpcond.c, through p->bpcond_test).
 *
 * A thread stopped at such a breakpoint (lwp.cond_false) has to execute
 * the original instruction, and nobody else may run while the int3 is
 * lifted for that one step (another thread would pass the breakpoint
 * unseen). From the main loop: every thread that was running is stopped
 * (attach_stop_all), each cond_false thread is stepped over its
 * breakpoint (bp_step_over), and exactly the threads that were running
 * are resumed: a frozen thread, or the others of a single-thread resume,
 * stay stopped. No event and no round trip to the adapter.
 *
 * First, without stopping anybody: the thread's pc moved to the
 * breakpoint's slot (bpslot.h: a copy of the original instruction that
 * jumps back, one stop per hit) and a resume of that thread alone; for an
 * instruction that cannot run there (control flow, out of reach), a
 * displaced step (bp_step_displaced, the copy executed at the program's
 * entry point, then the resume). Only an instruction that cannot be
 * executed out of line at all takes the way above.
 *
 * If anything else happened meanwhile (another thread stopped for a
 * signal, a breakpoint, an event, or the stop failed), nothing is
 * decided here: the first cond_false thread's hit is reported as an
 * ordinary breakpoint stop, and the adapter evaluates its condition as it
 * does without a compiled one (then resumes: the resume steps it over). */
#include "ptrace/breakpoints.h"

#include "arch/arch.h"
#include "base/log.h"
#include "core/events.generated.h"
#include "ptrace/attach.h"
#include "ptrace/bpslot.h"

#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#define PASS_STOP_TIMEOUT_MS 10000

static bool listed(const pid_t *v, size_t n, pid_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == tid)
			return true;
	return false;
}

/* Report the first cond_false thread's hit; everything stays stopped. */
static void report_instead(struct fk_tracer *tr, struct proc *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (!l->cond_false || l->state != LWP_STOPPED)
			continue;
		uint64_t pc = l->bp_addr, addr = l->bp_addr;
		ev_stopped(tr, p->pid, l->tid, EV_STOPPED_REASON_BREAKPOINT, 0, &pc, &addr);
		break;
	}
	p->want_running = false;
	if (proc_count_running(p))
		p->stop_all_pending = true;
}

/* FORKALL_DISPLACED_STEPS=0: always the way with everybody stopped
 * (tests); FORKALL_SLOTS=0: displaced steps, never a slot. */
static bool env_off(const char *name)
{
	const char *env = getenv(name);
	return env && strcmp(env, "0") == 0;
}

/* The program's entry point (AT_ENTRY), where displaced steps run; 0: unknown. */
static uint64_t scratch_of(struct proc *p)
{
	if (p->dstep_scratch && p->dstep_execs == p->execs)
		return p->dstep_scratch;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)p->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fk_debug("process %d: %s: %s (no displaced steps)", (int)p->pid, path, strerror(errno));
		return 0;
	}
	Elf64_auxv_t v[64];
	ssize_t n = read(fd, v, sizeof v);
	if (n < 0)
		fk_debug("process %d: reading %s: %s (no displaced steps)", (int)p->pid, path, strerror(errno));
	close(fd);
	p->dstep_scratch = 0;
	for (size_t i = 0; n > 0 && i < (size_t)n / sizeof v[0] && v[i].a_type != AT_NULL; i++)
		if (v[i].a_type == AT_ENTRY)
			p->dstep_scratch = v[i].a_un.a_val;
	p->dstep_execs = p->execs;
	return p->dstep_scratch;
}

/* tid (stopped at its breakpoint) sent into the breakpoint's slot, made
 * if need be (bpslot.h): 0 its pc is there (the caller resumes it), 1 not
 * possible (nothing changed), -ESRCH gone. *mapped: a page was mapped. */
static int pass_slot(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *mapped)
{
	pid_t pid = p->pid;
	struct lwp *l = proc_lwp(p, tid);
	/* a signal to deliver at the resume: its handler's frame would have
	 * the slot's address (the displaced step blocks it for its step) */
	if (!l || l->pending_sig || !l->bp_hit)
		return 1;
	const struct bp *b = bp_at(p, l->bp_addr);
	if (!b)
		return 1;
	uint64_t addr = b->addr;
	uint8_t orig[BP_MAX_LEN];
	memcpy(orig, b->orig, sizeof orig);
	struct bp_slot *s = bpslot_find(p, addr);
	if (!s) {
		bool m = false;
		int rc = bpslot_make(tr, p, tid, addr, orig, &s, &m);
		*mapped = *mapped || m;
		if (tr_find_proc(tr, pid) != p || rc == -ESRCH)
			return -ESRCH;
		if (rc < 0)
			return 1;
		if ((l = proc_lwp(p, tid)) == NULL || l->state != LWP_STOPPED)
			return -ESRCH;
		if (l->pending_sig)
			return 1; /* a signal came during the injected mmap */
	}
	if (!s->at)
		return 1;
	int rc = bpslot_enter(p, tid, s);
	if (rc < 0 && rc != -ESRCH)
		fk_warn("thread %d of %d: into the slot of 0x%llx: %s", (int)tid, (int)pid, (unsigned long long)addr,
			strerror(-rc));
	return rc == 0 ? 0 : rc == -ESRCH ? -ESRCH : 1;
}

/* Each cond_false thread sent into its breakpoint's slot, else displaced,
 * then all of them resumed, while the others run on. True: all of them
 * done (or gone); false: some are left for the way with everybody
 * stopped. stray[0..*nstray) (at most cap): threads that were not
 * stopped and are now, after a slot page was mapped (a wait for any
 * tracee in the injection took their stops, which nobody handled; new
 * threads' first stops too): the caller hands them to attach_on_stop. */
static bool pass_displaced(struct fk_tracer *tr, struct proc *p, pid_t *stray, size_t cap, size_t *nstray)
{
	pid_t pid = p->pid;
	*nstray = 0;
	if (env_off("FORKALL_DISPLACED_STEPS"))
		return false;
	bool slots = !env_off("FORKALL_SLOTS");
	uint64_t scratch = scratch_of(p);
	if (!scratch && !slots)
		return false;
	size_t n = 0, nstopped = 0;
	pid_t *done = malloc((p->n ? p->n : 1) * sizeof *done);
	pid_t *stopped = malloc((p->n ? p->n : 1) * sizeof *stopped);
	if (!done || !stopped) {
		free(done);
		free(stopped);
		return false;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->lwps[i].cond_false && p->lwps[i].state == LWP_STOPPED)
			done[n++] = p->lwps[i].tid;
		if (p->lwps[i].state == LWP_STOPPED)
			stopped[nstopped++] = p->lwps[i].tid;
	}
	bool all = true, mapped = false;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = slots ? pass_slot(tr, p, done[i], &mapped) : 1;
		if (rc == 1)
			rc = scratch ? bp_step_displaced(tr, p, done[i], scratch) : 1;
		if (tr_find_proc(tr, pid) != p) {
			free(done);
			free(stopped);
			return true;
		}
		if (rc == 1) {
			all = false;
			continue;
		}
		if (rc < 0 && rc != -ESRCH)
			fk_warn("thread %d of %d: a displaced step: %s", (int)done[i], (int)pid, strerror(-rc));
		done[k++] = done[i];
	}
	/* resumed together: one resumed at once would be back at the
	 * breakpoint before the others had their turn */
	for (size_t i = 0; i < k; i++) {
		struct lwp *l = proc_lwp(p, done[i]);
		if (!l || l->state != LWP_STOPPED)
			continue;
		l->cond_false = false;
		int rc = attach_resume_lwp(p, l);
		if (rc < 0)
			fk_warn("resuming thread %d of %d: %s", (int)done[i], (int)pid, strerror(-rc));
	}
	for (size_t i = 0; mapped && i < p->n && *nstray < cap; i++) {
		const struct lwp *l = &p->lwps[i];
		if (l->state == LWP_STOPPED && !l->exiting && !listed(stopped, nstopped, l->tid))
			stray[(*nstray)++] = l->tid;
	}
	free(done);
	free(stopped);
	return all;
}

void bp_cond_pass(struct fk_tracer *tr, struct proc *p)
{
	/* Every hit already waiting joins this batch: waitpid(-1) favours the
	 * first tracees, and threads hammering one breakpoint would starve the
	 * others. Handled as while running: a false one is one more
	 * cond_false thread, a true one is reported (and the pass is off). */
	pid_t pid0 = p->pid;
	p->want_running = true;
	for (size_t k = 0, max = 2 * p->n + 8; k < max && tr_pump(tr, 0) == 1; k++)
		if (tr_find_proc(tr, pid0) != p)
			return;
	if (!p->want_running)
		return; /* reported: the threads at false conditions are passed on the next resume */
	p->cond_pass = false;
	p->step_over_pending = false;
	/* want_running stays false during the steps: the step's own trap is
	 * not a stop to report (only the stepping thread is waited for) */
	p->want_running = false;
	size_t nstray = 0, cap = 2 * p->n + 8; /* threads made meanwhile count too */
	pid_t *stray = malloc(cap * sizeof *stray);
	if (stray && pass_displaced(tr, p, stray, cap, &nstray)) {
		if (tr_find_proc(tr, pid0) == p) {
			p->want_running = true;
			p->syms_stale = true;
			for (size_t i = 0; i < nstray && tr_find_proc(tr, pid0) == p && p->want_running; i++) {
				struct lwp *l = proc_lwp(p, stray[i]);
				if (l && l->state == LWP_STOPPED)
					attach_on_stop(tr, p, l);
			}
		}
		free(stray);
		return;
	}
	if (tr_find_proc(tr, pid0) != p) {
		free(stray);
		return;
	}

	pid_t pid = p->pid;
	size_t n = p->n, nkeep = 0, npass = 0;
	pid_t *keep = malloc((n ? n : 1) * sizeof *keep), *pass = malloc((n ? n : 1) * sizeof *pass);
	if (!keep || !pass) {
		fk_warn("process %d: out of memory passing a breakpoint", (int)pid);
		free(keep);
		free(pass);
		free(stray);
		report_instead(tr, p);
		return;
	}
	/* who stays stopped: whoever was stopped already (frozen threads, the
	 * others of a single-thread resume) */
	for (size_t i = 0; i < n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->cond_false && l->state == LWP_STOPPED)
			pass[npass++] = l->tid;
		else if (l->state == LWP_STOPPED && !(stray && listed(stray, nstray, l->tid)))
			keep[nkeep++] = l->tid; /* (a stray stop was running: not kept, looked at below) */
	}
	struct fk_err err;
	fk_err_clear(&err);
	bool clean = npass > 0;
	if (clean && proc_count_running(p) && attach_stop_all(tr, p, PASS_STOP_TIMEOUT_MS, &err) < 0) {
		if (tr_find_proc(tr, pid) == p)
			fk_warn("process %d: stopping the threads to pass a breakpoint: %s", (int)pid, err.msg);
		clean = false;
	}
	if (tr_find_proc(tr, pid) != p)
		goto out;
	for (size_t i = 0; clean && i < p->n; i++) {
		const struct lwp *l = &p->lwps[i];
		if (listed(keep, nkeep, l->tid) || l->exiting)
			continue;
		if (l->cond_false ? !listed(pass, npass, l->tid) : l->stop != STOP_INTERRUPT)
			clean = false; /* a signal, a breakpoint, an event while we stopped them */
	}
	if (!clean) {
		report_instead(tr, p);
		goto out;
	}
	for (size_t i = 0; i < npass; i++) {
		int rc = bp_step_over(tr, p, pass[i]);
		if (tr_find_proc(tr, pid) != p)
			goto out;
		if (rc < 0 && rc != -ESRCH)
			fk_warn("thread %d of %d: stepping over a breakpoint: %s", (int)pass[i], (int)pid,
				strerror(-rc));
	}
	p->want_running = true;
	p->stop_all_pending = false;
	p->syms_stale = true;
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (listed(keep, nkeep, l->tid) || l->frozen)
			continue;
		int rc = attach_resume_lwp(p, l);
		if (rc < 0)
			fk_warn("resuming thread %d of %d: %s", (int)l->tid, (int)pid, strerror(-rc));
	}
out:
	free(keep);
	free(pass);
	free(stray);
}
