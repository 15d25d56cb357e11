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
#include "arch.h"
#include "attach.h"
#include "breakpoints.h"
#include "elfsym.h"
#include "log.h"
#include "mem.h"
#include "ops.h"
#include "procfs.h"
#include "rsys.h"
#include "threaddb.h"
#include "forkall_int.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
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
#include <unistd.h>

#include "../include/forkall.h"

void fa_warn(struct forkall *fa, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	jw_str(&fa->warnings, buf);
	fk_warn("forkall %d: %s", (int)fa->pid, buf);
}

/* FORKALL_FAULT=<step>: fail that step as if its system call had failed. */
int fa_fault_at(struct forkall *fa, const char *step)
{
	if (fa->fault && strcmp(fa->fault, step) == 0)
		return fk_fail(fa->err, EIO, FK_KIND_FAILED, step, "forkall of %d: injected fault at step \"%s\"",
			       (int)fa->pid, step);
	return 0;
}

/* FORKALL_SKIP=xstate,sigmask,...: leave restore steps out, so tests can
 * show that their fidelity checks catch the difference. Never for users. */
bool fa_skip(const struct forkall *fa, const char *what)
{
	if (!fa->skip)
		return false;
	size_t wl = strlen(what);
	for (const char *p = fa->skip; (p = strstr(p, what)) != NULL; p += wl)
		if ((p == fa->skip || p[-1] == ',') && (p[wl] == ',' || p[wl] == '\0'))
			return true;
	return false;
}

/* ---- prepare (the process runs) --------------------------------------- */

static int prepare(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	if (attach_check_pid(fa->pid, err) < 0)
		return -1;
	fa->mpid = proc_live_tid(fa->pid);
	int rc = proc_maps_read(fa->mpid, &fa->maps);
	if (rc == -EACCES || rc == -EPERM)
		return attach_explain(fa->pid, fa->pid, EPERM, err); /* same check as ptrace */
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_NOPROC, "prepare", "reading /proc/%d/maps", (int)fa->pid);
	if (rsys_find_insn(fa->mpid, &fa->maps, &fa->insn, err) < 0)
		return -1;
	fa->syms = elfsyms_new(fa->mpid, &fa->maps);
	/* only the tid field's offset is needed: no libthread_db session */
	fa->tid_off = fa->syms ? glibc_pthread_tid_offset(fa->mpid, fa->syms) : -1;
	if (fa->tid_off < 0)
		fa_warn(fa, "no glibc thread layout found (_thread_db_pthread_tid): thread descriptors are not fixed up");
	rc = proc_vmflag_ranges(fa->mpid, &fa->vmf, &fa->nvmf);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "prepare", "reading /proc/%d/smaps", (int)fa->pid);
	rc = attach_read_pre_states(fa->pid, &fa->pre, &fa->npre);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_NOPROC, "prepare", "reading /proc/%d/task", (int)fa->pid);
	return 0;
}

/* ---- stop and capture (the pause) -------------------------------------- */

static int stop_parent(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	fa->parent = tr_find_proc(fa->tr, fa->pid);
	if (fa->parent) {
		fa->session = true;
		fa->was_running = fa->parent->want_running;
		if (fa->was_running && attach_stop_all(fa->tr, fa->parent, STOP_TIMEOUT_MS, err) < 0)
			return -1;
	} else {
		fa->parent = tr_add_proc(fa->tr, fa->pid);
		if (!fa->parent)
			return fk_fail(err, ENOMEM, FK_KIND_FAILED, "stop", "out of memory");
		pid_t *known = malloc((fa->npre ? fa->npre : 1) * sizeof *known);
		for (size_t i = 0; known && i < fa->npre; i++)
			known[i] = fa->pre[i].tid;
		int rc = attach_seize_all(fa->tr, fa->parent, true, known, known ? fa->npre : 0, err);
		free(known);
		fa->parent = tr_find_proc(fa->tr, fa->pid);
		if (rc < 0 || !fa->parent)
			return -1;
		if (attach_stop_all(fa->tr, fa->parent, STOP_TIMEOUT_MS, err) < 0)
			return -1;
	}
	if (fa_fault_at(fa, "stop") < 0)
		return -1;
	struct proc *p = fa->parent;
	fa->zombie_leader = p->zombie_leader;
	for (size_t i = 0; i < p->n; i++)
		if (p->lwps[i].state == LWP_STOPPED && p->lwps[i].stop == STOP_GROUP)
			return fk_fail(err, EBUSY, FK_KIND_BADREQ, "stop",
				       "process %d is stopped by job control (SIGSTOP); continue it first", (int)fa->pid);
	return 0;
}

/* The bytes of every thread's scratch window, before we use it. */
static int save_scratch(struct forkall *fa)
{
	uint64_t *at = calloc(fa->nts, sizeof *at);
	bool *ok = calloc(fa->nts, sizeof *ok);
	fa->scratch = malloc(fa->nts * SCRATCH_LEN);
	if (!at || !ok || !fa->scratch) {
		free(at), free(ok);
		return -1;
	}
	for (size_t i = 0; i < fa->nts; i++)
		at[i] = fa->ts[i].scratch_at = (arch_sp(&fa->ts[i].regs) - SCRATCH_BELOW_SP - SCRATCH_LEN) & ~(uint64_t)15;
	mem_read_blocks(fa->mpid, at, SCRATCH_LEN, fa->scratch, ok, fa->nts);
	for (size_t i = 0; i < fa->nts; i++)
		fa->ts[i].scratch_saved = ok[i];
	free(at), free(ok);
	return 0;
}

/* Put the saved scratch bytes back into pid (the parent, or the child
 * that inherited what we wrote there before the fork). */
static void restore_scratch(struct forkall *fa, pid_t pid)
{
	if (!fa->scratch)
		return;
	uint64_t *at = calloc(fa->nts, sizeof *at);
	bool *which = calloc(fa->nts, sizeof *which);
	if (at && which) {
		for (size_t i = 0; i < fa->nts; i++) {
			at[i] = fa->ts[i].scratch_at;
			which[i] = fa->ts[i].scratch_saved;
		}
		mem_write_blocks(pid, at, SCRATCH_LEN, fa->scratch, which, fa->nts);
	}
	free(at), free(which);
}

static int capture(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct proc *p = fa->parent;
	size_t xcap = arch_xstate_bufsize();
	fa->ts = calloc(p->n ? p->n : 1, sizeof *fa->ts);
	if (!fa->ts)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "capture", "out of memory");
	uint64_t *addrs = calloc(p->n + 1, sizeof *addrs);
	uint32_t *vals = calloc(p->n + 1, sizeof *vals);
	bool *ok = calloc(p->n + 1, sizeof *ok);
	if (!addrs || !vals || !ok) {
		free(addrs), free(vals), free(ok);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "capture", "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->state != LWP_STOPPED || l->exiting)
			continue; /* exiting: it would not survive in the parent either */
		struct tstate *t = &fa->ts[n];
		t->tid = l->tid;
		int rc = arch_get_gregs(l->tid, &t->regs);
		if (rc < 0) {
			free(addrs), free(vals), free(ok);
			return fk_fail(err, -rc, FK_KIND_FAILED, "capture", "PTRACE_GETREGS of thread %d", (int)l->tid);
		}
		t->xstate = malloc(xcap);
		if (!t->xstate || (rc = arch_get_xstate(l->tid, t->xstate, xcap, &t->xlen)) < 0) {
			free(addrs), free(vals), free(ok);
			return fk_fail(err, t->xstate ? -rc : ENOMEM, FK_KIND_FAILED, "capture",
				       "PTRACE_GETREGSET NT_X86_XSTATE of thread %d", (int)l->tid);
		}
		t->sigmask_ok = ptrace(PTRACE_GETSIGMASK, l->tid, (void *)sizeof t->sigmask, &t->sigmask) == 0;
		t->rseq_ok = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, l->tid, (void *)sizeof t->rseq, &t->rseq) > 0;
		if (fa->tid_off >= 0 && arch_tp(&t->regs))
			addrs[n] = arch_tp(&t->regs) + (uint64_t)fa->tid_off;
		n++;
	}
	fa->nts = n;
	/* which threads are glibc threads (pd->tid == tid), in one read */
	if (fa->tid_off >= 0) {
		mem_read_u32_many(fa->mpid, addrs, vals, ok, n);
		for (size_t i = 0; i < n; i++)
			fa->ts[i].glibc = addrs[i] && ok[i] && (pid_t)vals[i] == fa->ts[i].tid;
	}
	free(addrs), free(vals), free(ok);
	if (n == 0)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "capture", "process %d has no live thread", (int)fa->pid);
	if (save_scratch(fa) < 0)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "capture", "out of memory");
	/* the forker: the main thread when it lives (the child's leader then
	 * impersonates main, as in the parent), else the first live one */
	fa->forker = 0;
	for (size_t i = 0; i < n; i++)
		if (fa->ts[i].tid == fa->pid)
			fa->forker = i;
	return fa_fault_at(fa, "capture");
}

/* sigaltstack() can only be read from inside each thread: one injected
 * sigaltstack(NULL, &old) per thread, all threads at once. With more than a
 * few threads, a "syscall; int3" page is mapped in the parent for the time
 * of this step (one stop per thread instead of two). */
static int capture_altstacks(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct rsys_call *calls = calloc(fa->nts, sizeof *calls);
	if (!calls)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "altstack", "out of memory");
	for (size_t i = 0; i < fa->nts; i++) {
		calls[i].tid = fa->ts[i].tid;
		calls[i].nr = SYS_sigaltstack;
		calls[i].args[0] = 0;
		calls[i].args[1] = fa_scratch(&fa->ts[i], 64);
	}
	fa->injected_parent = true;
	pid_t F = fa->ts[fa->forker].tid;
	long page = 0;
	if (fa->nts >= 4) {
		uint64_t a[6] = {0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0};
		uint8_t code[16];
		size_t len = arch_syscall_trap_code(code, sizeof code);
		if (rsys_one(fa->tr, fa->parent, fa->insn, F, SYS_mmap, a, &page, NULL, err) < 0) {
			free(calls);
			return -1;
		}
		if ((page < 0 && page > -4096) || !len || mem_write_exact(fa->mpid, (uint64_t)page, code, len) < 0)
			page = 0; /* fall back to two stops per thread */
	}
	int rc = page > 0 ? rsys_run_trap(fa->tr, fa->parent, (uint64_t)page, calls, fa->nts, INJECT_TIMEOUT_MS, err)
			  : rsys_run(fa->tr, fa->parent, fa->insn, calls, fa->nts, INJECT_TIMEOUT_MS, err);
	if (page > 0) {
		long ret = 0;
		uint64_t m[6] = {(uint64_t)page, 4096, 0, 0, 0, 0};
		struct fk_err e2;
		fk_err_clear(&e2);
		if ((rsys_one(fa->tr, fa->parent, fa->insn, F, SYS_munmap, m, &ret, NULL, &e2) < 0 || ret < 0) &&
		    rc == 0)
			rc = fk_fail(err, ret < 0 ? (int)-ret : e2.errnum, FK_KIND_FAILED, "altstack",
				     "unmapping the temporary page in process %d", (int)fa->pid);
	}
	for (size_t i = 0; rc == 0 && i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		if (calls[i].status < 0) {
			rc = fk_fail(err, -calls[i].status, calls[i].status == -ESRCH ? FK_KIND_EXITED : FK_KIND_FAILED,
				     "altstack", "reading the alternate signal stack of thread %d", (int)t->tid);
			break;
		}
		if (calls[i].ret == 0 &&
		    mem_read_exact(fa->mpid, calls[i].args[1], &t->altstack, sizeof t->altstack) == 0)
			t->altstack_ok = true;
		else
			fa_warn(fa, "thread %d: alternate signal stack unknown (sigaltstack: %ld)", (int)t->tid,
				calls[i].ret);
	}
	free(calls);
	if (rc < 0)
		return -1;
	return fa_fault_at(fa, "altstack");
}

/* MADV_DONTFORK memory (V8's heap: a plain fork child of node has no JS
 * heap) is lifted for the fork and put back in both processes. */
static int madvise_dontfork(struct forkall *fa, struct proc *p, pid_t tid, int advice, const char *step)
{
	for (size_t i = 0; i < fa->nvmf; i++) {
		if (!(fa->vmf[i].flags & VMF_DONTFORK))
			continue;
		uint64_t a[6] = {fa->vmf[i].start, fa->vmf[i].end - fa->vmf[i].start, (uint64_t)advice, 0, 0, 0};
		long ret;
		if (rsys_one(fa->tr, p, fa->insn, tid, SYS_madvise, a, &ret, NULL, fa->err) < 0)
			return -1;
		if (ret < 0)
			return fk_fail(fa->err, (int)-ret, FK_KIND_FAILED, step, "madvise(0x%llx, %llu, %s) in %d",
				       (unsigned long long)a[0], (unsigned long long)a[1],
				       advice == MADV_DOFORK ? "MADV_DOFORK" : "MADV_DONTFORK", (int)p->pid);
	}
	return 0;
}

static bool want_dontfork_copy(const struct forkall *fa)
{
	if (!(fa->flags & FK_FORK_COPY_DONTFORK))
		return false;
	for (size_t i = 0; i < fa->nvmf; i++)
		if (fa->vmf[i].flags & VMF_DONTFORK)
			return true;
	return false;
}

static int inject_fork(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct tstate *f = &fa->ts[fa->forker];
	if (want_dontfork_copy(fa)) {
		/* the regions may have changed since prepare: read them now */
		free(fa->vmf);
		fa->vmf = NULL;
		int rc = proc_vmflag_ranges(fa->mpid, &fa->vmf, &fa->nvmf);
		if (rc < 0)
			return fk_fail(err, -rc, FK_KIND_FAILED, "dontfork", "reading /proc/%d/smaps", (int)fa->pid);
		fa->injected_parent = true;
		fa->dofork_applied = true;
		if (madvise_dontfork(fa, fa->parent, f->tid, MADV_DOFORK, "dontfork") < 0 || fa_fault_at(fa, "dontfork") < 0)
			return -1;
	}
	if (fa->flags & FK_FORK_SAME_TIDS)
		return samepid_fork(fa);
	if (ptrace(PTRACE_SETOPTIONS, f->tid, 0, ATTACH_OPTIONS | PTRACE_O_TRACEFORK) < 0)
		return fk_fail(err, errno, FK_KIND_FAILED, "fork", "PTRACE_SETOPTIONS of thread %d", (int)f->tid);
	/* glibc's own fork: the kernel writes the child's tid into the
	 * forker's pd->tid and clears it at exit. With a dead main thread
	 * the child's leader exits after building the threads, and must not
	 * clear the pd->tid the forker's copy then owns. CLONE_PARENT: the
	 * child is the target's sibling, so the target (which never asked
	 * for a child) is not sent SIGCHLD and left with a zombie; its
	 * parent (a shell, the debugger) reaps it. */
	uint64_t flags = SIGCHLD | CLONE_PARENT;
	uint64_t ctid = 0;
	if (f->glibc && !fa->zombie_leader) {
		flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
		ctid = arch_tp(&f->regs) + (uint64_t)fa->tid_off;
	}
	fa->injected_parent = true;
	if (fa_fault_at(fa, "fork") < 0)
		return -1;
	fa->t_fork0 = tr_now_us();
	struct rsys_call c;
	long ret;
	uint64_t a[6] = {flags, 0, 0, ctid, 0, 0};
	int rc = rsys_one(fa->tr, fa->parent, fa->insn, f->tid, SYS_clone, a, &ret, &c, err);
	if (rc == 0 && ret == -EINVAL && (flags & CLONE_PARENT)) {
		/* the target is an init (of a namespace): no siblings */
		a[0] &= ~(uint64_t)CLONE_PARENT;
		rc = rsys_one(fa->tr, fa->parent, fa->insn, f->tid, SYS_clone, a, &ret, &c, err);
	}
	fa->t_fork1 = tr_now_us();
	ptrace(PTRACE_SETOPTIONS, f->tid, 0, ATTACH_OPTIONS);
	if (rc < 0)
		return -1;
	if (c.event == PTRACE_EVENT_FORK && c.event_msg)
		fa->child = (pid_t)c.event_msg;
	else if (ret > 0)
		fa->child = (pid_t)ret;
	if (ret < 0)
		return fk_fail(err, (int)-ret, FK_KIND_FAILED, "fork", "the injected fork of process %d failed%s",
			       (int)fa->pid,
			       ret == -EAGAIN ? " (RLIMIT_NPROC or the pid limit reached?)"
			       : ret == -ENOMEM ? " (out of memory)" : "");
	return 0;
}

/* Put the parent back exactly: DONTFORK flags, and every register of every
 * thread we ran code in (the kernel will not redo an interrupted syscall
 * we consumed, so its restart is applied here). */
static int restore_parent(struct forkall *fa)
{
	int rc = 0;
	if (fa->dofork_applied) {
		struct fk_err e2;
		fk_err_clear(&e2);
		struct fk_err *saved = fa->err;
		fa->err = &e2;
		if (madvise_dontfork(fa, fa->parent, fa->ts[fa->forker].tid, MADV_DONTFORK, "dontfork") < 0) {
			fk_fail(saved, e2.errnum, e2.kind, "restore", "restoring MADV_DONTFORK in %d: %s", (int)fa->pid,
				e2.msg);
			rc = -1;
		}
		fa->err = saved;
		fa->dofork_applied = false;
	}
	if (fa->injected_parent) {
		restore_scratch(fa, fa->mpid);
		for (size_t i = 0; i < fa->nts; i++) {
			struct tstate *t = &fa->ts[i];
			struct lwp *l = proc_lwp(fa->parent, t->tid);
			if (!l || l->state != LWP_STOPPED)
				continue;
			fk_gregs r = t->regs;
			arch_fix_restart(&r, FIX_SAME_TASK);
			int e = arch_set_gregs(t->tid, &r);
			if (e < 0 && e != -ESRCH) {
				fk_fail(fa->err, -e, FK_KIND_FAILED, "restore", "restoring the registers of thread %d of %d",
					(int)t->tid, (int)fa->pid);
				rc = -1;
			}
		}
		fa->injected_parent = false;
	}
	return rc;
}

static void release_parent(struct forkall *fa)
{
	if (fa->parent_released)
		return;
	fa->parent_released = true;
	struct proc *p = tr_find_proc(fa->tr, fa->pid);
	if (!p)
		return;
	if (fa->session) {
		if (fa->was_running)
			attach_resume_all(fa->tr, p);
	} else {
		attach_release(fa->tr, p);
	}
	fa->parent = NULL;
}

/* ---- after the parent runs again ---------------------------------------- */

/* Robust list, affinity and scheduling are read from the tracer without
 * stopping anyone (they change rarely; set when a thread starts). */
static void read_thread_extras(struct forkall *fa)
{
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		long head = 0;
		size_t len = 0;
		if (syscall(SYS_get_robust_list, t->tid, &head, &len) == 0) {
			t->robust_head = (uint64_t)head;
			t->robust_len = len;
			t->robust_ok = head != 0;
		}
		t->affinity_ok = sched_getaffinity(t->tid, sizeof t->affinity, &t->affinity) == 0;
		memset(&t->sched, 0, sizeof t->sched);
		t->sched_ok = syscall(SYS_sched_getattr, t->tid, &t->sched, sizeof t->sched, 0) == 0;
		const struct pre_state *ps = NULL;
		for (size_t j = 0; j < fa->npre && !ps; j++)
			if (fa->pre[j].tid == t->tid)
				ps = &fa->pre[j];
		if (ps)
			snprintf(t->name, sizeof t->name, "%s", ps->name);
		else
			proc_task_comm(fa->pid, t->tid, t->name, sizeof t->name);
	}
}

/* Take over a process our tracee just forked (auto-attached, stopped). */
int fa_attach_new(struct forkall *fa, pid_t pid, struct proc **out, const char *step)
{
	struct fk_err *err = fa->err;
	struct proc *p = tr_add_proc(fa->tr, pid);
	if (!p)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, step, "out of memory");
	*out = p;
	struct lwp *l = proc_add_lwp(p, pid);
	if (!l)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, step, "out of memory");
	/* its first stop may already have been reported (unclaimed) */
	int status;
	if (tr_take_unclaimed(fa->tr, pid, &status)) {
		proc_set_stopped(p, l);
		l->stop = STOP_INTERRUPT;
	}
	return attach_stop_all(fa->tr, p, STOP_TIMEOUT_MS, err);
}

static int attach_child(struct fk_tracer *tr, struct forkall *fa)
{
	(void)tr;
	if (fa->cproc)
		return 0; /* same-tids mode attached it already */
	if (fa_attach_new(fa, fa->child, &fa->cproc, "child-attach") < 0)
		return -1;
	return fa_fault_at(fa, "child-attach");
}

uint64_t fa_scratch(const struct tstate *t, uint64_t below)
{
	/* inside [scratch_at, scratch_at + SCRATCH_LEN) for below <= 448 */
	return (arch_sp(&t->regs) - SCRATCH_BELOW_SP - below) & ~(uint64_t)15;
}

/* rseq: a thread stopped inside its critical section continues at the
 * abort handler, as the kernel would do on preemption. */
static void rseq_fixup(struct forkall *fa, struct tstate *t, fk_gregs *r)
{
	if (!t->rseq_ok || !t->rseq.rseq_abi_pointer)
		return;
	uint64_t cs_ptr = 0;
	if (mem_read_exact(fa->child, t->rseq.rseq_abi_pointer + 8, &cs_ptr, sizeof cs_ptr) < 0 || !cs_ptr)
		return;
	struct {
		uint32_t version, flags;
		uint64_t start_ip, post_commit_offset, abort_ip;
	} cs;
	if (mem_read_exact(fa->child, cs_ptr, &cs, sizeof cs) < 0)
		return;
	uint64_t pc = arch_pc(r);
	if (pc >= cs.start_ip && pc < cs.start_ip + cs.post_commit_offset) {
		arch_set_pc(r, cs.abort_ip);
		uint64_t zero = 0;
		mem_write_exact(fa->child, t->rseq.rseq_abi_pointer + 8, &zero, sizeof zero);
	}
}

/* Sanitise an xstate image for PTRACE_SETREGSET (compel does the same):
 * compacted-format bit and reserved header bytes must be zero. */
static void xstate_sanitise(uint8_t *x, size_t len)
{
	if (len >= 576) {
		memset(x + 520, 0, 8);      /* xcomp_bv */
		memset(x + 528, 0, 576 - 528); /* reserved */
	}
}

/* Robust mutexes a thread holds are on its robust list (the kernel walks it
 * at exit): their futex word and glibc's owner field hold the owner's tid.
 * In the child the owner has a new tid, so rewrite old -> new for every
 * entry, else unlocking gives EPERM. The owner field is found without
 * knowing glibc's layout: it is a word equal to the old tid between the
 * futex word and the list entry. Mutexes not on a robust list (errorcheck,
 * recursive, PI) cannot be found; the tid-preserving mode covers them. */
static size_t fix_robust_owners(struct forkall *fa)
{
	size_t fixed = 0;
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		if (!t->robust_ok || t->child_tid == t->tid)
			continue;
		struct {
			uint64_t list;
			int64_t futex_offset;
			uint64_t pending;
		} head;
		if (mem_read_exact(fa->child, t->robust_head, &head, sizeof head) < 0)
			continue;
		uint64_t entry = head.list;
		for (int n = 0; n < 4096 && entry && entry != t->robust_head; n++) {
			uint64_t fut = entry + (uint64_t)head.futex_offset;
			uint64_t lo = fut < entry ? fut : entry, hi = fut < entry ? entry : fut + 4;
			if (hi - lo <= 64) {
				uint32_t words[16];
				size_t nw = (size_t)(hi - lo) / 4;
				if (mem_read_exact(fa->child, lo, words, nw * 4) == 0) {
					bool touched = false;
					for (size_t w = 0; w < nw; w++) {
						if ((words[w] & 0x3fffffffu) == (uint32_t)t->tid) {
							words[w] = (words[w] & ~0x3fffffffu) | (uint32_t)t->child_tid;
							touched = true;
						}
					}
					if (touched && mem_write_exact(fa->child, lo, words, nw * 4) == 0)
						fixed++;
				}
			}
			if (mem_read_exact(fa->child, entry, &entry, sizeof entry) < 0)
				break;
		}
	}
	return fixed;
}

/* The slow, general way (used for the tid-preserving mode): one injected
 * clone per thread in the leader, then the per-thread calls injected in all
 * new threads at once, wave by wave. ~10 ptrace stops per thread. */
static int slow_build_threads(struct forkall *fa)
{
	struct fk_tracer *tr = fa->tr;
	struct fk_err *err = fa->err;
	struct proc *c = fa->cproc;
	pid_t leader = fa->child;
	/* 1. one clone per other thread, in the leader */
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		if (i == fa->forker && !fa->zombie_leader) {
			t->child_tid = leader;
			continue;
		}
		uint64_t flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
		uint64_t tidp = 0, tls = arch_tp(&t->regs);
		if (tls)
			flags |= CLONE_SETTLS;
		if (t->glibc && !fa_skip(fa, "tidfix")) {
			flags |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
			tidp = arch_tp(&t->regs) + (uint64_t)fa->tid_off;
		}
		uint64_t a[6] = {flags, arch_sp(&t->regs), tidp, tidp, tls, 0};
		struct rsys_call rc;
		long ret;
		if (fa_fault_at(fa, "clone") < 0)
			return -1;
		if (fa->flags & FK_FORK_SAME_TIDS) {
			pid_t outer;
			if (samepid_clone_thread(fa, t, flags, tidp, tls, &outer) < 0)
				return -1;
			t->child_tid = outer;
			proc_add_lwp(c, outer);
			continue;
		}
		if (rsys_one(tr, c, fa->insn, leader, SYS_clone, a, &ret, &rc, err) < 0)
			return -1;
		if (ret <= 0)
			return fk_fail(err, (int)-ret, FK_KIND_FAILED, "clone",
				       "creating the copy of thread %d in child %d failed%s", (int)t->tid, (int)leader,
				       ret == -EAGAIN ? " (RLIMIT_NPROC or threads-max reached?)" : "");
		t->child_tid = (pid_t)ret;
		proc_add_lwp(c, t->child_tid); /* known from the clone event too */
	}
	/* every new thread reports its first stop */
	if (attach_stop_all(tr, c, STOP_TIMEOUT_MS, err) < 0)
		return -1;

	/* 2. per-thread kernel state, injected in every new thread at once */
	struct rsys_call *calls = calloc(fa->nts + 1, sizeof *calls);
	if (!calls)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "thread-setup", "out of memory");
	for (int wave = 0; wave < 4; wave++) {
		size_t n = 0;
		for (size_t i = 0; i < fa->nts; i++) {
			struct tstate *t = &fa->ts[i];
			bool is_leader = t->child_tid == leader;
			struct rsys_call *k = &calls[n];
			memset(k, 0, sizeof *k);
			k->tid = t->child_tid;
			if (wave == 0) {
				/* the kernel forgets robust lists on fork and clone */
				if (!t->robust_ok || fa_skip(fa, "robust"))
					continue;
				k->nr = SYS_set_robust_list;
				k->args[0] = t->robust_head;
				k->args[1] = t->robust_len;
			} else if (wave == 1) {
				/* fork keeps the forker's rseq; CLONE_VM drops it */
				if (is_leader || !t->rseq_ok || !t->rseq.rseq_abi_pointer || fa_skip(fa, "rseq"))
					continue;
				k->nr = SYS_rseq;
				k->args[0] = t->rseq.rseq_abi_pointer;
				k->args[1] = t->rseq.rseq_abi_size;
				k->args[2] = 0;
				k->args[3] = t->rseq.signature;
			} else if (wave == 2) {
				if (is_leader || !t->name[0] || fa_skip(fa, "name"))
					continue;
				uint64_t at = fa_scratch(t, 32);
				if (mem_write_exact(fa->child, at, t->name, sizeof t->name) < 0)
					continue;
				k->nr = SYS_prctl;
				k->args[0] = PR_SET_NAME;
				k->args[1] = at;
			} else {
				/* CLONE_VM clones start without an alternate stack */
				if (is_leader || !t->altstack_ok || (t->altstack.ss_flags & SS_DISABLE) ||
				    fa_skip(fa, "altstack"))
					continue;
				stack_t ss = t->altstack;
				ss.ss_flags &= ~SS_ONSTACK; /* recomputed by the kernel from sp */
				uint64_t at = fa_scratch(t, 64);
				if (mem_write_exact(fa->child, at, &ss, sizeof ss) < 0)
					continue;
				k->nr = SYS_sigaltstack;
				k->args[0] = at;
				k->args[1] = 0;
			}
			n++;
		}
		if (!n)
			continue;
		if (rsys_run(tr, c, fa->insn, calls, n, INJECT_TIMEOUT_MS, err) < 0) {
			free(calls);
			return -1;
		}
		static const char *const what[] = {"set_robust_list", "rseq", "prctl(PR_SET_NAME)", "sigaltstack"};
		for (size_t i = 0; i < n; i++) {
			if (calls[i].status < 0 || calls[i].ret < 0) {
				int e = calls[i].status < 0 ? -calls[i].status : (int)-calls[i].ret;
				fk_fail(err, e, FK_KIND_FAILED, "thread-setup", "%s in child thread %d", what[wave],
					(int)calls[i].tid);
				free(calls);
				return -1;
			}
		}
	}
	free(calls);
	return 0;
}

static int build_threads(struct fk_tracer *tr, struct forkall *fa)
{
	(void)tr;
	struct fk_err *err = fa->err;
	struct proc *c = fa->cproc;
	pid_t leader = fa->child;
	sigset_t all;
	sigfillset(&all);
	uint64_t allmask = ~0ull;
	/* new threads inherit the leader's mask: nothing may be delivered to
	 * a half-built thread */
	if (ptrace(PTRACE_SETSIGMASK, leader, (void *)sizeof allmask, &allmask) < 0)
		return fk_fail(err, errno, FK_KIND_FAILED, "clone", "PTRACE_SETSIGMASK of the child leader %d",
			       (int)leader);

	int brc = (fa->flags & FK_FORK_SAME_TIDS) || getenv("FORKALL_SLOW_BUILD") ? slow_build_threads(fa)
									    : stub_build_threads(fa);
	if (brc < 0)
		return -1;
	if (!fa_skip(fa, "robust") && !(fa->flags & FK_FORK_SAME_TIDS))
		fa->robust_fixed = fix_robust_owners(fa);
	if (fa_fault_at(fa, "thread-setup") < 0)
		return -1;

	/* 3. the final state of every thread */
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		bool is_leader = t->child_tid == leader;
		fk_gregs r = t->regs;
		/* the leader is the forker's own fork copy: its restart_block is
		 * a copy of the forker's; new threads have none */
		if (!fa_skip(fa, "restart"))
			arch_fix_restart(&r, is_leader ? FIX_SAME_TASK : FIX_NEW_THREAD);
		rseq_fixup(fa, t, &r);
		int e;
		if ((e = arch_set_gregs(t->child_tid, &r)) < 0)
			return fk_fail(err, -e, FK_KIND_FAILED, "child-regs", "PTRACE_SETREGS of child thread %d",
				       (int)t->child_tid);
		xstate_sanitise(t->xstate, t->xlen);
		if (!fa_skip(fa, "xstate") && (e = arch_set_xstate(t->child_tid, t->xstate, t->xlen)) < 0)
			return fk_fail(err, -e, FK_KIND_FAILED, "child-regs",
				       "PTRACE_SETREGSET NT_X86_XSTATE of child thread %d", (int)t->child_tid);
		if (!is_leader && !fa_skip(fa, "sched")) {
			if (t->affinity_ok && sched_setaffinity(t->child_tid, sizeof t->affinity, &t->affinity) < 0)
				fa_warn(fa, "thread %d: CPU affinity not copied: %s", (int)t->child_tid, strerror(errno));
			if (t->sched_ok) {
				t->sched.size = sizeof t->sched;
				t->sched.sched_flags = 0;
				if (syscall(SYS_sched_setattr, t->child_tid, &t->sched, 0) < 0)
					fa_warn(fa, "thread %d: scheduling policy/priority not copied: %s", (int)t->child_tid,
					     strerror(errno));
			}
		}
		uint64_t mask = t->sigmask_ok && !fa_skip(fa, "sigmask") ? t->sigmask : 0;
		if (ptrace(PTRACE_SETSIGMASK, t->child_tid, (void *)sizeof mask, &mask) < 0)
			return fk_fail(err, errno, FK_KIND_FAILED, "child-regs", "PTRACE_SETSIGMASK of child thread %d",
				       (int)t->child_tid);
		struct lwp *l = proc_lwp(c, t->child_tid);
		if (l)
			l->regs_valid = false;
	}
	if (fa->zombie_leader) {
		/* the parent's main thread is gone: so is the child's. The
		 * leader leaves with exit() (not exit_group), a zombie leader
		 * like the parent's. */
		fk_gregs r;
		uint64_t a[6] = {0, 0, 0, 0, 0, 0};
		if (arch_get_gregs(leader, &r) == 0) {
			arch_setup_syscall(&r, fa->insn, SYS_exit, a);
			arch_set_gregs(leader, &r);
		}
	}
	return fa_fault_at(fa, "child-regs");
}

static int release_child(struct forkall *fa)
{
	struct proc *c = fa->cproc;
	/* the parent's breakpoints were copied with its memory: the child
	 * must not trap on them (a debug session sets its own) */
	struct proc *parent = tr_find_proc(fa->tr, fa->pid);
	if (parent && parent->nbps)
		bp_scrub_copy(parent, fa->child);
	restore_scratch(fa, fa->child);
	if (fa_fault_at(fa, "child-release") < 0)
		return -1;
	if (fa->init && samepid_finish_init(fa) < 0)
		return -1;
	if (fa->flags & FK_FORK_KEEP_TRACED) {
		c->session = true; /* a debug session takes it over, stopped */
		fa->cproc = NULL;
		return 0;
	}
	if (fa->flags & FK_FORK_STOPPED) {
		/* queued before the threads run: they stop in a group-stop,
		 * which outlives our detach */
		if (kill(fa->child, SIGSTOP) < 0)
			return fk_fail(fa->err, errno, FK_KIND_FAILED, "child-release", "SIGSTOP to child %d",
				       (int)fa->child);
	}
	attach_release(fa->tr, c);
	fa->cproc = NULL;
	return 0;
}

/* Undo: the child is killed and reaped, the parent restored and released. */
static void rollback(struct forkall *fa)
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
		restore_parent(fa);
		fa->err = saved;
		if (fk_err_isset(&e2))
			fk_warn("forkall %d rollback: %s", (int)fa->pid, e2.msg);
		release_parent(fa);
	}
}

static void result(struct forkall *fa, struct jw *body)
{
	jw_kint(body, "parent", fa->pid);
	jw_kint(body, "child", fa->child);
	jw_kbool(body, "sameTids", (fa->flags & FK_FORK_SAME_TIDS) != 0);
	if (fa->init)
		jw_kint(body, "namespaceInit", fa->init);
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
	static const char *const names[] = {"stop", "capture", "altstack", "fork", "restore", "release"};
	for (int i = 0; i < 6; i++)
		jw_kint(body, names[i], (int64_t)fa->phases[i]);
	jw_obj_end(body);
	jw_obj_end(body);
	size_t ndc = 0, nwf = 0;
	uint64_t bdc = 0;
	for (size_t i = 0; i < fa->nvmf; i++) {
		if (fa->vmf[i].flags & VMF_DONTFORK) {
			ndc++;
			bdc += fa->vmf[i].end - fa->vmf[i].start;
		}
		if (fa->vmf[i].flags & VMF_WIPEONFORK)
			nwf++;
	}
	jw_key(body, "dontfork");
	jw_obj_begin(body);
	jw_kint(body, "regions", (int64_t)ndc);
	jw_kint(body, "bytes", (int64_t)bdc);
	jw_kbool(body, "copied", want_dontfork_copy(fa));
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
	jw_key(body, "warnings");
	jw_arr_begin(body);
	if (fa->warnings.buf)
		jw_raw(body, fa->warnings.buf, fa->warnings.len);
	jw_arr_end(body);
}

int op_fork(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err)
{
	struct forkall fa;
	memset(&fa, 0, sizeof fa);
	fa.tr = tr;
	fa.pid = rq->pid;
	fa.flags = rq->flags;
	fa.err = err;
	fa.fault = getenv("FORKALL_FAULT");
	fa.skip = getenv("FORKALL_SKIP");
	jw_init(&fa.warnings);
	fa.t_start = tr_now_us();

	int rc = prepare(&fa);
	if (rc == 0) {
		fa.t_stop = tr_now_us();
		rc = stop_parent(&fa);
	}
	uint64_t ph[8] = {0};
	ph[0] = tr_now_us();
	if (rc == 0)
		rc = capture(&fa);
	ph[1] = tr_now_us();
	if (rc == 0)
		rc = capture_altstacks(&fa);
	ph[2] = tr_now_us();
	if (rc == 0)
		rc = inject_fork(&fa);
	ph[3] = tr_now_us();
	if (rc == 0)
		rc = restore_parent(&fa);
	ph[4] = tr_now_us();
	if (rc == 0 && fa_fault_at(&fa, "parent-release") == 0) {
		release_parent(&fa);
		fa.t_release = tr_now_us();
		fa.phases[0] = ph[0] - fa.t_stop;      /* stop */
		fa.phases[1] = ph[1] - ph[0];          /* capture */
		fa.phases[2] = ph[2] - ph[1];          /* altstack */
		fa.phases[3] = ph[3] - ph[2];          /* fork */
		fa.phases[4] = ph[4] - ph[3];          /* restore */
		fa.phases[5] = fa.t_release - ph[4];   /* release */
	} else {
		rc = -1;
	}
	if (rc == 0) {
		fa.t_child0 = tr_now_us();
		read_thread_extras(&fa);
		rc = attach_child(tr, &fa);
	}
	if (rc == 0 && want_dontfork_copy(&fa)) {
		/* the child got the regions; mark them DONTFORK again there */
		rc = madvise_dontfork(&fa, fa.cproc, fa.child, MADV_DONTFORK, "dontfork");
	}
	if (rc == 0)
		rc = build_threads(tr, &fa);
	if (rc == 0)
		rc = release_child(&fa);
	fa.t_child1 = tr_now_us();
	if (rc < 0) {
		if (!fk_err_isset(err))
			fk_fail(err, 0, FK_KIND_FAILED, "fork", "forkall of %d failed", (int)fa.pid);
		rollback(&fa);
	} else {
		result(&fa, body);
	}
	for (size_t i = 0; i < fa.nts; i++)
		free(fa.ts[i].xstate);
	free(fa.ts);
	free(fa.scratch);
	free(fa.vmf);
	free(fa.pre);
	elfsyms_free(fa.syms);
	proc_maps_free(&fa.maps);
	jw_free(&fa.warnings);
	return rc;
}
