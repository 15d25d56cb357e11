/* forkall_parent.c — the parent's side of the multithreaded fork: prepare
 * (while it runs), stop, capture every thread, the injected fork, and putting
 * the parent back exactly. */
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

#include <errno.h>
#include <pthread.h>
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

/* ---- prepare (the process runs) --------------------------------------- */

/* Every thread's /proc/PID/task/TID/status, read once while the process
 * runs: its name and state (what attach_read_pre_states reads from stat),
 * its credentials (compared with the forking thread's when the child is
 * built; read after the release before, which is no less racy) and its
 * seccomp mode, which lets fa_check_seccomp skip reading the file again
 * with everything stopped (one ptrace call per thread instead). A thread
 * that vanished meanwhile is left out; one that appears later is read the
 * old way. This one thread's, into the not yet compacted arrays (tid 0:
 * gone). */
static void read_one_status(struct forkall *fa, const pid_t *tids, size_t i)
{
	struct pre_state *ps = &fa->pre[i];
	struct pre_creds *pc = &fa->pcreds[i];
	if (proc_task_status(fa->pid, tids[i], &pc->c, ps->name, sizeof ps->name, &ps->state) == 0)
		ps->tid = pc->tid = tids[i];
}

/* Drop the threads that were gone when read. */
static void compact_pre_states(struct forkall *fa, size_t cnt)
{
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (!fa->pre[i].tid)
			continue;
		fa->pre[k] = fa->pre[i];
		fa->pcreds[k] = fa->pcreds[i];
		k++;
	}
	fa->npre = fa->npcreds = k;
}

/* The capture's memory, allocated and touched now, while the process runs:
 * at 64 threads, allocating ~700 KiB of xstate buffers and faulting their
 * pages in cost ~0.25 ms of the pause. A few spare entries for threads
 * created meanwhile; more than that are allocated during the capture. */
static void prealloc_capture(struct forkall *fa)
{
	fa->xcap = arch_xstate_bufsize();
	size_t cap = fa->npre + 8;
	fa->ts = calloc(cap, sizeof *fa->ts);
	fa->xpool = malloc(cap * fa->xcap);
	if (!fa->ts || !fa->xpool) {
		free(fa->ts), free(fa->xpool);
		fa->ts = NULL, fa->xpool = NULL;
		return; /* allocated by the capture */
	}
	memset(fa->ts, 0, cap * sizeof *fa->ts);
	memset(fa->xpool, 0, cap * fa->xcap);
	fa->ts_cap = cap;
}

const struct proc_creds *fa_pre_creds(const struct forkall *fa, pid_t tid)
{
	for (size_t i = 0; i < fa->npcreds; i++)
		if (fa->pcreds[i].tid == tid)
			return &fa->pcreds[i].c;
	return NULL;
}

/* /proc/PID/smaps walks the page tables of every mapping (its Rss): the
 * slowest file prepare reads (~1 ms at 16 MiB), and every thread's status
 * costs ~15-40 µs. A helper thread reads smaps and a third of the statuses
 * while the tracer thread does the rest; it makes no ptrace call. */
struct smaps_job {
	struct forkall *fa;
	const pid_t *tids; /* statuses [from, to) are the helper's */
	size_t from, to;
	struct vmflag_range *vmf;
	size_t nvmf;
	int rc;
};

static void *smaps_reader(void *arg)
{
	struct smaps_job *j = arg;
	j->rc = proc_vmflag_ranges(j->fa->mpid, &j->vmf, &j->nvmf);
	for (size_t i = j->from; i < j->to; i++)
		read_one_status(j->fa, j->tids, i);
	return NULL;
}

static int prepare_rest(struct forkall *fa);

int fa_prepare(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	if (attach_check_pid(fa->pid, err) < 0)
		return -1;
	fa->mpid = proc_live_tid(fa->pid);
	/* before the maps: a later exec shows as other mm addresses */
	proc_task_stat(fa->pid, fa->mpid, &fa->image);
	/* every thread's status (read_one_status): a third by the helper,
	 * after smaps; the rest here, after the maps and symbols */
	pid_t *tids = NULL;
	size_t cnt = 0;
	int rc = proc_list_tasks(fa->pid, &tids, &cnt);
	if (rc == -ENOENT || rc == -ESRCH)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "prepare", "process %d exited during the operation",
			       (int)fa->pid);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "prepare", "reading /proc/%d/task", (int)fa->pid);
	fa->pre = calloc(cnt ? cnt : 1, sizeof *fa->pre);
	fa->pcreds = calloc(cnt ? cnt : 1, sizeof *fa->pcreds);
	if (!fa->pre || !fa->pcreds) {
		free(tids);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "prepare", "out of memory");
	}
	size_t mid = cnt - cnt / 3;
	struct smaps_job job = { .fa = fa, .tids = tids, .from = mid, .to = cnt };
	pthread_t helper;
	int te = pthread_create(&helper, NULL, smaps_reader, &job);
	if (te != 0)
		smaps_reader(&job); /* no thread: read it all here */
	rc = prepare_rest(fa);
	for (size_t i = 0; rc == 0 && i < mid; i++)
		read_one_status(fa, tids, i);
	if (te == 0) {
		te = pthread_join(helper, NULL);
		if (te != 0 && rc == 0)
			rc = fk_fail(err, te, FK_KIND_FAILED, "prepare", "waiting for the /proc/%d/smaps reader",
				     (int)fa->pid);
	}
	free(tids);
	fa->vmf = job.vmf;
	fa->nvmf = job.nvmf;
	if (rc < 0)
		return -1;
	if (job.rc < 0)
		return fk_fail(err, -job.rc, FK_KIND_FAILED, "prepare", "reading /proc/%d/smaps", (int)fa->pid);
	compact_pre_states(fa, cnt);
	prealloc_capture(fa);
	return 0;
}

static int prepare_rest(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	int rc = proc_maps_read(fa->mpid, &fa->maps);
	if (rc == -EACCES || rc == -EPERM)
		return attach_explain(fa->pid, fa->pid, EPERM, err); /* same check as ptrace */
	if (rc == -ENOENT || rc == -ESRCH)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "prepare", "process %d exited during the operation",
			       (int)fa->pid);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "prepare", "reading /proc/%d/maps", (int)fa->pid);
	if (rsys_find_insn(fa->mpid, &fa->maps, &fa->insn, err) < 0)
		return -1;
	fa->syms = elfsyms_new(fa->mpid, &fa->maps);
	/* only the tid field's offset is needed: no libthread_db session */
	fa->tid_off = fa->syms ? glibc_pthread_tid_offset(fa->mpid, fa->syms) : -1;
	if (fa->tid_off < 0)
		fa_warn(fa,
			"no glibc thread layout found (_thread_db_pthread_tid): thread descriptors are not fixed up");
	fa->altstack_possible = fa_altstack_possible(fa);
	return 0;
}

/* ---- stop and capture (the pause) -------------------------------------- */

/* Did the target run execve since fa_prepare (which read its maps, found
 * its syscall instruction and its glibc layout)? Everything stopped now:
 * an exec shows as an exec event, or, if it happened before we seized,
 * as other mm addresses (ASLR; without it the new image has the same
 * layout and what prepare found still holds). */
bool fa_image_changed(const struct forkall *fa)
{
	struct proc_task_stat now;
	if (proc_task_stat(fa->pid, fa->mpid, &now) < 0)
		return false;
	return now.startstack != fa->image.startstack || now.start_code != fa->image.start_code ||
	       now.arg_start != fa->image.arg_start;
}

static int check_no_exec(struct forkall *fa)
{
	bool changed = fa->parent->execs != fa->execs0 || fa_image_changed(fa);
	if (!changed)
		return 0;
	fa->execed = true;
	return fk_fail(fa->err, EAGAIN, FK_KIND_FAILED, "stop",
		       "process %d executed a new program (execve) during the fork; nothing was changed", (int)fa->pid);
}

int fa_stop_parent(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	fa->parent = tr_find_proc(fa->tr, fa->pid);
	if (fa->parent) {
		fa->t_stop = tr_now_us();
		fa->session = true;
		fa->execs0 = fa->parent->execs;
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
		/* Seize every thread first (a seized thread runs on), then stop
		 * them all at once: the pause starts with the first interrupt. */
		int rc = attach_seize_all(fa->tr, fa->parent, false, known, known ? fa->npre : 0, err);
		free(known);
		fa->t_stop = tr_now_us();
		fa->parent = tr_find_proc(fa->tr, fa->pid);
		if (rc < 0 || !fa->parent)
			return -1;
		if (attach_stop_all(fa->tr, fa->parent, STOP_TIMEOUT_MS, err) < 0)
			return -1;
	}
	if (attach_settle(fa->tr, fa->parent, STOP_TIMEOUT_MS, err) < 0)
		return -1;
	fa->parent = tr_find_proc(fa->tr, fa->pid);
	if (!fa->parent)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "stop", "process %d exited during the operation",
			       (int)fa->pid);
	if (check_no_exec(fa) < 0)
		return -1;
	if (fa_fault_at(fa, "stop") < 0)
		return -1;
	struct proc *p = fa->parent;
	fa->zombie_leader = p->zombie_leader;
	for (size_t i = 0; i < p->n; i++)
		if (p->lwps[i].state == LWP_STOPPED && p->lwps[i].stop == STOP_GROUP)
			return fk_fail(err, EBUSY, FK_KIND_BADREQ, "stop",
				       "process %d is stopped by job control (SIGSTOP); continue it first",
				       (int)fa->pid);
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
		at[i] = fa->ts[i].scratch_at =
			(arch_sp(&fa->ts[i].regs) - SCRATCH_BELOW_SP - SCRATCH_LEN) & ~(uint64_t)15;
	mem_read_blocks(fa->mpid, at, SCRATCH_LEN, fa->scratch, ok, fa->nts);
	for (size_t i = 0; i < fa->nts; i++)
		fa->ts[i].scratch_saved = ok[i];
	free(at), free(ok);
	return 0;
}

/* Put the saved scratch bytes back into pid (the parent, or the child
 * that inherited what we wrote there before the fork). */
void fa_restore_scratch(struct forkall *fa, pid_t pid, bool injected_only)
{
	if (!fa->scratch)
		return;
	uint64_t *at = calloc(fa->nts, sizeof *at);
	bool *which = calloc(fa->nts, sizeof *which);
	if (at && which) {
		for (size_t i = 0; i < fa->nts; i++) {
			at[i] = fa->ts[i].scratch_at;
			which[i] = fa->ts[i].scratch_saved && (fa->ts[i].injected || !injected_only);
		}
		mem_write_blocks(pid, at, SCRATCH_LEN, fa->scratch, which, fa->nts);
	}
	free(at), free(which);
}

/* A capture that failed half-way: fa->nts is still 0, so nobody else
 * frees the buffers of the first n threads. */
static void drop_xstates(struct forkall *fa, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fa->ts[i].xstate_owned)
			free(fa->ts[i].xstate);
		fa->ts[i].xstate = NULL;
		fa->ts[i].xstate_owned = false;
	}
}

int fa_capture(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct proc *p = fa->parent;
	size_t xcap = fa->xcap ? fa->xcap : arch_xstate_bufsize();
	if (p->n > fa->ts_cap) {
		/* more threads than at prepare: the pool covers the first ts_cap */
		struct tstate *nt = realloc(fa->ts, p->n * sizeof *nt);
		if (!nt)
			return fk_fail(err, ENOMEM, FK_KIND_FAILED, "capture", "out of memory");
		memset(nt + fa->ts_cap, 0, (p->n - fa->ts_cap) * sizeof *nt);
		fa->ts = nt;
	}
	if (!fa->ts && !(fa->ts = calloc(1, sizeof *fa->ts)))
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
			drop_xstates(fa, n);
			return fk_fail(err, -rc, FK_KIND_FAILED, "capture", "PTRACE_GETREGS of thread %d", (int)l->tid);
		}
		if (fa->xpool && n < fa->ts_cap) {
			t->xstate = fa->xpool + n * xcap;
		} else {
			t->xstate = malloc(xcap);
			t->xstate_owned = t->xstate != NULL;
		}
		if (!t->xstate || (rc = arch_get_xstate(l->tid, t->xstate, xcap, &t->xlen)) < 0) {
			free(addrs), free(vals), free(ok);
			drop_xstates(fa, n + 1);
			return fk_fail(err, t->xstate ? -rc : ENOMEM, FK_KIND_FAILED, "capture",
				       "PTRACE_GETREGSET NT_X86_XSTATE of thread %d", (int)l->tid);
		}
		const struct proc_creds *pc = fa_pre_creds(fa, l->tid);
		if (pc) {
			t->creds = *pc;
			t->creds_ok = t->creds_early = true;
		}
		t->sigmask_ok = ptrace(PTRACE_GETSIGMASK, l->tid, (void *)sizeof t->sigmask, &t->sigmask) == 0;
		t->rseq_ok = ptrace(FK_PTRACE_GET_RSEQ_CONFIGURATION, l->tid, (void *)sizeof t->rseq, &t->rseq) > 0;
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

/* May the "syscall; int3" page run in every thread? The kernel forces the
 * SIGTRAP of an int3: if a thread blocks SIGTRAP, or the process ignores
 * it, the forced signal resets the program's SIGTRAP disposition to
 * SIG_DFL (its handler is lost) and unblocks SIGTRAP in that thread — even
 * though we discard the signal. Then every call takes two stops instead. */
static bool int3_harmless(struct forkall *fa)
{
	uint64_t trap = 1ull << (SIGTRAP - 1);
	for (size_t i = 0; i < fa->nts; i++)
		if (!fa->ts[i].sigmask_ok || (fa->ts[i].sigmask & trap))
			return false;
	uint64_t ign = 0;
	if (proc_status_hex(fa->pid, "SigIgn", &ign) < 0)
		return false;
	return !(ign & trap);
}

/* sigaltstack() can only be read from inside each thread: one injected
 * sigaltstack(NULL, &old) per thread, all threads at once. With more than a
 * few threads, a "syscall; int3" page is mapped in the parent for the time
 * of this step (one stop per thread instead of two).
 *
 * With FORKALL_FORK_WAVE=1 the plain fork runs in the same wave (alt_wave):
 * the forking thread's clone while every other thread reads its stack, so
 * the pause pays for the longer of the two, not both. The forking thread's own stack needs no
 * reading: its copy, the child's leader, keeps it (a fork without CLONE_VM
 * does not reset it). The child then inherits the temporary page, which
 * fa_build_threads unmaps there (fa->child_page). */

/* Fill calls[] with one sigaltstack(NULL, scratch) per thread to read;
 * of[k] is the thread of calls[k]. Returns how many. */
static size_t altstack_calls(struct forkall *fa, struct rsys_call *calls, size_t *of)
{
	bool leader_keeps = !fa->zombie_leader;
	size_t nc = 0;
	for (size_t i = 0; i < fa->nts; i++) {
		if (i == fa->forker && leader_keeps)
			continue;
		of[nc] = i;
		memset(&calls[nc], 0, sizeof calls[nc]);
		calls[nc].tid = fa->ts[i].tid;
		calls[nc].nr = SYS_sigaltstack;
		calls[nc].args[0] = 0;
		calls[nc].args[1] = fa_scratch(&fa->ts[i], 64);
		fa->ts[i].injected = true;
		nc++;
	}
	return nc;
}

/* The "syscall; int3" page, mapped by the forking thread, when it may be
 * used (int3_harmless) and pays off (n calls). 0: use two stops per call. */
static long map_trap_page(struct forkall *fa, size_t n)
{
	if (n < 4 || !int3_harmless(fa))
		return 0;
	pid_t F = fa->ts[fa->forker].tid;
	fa->ts[fa->forker].injected = true;
	uint64_t a[6] = { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	uint8_t code[16];
	size_t len = arch_syscall_trap_code(code, sizeof code);
	long page = 0;
	if (rsys_one(fa->tr, fa->parent, fa->insn, F, SYS_mmap, a, &page, NULL, fa->err) < 0)
		return -1;
	if ((page < 0 && page > -4096) || !len || mem_write_exact(fa->mpid, (uint64_t)page, code, len) < 0)
		return 0; /* fall back to two stops per call (a mapped page is unmapped with the parent's next exec
			     or never: only when the write failed; not expected) */
	return page;
}

/* Unmap it in the parent; rc: the step's result so far. */
static int unmap_trap_page(struct forkall *fa, long page, int rc)
{
	if (page <= 0)
		return rc;
	long ret = 0;
	uint64_t m[6] = { (uint64_t)page, 4096, 0, 0, 0, 0 };
	struct fk_err e2;
	fk_err_clear(&e2);
	pid_t F = fa->ts[fa->forker].tid;
	if ((rsys_one(fa->tr, fa->parent, fa->insn, F, SYS_munmap, m, &ret, NULL, &e2) < 0 || ret < 0) && rc == 0)
		rc = fk_fail(fa->err, ret < 0 ? (int)-ret : e2.errnum, FK_KIND_FAILED, "altstack",
			     "unmapping the temporary page in process %d", (int)fa->pid);
	return rc;
}

/* Each thread's stack from its call's result (all read in one go). */
static int altstack_results(struct forkall *fa, const struct rsys_call *calls, const size_t *of, size_t nc)
{
	for (size_t k = 0; k < nc; k++)
		if (calls[k].status < 0)
			return fk_fail(fa->err, -calls[k].status,
				       calls[k].status == -ESRCH ? FK_KIND_EXITED : FK_KIND_FAILED, "altstack",
				       "reading the alternate signal stack of thread %d", (int)fa->ts[of[k]].tid);
	uint64_t *at = calloc(nc ? nc : 1, sizeof *at);
	uint8_t *buf = calloc(nc ? nc : 1, sizeof(stack_t));
	bool *ok = calloc(nc ? nc : 1, sizeof *ok);
	if (!at || !buf || !ok) {
		free(at), free(buf), free(ok);
		return fk_fail(fa->err, ENOMEM, FK_KIND_FAILED, "altstack", "out of memory");
	}
	for (size_t k = 0; k < nc; k++)
		at[k] = calls[k].args[1];
	mem_read_blocks(fa->mpid, at, sizeof(stack_t), buf, ok, nc);
	for (size_t k = 0; k < nc; k++) {
		struct tstate *t = &fa->ts[of[k]];
		if (calls[k].ret == 0 && ok[k]) {
			memcpy(&t->altstack, buf + k * sizeof(stack_t), sizeof(stack_t));
			t->altstack_ok = true;
		} else {
			fa_warn(fa, "thread %d: alternate signal stack unknown (sigaltstack: %ld%s)", (int)t->tid,
				calls[k].ret, ok[k] ? "" : ", result not readable");
		}
	}
	free(at), free(buf), free(ok);
	return 0;
}

/* Read in the wave of the plain fork (see above)? Only with
 * FORKALL_FORK_WAVE=1: on 2 CPUs the forking thread's page-table copy and
 * the other threads' calls compete for the same CPUs, and no gain stood
 * out of the noise (64 threads: altstack + fork 3.6 ms read first, 4.1 ms
 * in one wave, medians of 16). */
static bool alt_wave(const struct forkall *fa)
{
	const char *w = getenv("FORKALL_FORK_WAVE");
	return w && strcmp(w, "1") == 0 && !(fa->flags & FK_FORK_SAME_TIDS) && !fa->zombie_leader;
}

int fa_capture_altstacks(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	if (!fa->altstack_possible) {
		for (size_t i = 0; i < fa->nts; i++) {
			stack_t none = { .ss_sp = NULL, .ss_flags = SS_DISABLE, .ss_size = 0 };
			fa->ts[i].altstack = none;
			fa->ts[i].altstack_ok = true;
		}
		return fa_fault_at(fa, "altstack");
	}
	if (alt_wave(fa))
		return 0; /* read with the fork (fa_inject_fork) */
	struct rsys_call *calls = calloc(fa->nts, sizeof *calls);
	size_t *of = calloc(fa->nts, sizeof *of);
	if (!calls || !of) {
		free(calls), free(of);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "altstack", "out of memory");
	}
	size_t nc = altstack_calls(fa, calls, of);
	int rc = 0;
	if (nc > 0) {
		fa->injected_parent = true;
		long page = map_trap_page(fa, nc);
		if (page < 0) {
			free(calls), free(of);
			return -1;
		}
		rc = page > 0 ? rsys_run_trap(fa->tr, fa->parent, (uint64_t)page, calls, nc, INJECT_TIMEOUT_MS, err)
			      : rsys_run(fa->tr, fa->parent, fa->insn, calls, nc, INJECT_TIMEOUT_MS, err);
		rc = unmap_trap_page(fa, page, rc);
		if (rc == 0)
			rc = altstack_results(fa, calls, of, nc);
	}
	free(calls), free(of);
	if (rc < 0)
		return -1;
	return fa_fault_at(fa, "altstack");
}

/* MADV_DONTFORK memory (V8's heap: a plain fork child of node has no JS
 * heap) is lifted for the fork and put back in both processes. */
int fa_madvise_dontfork(struct forkall *fa, struct proc *p, pid_t tid, int advice, const char *step)
{
	for (size_t i = 0; i < fa->nvmf; i++) {
		if (!(fa->vmf[i].flags & VMF_DONTFORK))
			continue;
		uint64_t a[6] = { fa->vmf[i].start, fa->vmf[i].end - fa->vmf[i].start, (uint64_t)advice, 0, 0, 0 };
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

bool fa_want_dontfork_copy(const struct forkall *fa)
{
	if (!(fa->flags & FK_FORK_COPY_DONTFORK))
		return false;
	for (size_t i = 0; i < fa->nvmf; i++)
		if (fa->vmf[i].flags & VMF_DONTFORK)
			return true;
	return false;
}

static int inject_plain_fork(struct forkall *fa, struct tstate *f);

/* The clone (args a) in the forking thread and sigaltstack in every other
 * thread, one wave. c: the clone's call; fails like rsys_one. */
static int fork_in_wave(struct forkall *fa, struct tstate *f, const uint64_t a[6], struct rsys_call *c)
{
	struct fk_err *err = fa->err;
	struct rsys_call *calls = calloc(fa->nts + 1, sizeof *calls);
	size_t *of = calloc(fa->nts + 1, sizeof *of);
	if (!calls || !of) {
		free(calls), free(of);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "fork", "out of memory");
	}
	size_t nc = altstack_calls(fa, calls, of);
	struct rsys_call *fc = &calls[nc];
	memset(fc, 0, sizeof *fc);
	fc->tid = f->tid;
	fc->nr = SYS_clone;
	memcpy(fc->args, a, sizeof fc->args);
	long page = map_trap_page(fa, nc + 1);
	if (page < 0) {
		free(calls), free(of);
		return -1;
	}
	fa->t_fork0 = tr_now_us();
	int rc = page > 0 ? rsys_run_trap(fa->tr, fa->parent, (uint64_t)page, calls, nc + 1, INJECT_TIMEOUT_MS, err)
			  : rsys_run(fa->tr, fa->parent, fa->insn, calls, nc + 1, INJECT_TIMEOUT_MS, err);
	*c = *fc;
	if (fc->event == PTRACE_EVENT_FORK && fc->event_msg) {
		fa->child = (pid_t)fc->event_msg; /* known now: a later failure kills it */
		if (page > 0)
			fa->child_page = (uint64_t)page; /* mapped before the fork: the child has it too */
	}
	rc = unmap_trap_page(fa, page, rc);
	if (rc == 0 && fc->status < 0) {
		if (fc->status == -ESRCH)
			rc = fk_fail(err, ESRCH, FK_KIND_EXITED, "inject",
				     "thread %d of process %d exited during an injected system call %ld", (int)f->tid,
				     (int)fa->pid, (long)SYS_clone);
		else if (fc->status == -RSYS_SECCOMP)
			rc = fk_fail(err, EPERM, FK_KIND_FAILED, "inject",
				     "a seccomp filter of thread %d of process %d refused the injected clone "
				     "(SECCOMP_RET_TRAP; its SIGSYS was not delivered)",
				     (int)f->tid, (int)fa->pid);
		else
			rc = fk_fail(err, -fc->status, FK_KIND_FAILED, "inject",
				     "injected system call %ld in thread %d of %d", (long)SYS_clone, (int)f->tid,
				     (int)fa->pid);
	}
	if (rc == 0)
		rc = altstack_results(fa, calls, of, nc);
	if (rc == 0)
		rc = fa_fault_at(fa, "altstack");
	free(calls), free(of);
	return rc;
}

int fa_inject_fork(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct tstate *f = &fa->ts[fa->forker];
	f->injected = true; /* every call of the fork runs in the forking thread */
	if (fa_want_dontfork_copy(fa)) {
		/* the regions may have changed since prepare: read them now */
		free(fa->vmf);
		fa->vmf = NULL;
		int rc = proc_vmflag_ranges(fa->mpid, &fa->vmf, &fa->nvmf);
		if (rc < 0)
			return fk_fail(err, -rc, FK_KIND_FAILED, "dontfork", "reading /proc/%d/smaps", (int)fa->pid);
		fa->injected_parent = true;
		fa->dofork_applied = true;
		if (fa_madvise_dontfork(fa, fa->parent, f->tid, MADV_DOFORK, "dontfork") < 0 ||
		    fa_fault_at(fa, "dontfork") < 0)
			return -1;
	}
	/* the child of our own clone is ours, not a fork the program made */
	fa->parent->own_fork = true;
	int rc = (fa->flags & FK_FORK_SAME_TIDS) ? samepid_fork(fa) : inject_plain_fork(fa, f);
	if (tr_find_proc(fa->tr, fa->pid) == fa->parent)
		fa->parent->own_fork = false;
	return rc;
}

static int inject_plain_fork(struct forkall *fa, struct tstate *f)
{
	struct fk_err *err = fa->err;
	bool with_alt = fa->altstack_possible && alt_wave(fa);
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
	struct rsys_call c;
	long ret;
	uint64_t a[6];
	arch_clone_args(a, flags, 0, 0, ctid, 0);
	int rc;
	if (with_alt) {
		rc = fork_in_wave(fa, f, a, &c);
		ret = c.ret;
	} else {
		fa->t_fork0 = tr_now_us();
		rc = rsys_one(fa->tr, fa->parent, fa->insn, f->tid, SYS_clone, a, &ret, &c, err);
	}
	if (rc == 0 && ret == -EINVAL && (flags & CLONE_PARENT)) {
		/* the target is an init (of a namespace): no siblings */
		a[0] &= ~(uint64_t)CLONE_PARENT;
		rc = rsys_one(fa->tr, fa->parent, fa->insn, f->tid, SYS_clone, a, &ret, &c, err);
	}
	fa->t_fork1 = tr_now_us();
	if (rc < 0)
		return -1;
	/* The child's pid comes from the fork event only: a call that did not
	 * run (a seccomp filter rolled it back) leaves its number in the
	 * result register, which is not a pid. */
	if (c.event == PTRACE_EVENT_FORK && c.event_msg)
		fa->child = (pid_t)c.event_msg;
	else if (ret > 0)
		return fk_fail(err, EPROTO, FK_KIND_FAILED, "fork",
			       "the injected fork of process %d returned %ld without a fork event: no child was made",
			       (int)fa->pid, ret);
	if (ret < 0)
		return fk_fail(err, (int)-ret, FK_KIND_FAILED, "fork", "the injected fork of process %d failed%s",
			       (int)fa->pid,
			       ret == -EAGAIN	? " (RLIMIT_NPROC or the pid limit reached?)"
			       : ret == -ENOMEM ? " (out of memory)"
						: "");
	return 0;
}

/* Put the parent back exactly: DONTFORK flags, and every register of every
 * thread we ran code in (the kernel will not redo an interrupted syscall
 * we consumed, so its restart is applied here). */
int fa_restore_parent(struct forkall *fa)
{
	int rc = 0;
	if (fa->dofork_applied) {
		struct fk_err e2;
		fk_err_clear(&e2);
		struct fk_err *saved = fa->err;
		fa->err = &e2;
		if (fa_madvise_dontfork(fa, fa->parent, fa->ts[fa->forker].tid, MADV_DONTFORK, "dontfork") < 0) {
			fk_fail(saved, e2.errnum, e2.kind, "restore", "restoring MADV_DONTFORK in %d: %s", (int)fa->pid,
				e2.msg);
			rc = -1;
		}
		fa->err = saved;
		fa->dofork_applied = false;
	}
	if (fa->injected_parent) {
		fa_restore_scratch(fa, fa->mpid, true); /* only their windows were written */
		for (size_t i = 0; i < fa->nts; i++) {
			struct tstate *t = &fa->ts[i];
			struct lwp *l = proc_lwp(fa->parent, t->tid);
			if (!t->injected || !l || l->state != LWP_STOPPED)
				continue; /* untouched: the kernel restarts its call itself */
			fk_gregs r = t->regs;
			arch_fix_restart(&r, FIX_SAME_TASK);
			int e = arch_set_gregs(t->tid, &r);
			if (e < 0 && e != -ESRCH) {
				fk_fail(fa->err, -e, FK_KIND_FAILED, "restore",
					"restoring the registers of thread %d of %d", (int)t->tid, (int)fa->pid);
				rc = -1;
			}
		}
		fa->injected_parent = false;
	}
	return rc;
}

void fa_release_parent(struct forkall *fa)
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
void fa_read_thread_extras(struct forkall *fa)
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
		/* one thread: nothing to compare its credentials with */
		if (!t->creds_early)
			t->creds_ok = fa->nts > 1 && proc_task_creds(fa->pid, t->tid, &t->creds) == 0;
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
