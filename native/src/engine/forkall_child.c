/* forkall_child.c — the child's side: take it over, recreate every other
 * thread (the stub of forkall_stub.c, or injected calls for --same-tids),
 * load each thread's final state, release it. */
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

int fa_attach_child(struct fk_tracer *tr, struct forkall *fa)
{
	(void)tr;
	if (fa->cproc)
		return 0; /* same-tids mode attached it already */
	if (fa_attach_new(fa, fa->child, &fa->cproc, "child-attach") < 0)
		return -1;
	return fa_fault_at(fa, "child-attach");
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
		memset(x + 520, 0, 8);	       /* xcomp_bv */
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
size_t fa_fix_robust_owners(struct forkall *fa)
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
		uint64_t a[6];
		arch_clone_args(a, flags, arch_sp(&t->regs), tidp, tidp, tls);
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
		static const char *const what[] = { "set_robust_list", "rseq", "prctl(PR_SET_NAME)", "sigaltstack" };
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

int fa_build_threads(struct fk_tracer *tr, struct forkall *fa)
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

	uint64_t q0 = tr_now_us();
	if (fa->child_page) {
		/* the temporary page of the fork's wave, inherited */
		uint64_t m[6] = { fa->child_page, 4096, 0, 0, 0, 0 };
		long ret = 0;
		if (rsys_one(fa->tr, c, fa->insn, leader, SYS_munmap, m, &ret, NULL, err) < 0)
			return -1;
		if (ret < 0)
			return fk_fail(err, (int)-ret, FK_KIND_FAILED, "clone",
				       "unmapping the temporary page in child %d", (int)leader);
		fa->child_page = 0;
	}
	int brc = (fa->flags & FK_FORK_SAME_TIDS) || getenv("FORKALL_SLOW_BUILD") ? slow_build_threads(fa)
										  : stub_build_threads(fa);
	if (brc < 0)
		return -1;
	if (!fa_skip(fa, "robust") && !(fa->flags & FK_FORK_SAME_TIDS))
		fa->robust_fixed = fa_fix_robust_owners(fa);
	if (fa_fault_at(fa, "thread-setup") < 0)
		return -1;
	if (fa_child_creds(fa) < 0)
		return -1;

	uint64_t q1 = tr_now_us();
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
				fa_warn(fa, "thread %d: CPU affinity not copied: %s", (int)t->child_tid,
					strerror(errno));
			if (t->sched_ok) {
				t->sched.size = sizeof t->sched;
				t->sched.sched_flags = 0;
				if (syscall(SYS_sched_setattr, t->child_tid, &t->sched, 0) < 0)
					fa_warn(fa, "thread %d: scheduling policy/priority not copied: %s",
						(int)t->child_tid, strerror(errno));
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
		uint64_t a[6] = { 0, 0, 0, 0, 0, 0 };
		if (arch_get_gregs(leader, &r) == 0) {
			arch_setup_syscall(&r, fa->insn, SYS_exit, a);
			arch_set_gregs(leader, &r);
		}
	}
	fk_debug("forkall %d: child %d: threads cloned and set up in %llu us, final state loaded in %llu us",
		 (int)fa->pid, (int)fa->child, (unsigned long long)(q1 - q0), (unsigned long long)(tr_now_us() - q1));
	return fa_fault_at(fa, "child-regs");
}

int fa_release_child(struct forkall *fa)
{
	struct proc *c = fa->cproc;
	/* the parent's breakpoints were copied with its memory: the child
	 * must not trap on them (a debug session sets its own) */
	struct proc *parent = tr_find_proc(fa->tr, fa->pid);
	if (parent && parent->nbps)
		bp_scrub_copy(parent, fa->child);
	fa_restore_scratch(fa, fa->child, false); /* the slow build writes in every thread's */
	if (fa_fault_at(fa, "child-release") < 0)
		return -1;
	if (fa->init && samepid_finish_init(fa) < 0)
		return -1;
	if (fa->flags & FK_FORK_KEEP_TRACED) {
		c->session = true;   /* a debug session takes it over, stopped */
		c->own_fork = false; /* its own forks are the program's */
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
