/* forkall.c — fork a live process with ALL its threads.
 *
 * The procedure (rr's checkpoint shape, with the kernel state CRIU's
 * restorer re-creates):
 *
 *   prepare   (process running)  maps, a syscall instruction, glibc's
 *             struct pthread.tid offset, MADV_DONTFORK/WIPEONFORK regions
 *   stop      every LWP (PTRACE_SEIZE + PTRACE_INTERRUPT)
 *   capture   per LWP: registers, xstate, signal mask, rseq registration;
 *             per LWP (injected, all threads at once): sigaltstack
 *   fork      inject clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD,
 *             ctid = &pd->tid) into one thread (glibc's own fork flags,
 *             never the target's fork(): no atfork handlers, no
 *             reclaim_stacks), with MADV_DONTFORK lifted around it if asked
 *   release   the parent: every register it had, restored (syscall restart
 *             applied where the injection consumed it); detached
 *   build     in the child: block all signals in the leader; clone one
 *             thread per other parent thread with glibc's pthread_create
 *             flags on its own stack and TLS, CLONE_PARENT_SETTID|
 *             CLONE_CHILD_CLEARTID at &pd->tid (so pd->tid is the new tid
 *             and pthread_join works); in every new thread at once:
 *             set_robust_list, rseq, PR_SET_NAME, sigaltstack; then its
 *             registers, xstate, affinity, scheduling, signal mask
 *   release   the child: detached running, group-stopped, or kept traced
 *
 * Atomic: any failure kills and reaps the child and restores the parent;
 * FORKALL_FAULT=<step> fails a step on purpose (see fa_fault_at()).
 */
#include "arch/arch.h"
#include "ptrace/attach.h"
#include "ptrace/breakpoints.h"
#include "debuginfo/elfsym.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "ptrace/rsys.h"
#include "debuginfo/threaddb.h"
#include "engine/forkall_int.h"
#include "engine/ownerfix.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void fa_rollback(struct forkall *fa)
{
	samepid_kill_init(fa);
	if (fa->child > 0) {
		kill(fa->child, SIGKILL);
		struct proc *c = tr_find_proc(fa->tr, fa->child);
		if (!c) {
			c = tr_add_proc(fa->tr, fa->child);
			if (c)
				proc_add_lwp(c, fa->child);
		}
		/* reap the ptrace side of every thread of the child */
		if (c)
			attach_reap(fa->tr, c, 5000);
		int st;
		tr_take_unclaimed(fa->tr, fa->child, &st);
		fa->cproc = NULL;
	}
	if (fa->parent && !fa->parent_released) {
		struct fk_err e2;
		fk_err_clear(&e2);
		struct fk_err *saved = fa->err;
		fa->err = &e2;
		fa_restore_parent(fa);
		fa->err = saved;
		if (fk_err_isset(&e2))
			fk_warn("forkall %d rollback: %s", (int)fa->pid, e2.msg);
		fa_release_parent(fa);
	}
}

static void result(struct forkall *fa, struct jw *body)
{
	jw_kint(body, "parent", fa->pid);
	jw_kint(body, "child", fa->child);
	jw_kbool(body, "sameTids", (fa->flags & FK_FORK_SAME_TIDS) != 0);
	if (fa->init)
		jw_kint(body, "namespaceInit", fa->init);
	if (fa->userns)
		jw_kbool(body, "userNamespace", true);
	jw_key(body, "threads");
	jw_arr_begin(body);
	for (size_t i = 0; i < fa->nts; i++) {
		jw_obj_begin(body);
		jw_kint(body, "parentTid", fa->ts[i].tid);
		jw_kint(body, "childTid", fa->ts[i].child_tid);
		jw_obj_end(body);
	}
	jw_arr_end(body);
	jw_key(body, "timings");
	jw_obj_begin(body);
	jw_kint(body, "pauseUs", (int64_t)(fa->t_release - fa->t_stop));
	jw_kint(body, "forkUs", (int64_t)(fa->t_fork1 - fa->t_fork0));
	jw_kint(body, "threadsUs", (int64_t)(fa->t_child1 - fa->t_child0));
	jw_kint(body, "totalUs", (int64_t)(fa->t_child1 - fa->t_start));
	jw_key(body, "pausePhasesUs");
	jw_obj_begin(body);
	static const char *const names[] = { "stop", "capture", "altstack", "fork", "restore", "release" };
	for (int i = 0; i < 6; i++)
		jw_kint(body, names[i], (int64_t)fa->phases[i]);
	jw_obj_end(body);
	jw_obj_end(body);
	size_t ndc = 0, nwf = 0;
	uint64_t bdc = 0, rdc = 0;
	for (size_t i = 0; i < fa->nvmf; i++) {
		if (fa->vmf[i].flags & VMF_DONTFORK) {
			ndc++;
			bdc += fa->vmf[i].end - fa->vmf[i].start;
			rdc += fa->vmf[i].rss;
		}
		if (fa->vmf[i].flags & VMF_WIPEONFORK)
			nwf++;
	}
	jw_key(body, "dontfork");
	jw_obj_begin(body);
	jw_kint(body, "regions", (int64_t)ndc);
	jw_kint(body, "bytes", (int64_t)bdc);	      /* address space */
	jw_kint(body, "residentBytes", (int64_t)rdc); /* what a copy costs */
	jw_kbool(body, "copied", fa_want_dontfork_copy(fa));
	jw_obj_end(body);
	jw_key(body, "wipeonfork");
	jw_arr_begin(body);
	for (size_t i = 0; i < fa->nvmf; i++) {
		if (!(fa->vmf[i].flags & VMF_WIPEONFORK))
			continue;
		jw_obj_begin(body);
		jw_khex(body, "start", fa->vmf[i].start);
		jw_khex(body, "end", fa->vmf[i].end);
		jw_kstr(body, "path", fa->vmf[i].path);
		jw_obj_end(body);
	}
	jw_arr_end(body);
	jw_kbool(body, "zombieLeader", fa->zombie_leader);
	jw_kint(body, "robustOwnersFixed", (int64_t)fa->robust_fixed);
	jw_kint(body, "locksFixed", (int64_t)fa->locks_fixed);
	fa_warnings_json(fa, body);
}

void fa_init(struct forkall *fa, struct fk_tracer *tr, pid_t pid, uint32_t flags, struct fk_err *err)
{
	memset(fa, 0, sizeof *fa);
	fa->tr = tr;
	fa->pid = pid;
	fa->flags = flags;
	fa->err = err;
	fa->fault = getenv("FORKALL_FAULT");
	fa->skip = getenv("FORKALL_SKIP");
	jw_init(&fa->warnings);
	fa->t_start = tr_now_us();
}

int fa_parent_half(struct forkall *fa)
{
	int rc = fa_prepare(fa);
	/* Prepare reads maps and memory while the process runs: one being
	 * replaced by execve reads inconsistently (maps of the old program,
	 * memory of the new). Not the caller's error: try again. */
	if (rc < 0 && (fa_image_changed(fa) || (fa->err->kind && strcmp(fa->err->kind, FK_KIND_FAILED) == 0)))
		fa->execed = true;
	if (rc == 0)
		rc = fa_stop_parent(fa); /* sets t_stop: the first thread stopped */
	uint64_t *ph = fa->ph;
	ph[0] = tr_now_us();
	if (rc == 0)
		rc = fa_capture(fa);
	fa->t_capture1 = tr_now_us();
	if (rc == 0)
		rc = fa_check_seccomp(fa);
	ph[1] = tr_now_us();

	if (rc == 0)
		rc = fa_capture_altstacks(fa);
	ph[2] = tr_now_us();
	if (rc == 0)
		rc = fa_inject_fork(fa);
	ph[3] = tr_now_us();
	if (rc == 0)
		rc = fa_restore_parent(fa);
	ph[4] = tr_now_us();
	if (rc == 0 && fa_fault_at(fa, "parent-release") == 0) {
		if (!fa->hold_parent)
			fa_release_parent(fa);
		fa->t_release = tr_now_us();
		fa->phases[0] = ph[0] - fa->t_stop;    /* stop */
		fa->phases[1] = ph[1] - ph[0];	       /* capture */
		fa->phases[2] = ph[2] - ph[1];	       /* altstack */
		fa->phases[3] = ph[3] - ph[2];	       /* fork */
		fa->phases[4] = ph[4] - ph[3];	       /* restore */
		fa->phases[5] = fa->t_release - ph[4]; /* release */
	} else {
		rc = -1;
	}
	if (rc == 0) {
		fa->t_child0 = tr_now_us();
		fa_read_thread_extras(fa);
		rc = fa_attach_child(fa->tr, fa);
	}
	if (rc == 0 && fa_want_dontfork_copy(fa)) {
		/* the child got the regions; mark them DONTFORK again there */
		rc = fa_madvise_dontfork(fa, fa->cproc, fa->child, MADV_DONTFORK, "dontfork");
	}
	return rc;
}

void fa_free(struct forkall *fa)
{
	for (size_t i = 0; i < fa->nts; i++)
		if (fa->ts[i].xstate_owned)
			free(fa->ts[i].xstate);
	free(fa->ts);
	free(fa->xpool);
	free(fa->scratch);
	free(fa->vmf);
	free(fa->pre);
	free(fa->pcreds);
	elfsyms_free(fa->syms);
	proc_maps_free(&fa->maps);
	jw_free(&fa->warnings);
	fa->ts = NULL;
	fa->nts = 0;
	fa->xpool = fa->scratch = NULL;
	fa->vmf = NULL;
	fa->pre = NULL;
	fa->pcreds = NULL;
	fa->syms = NULL;
}

static int fork_attempt(struct fk_tracer *tr, pid_t pid, uint32_t flags, struct jw *body, struct fk_err *err,
			bool *execed)
{
	struct forkall fa;
	fa_init(&fa, tr, pid, flags, err);
	int rc = fa_parent_half(&fa);
	uint64_t tb0 = tr_now_us();
	if (rc == 0)
		rc = fa_build_threads(tr, &fa);
	if (rc == 0 && !(fa.flags & FK_FORK_SAME_TIDS) && !fa_skip(&fa, "locks")) {
		/* errorcheck/recursive/PI mutexes and rwlocks held across the
		 * fork name their owner's parent tid: its copy's now (a failure
		 * kills the child: nothing to undo) */
		struct undo u;
		undo_init(&u, fa.child);
		rc = ownerfix_locks(&fa, fa.cproc, NULL, &u, &fa.locks_fixed);
		undo_free(&u);
	}
	uint64_t tb1 = tr_now_us();
	if (rc == 0)
		rc = fa_release_child(&fa);
	if (rc == 0)
		fk_debug("forkall %d: %zu threads: prepare %llu us; pause: stop %llu, capture %llu, seccomp %llu, "
			 "altstack %llu, fork %llu, restore %llu, release %llu; child: attach %llu, build %llu, "
			 "release %llu",
			 (int)fa.pid, fa.nts, (unsigned long long)(fa.t_stop - fa.t_start),
			 (unsigned long long)fa.phases[0], (unsigned long long)(fa.t_capture1 - fa.ph[0]),
			 (unsigned long long)(fa.ph[1] - fa.t_capture1), (unsigned long long)fa.phases[2],
			 (unsigned long long)fa.phases[3], (unsigned long long)fa.phases[4],
			 (unsigned long long)fa.phases[5], (unsigned long long)(tb0 - fa.t_child0),
			 (unsigned long long)(tb1 - tb0), (unsigned long long)(tr_now_us() - tb1));
	fa.t_child1 = tr_now_us();
	if (rc < 0) {
		if (!fk_err_isset(err))
			fk_fail(err, 0, FK_KIND_FAILED, "fork", "forkall of %d failed", (int)fa.pid);
		fa_rollback(&fa);
	} else {
		result(&fa, body);
	}
	fa_free(&fa);
	*execed = fa.execed;
	return rc;
}

/* Did the target die (killed, exited) while we worked on it? Then that is
 * the error to report, whatever step noticed it first and how (ESRCH,
 * EBUSY from a thread that is no longer stopped, a short read). A killed
 * process (SIGKILL pending, or a zombie leader) needs a moment to finish
 * dying, and its threads may wait for us at their exit stops: statuses are
 * handled meanwhile, for up to 200 ms. */
static bool target_died(struct fk_tracer *tr, pid_t pid)
{
	for (int i = 0; i < 40; i++) {
		while (tr_pump(tr, 0) == 1)
			;
		enum proc_life life = proc_life(pid);
		if (life != PROC_DYING)
			return life == PROC_GONE;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* A target that runs execve while being stopped is put back untouched and
 * tried again (the new program is what the caller now wants copied). */
#define EXEC_RETRIES 5

int forkall_run(struct fk_tracer *tr, pid_t pid, uint32_t flags, struct jw *body, struct fk_err *err)
{
	for (int attempt = 1;; attempt++) {
		bool execed = false;
		int rc = fork_attempt(tr, pid, flags, body, err, &execed);
		if (rc < 0 && err->kind && strcmp(err->kind, FK_KIND_NOPROC) != 0 && target_died(tr, pid)) {
			char step[sizeof err->step];
			snprintf(step, sizeof step, "%s", err->step);
			fk_err_clear(err);
			return fk_fail(err, ESRCH, FK_KIND_EXITED, step,
				       "process %d exited during the fork (at step %s)", (int)pid, step);
		}
		if (rc == 0 || !execed || attempt == EXEC_RETRIES)
			return rc;
		fk_info("forkall %d: attempt %d overlapped an execve (%s); trying again", (int)pid, attempt, err->msg);
		fk_err_clear(err);
		struct timespec ts = { 0, 2 * 1000 * 1000 }; /* let the exec finish */
		nanosleep(&ts, NULL);
	}
}
