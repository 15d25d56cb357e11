/* forkall_stub.c — building the child's threads with the child stub.
 *
 * Per thread this costs a clone() inside the child plus ~4 ptrace calls
 * from us (seize, interrupt, and later the final registers), where
 * injecting everything costs ~10 stops per thread. The stub page exists only
 * in the child, only while the threads are built, and is unmapped before
 * the child runs.
 *
 *   1. mmap a page in the leader (injected), write stub code + table
 *   2. leader: no PTRACE_O_TRACECLONE (its clones must not stop it), run the
 *      stub; it traps (int3) after the last clone
 *   3. wait until every new thread has marked itself done (parked)
 *   4. seize + interrupt every new thread; check each one's setup result
 *   5. munmap the page (injected in the leader)
 */
#include "engine/forkall_int.h"

#include "engine/child_stub.h"
#include "base/log.h"
#include "base/mem.h"
#include "ptrace/rsys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STUB_TIMEOUT_MS 10000

static size_t code_len(void)
{
	return (size_t)(fk_child_stub_end - fk_child_stub_start);
}

static const char *const step_names[] = { "", "set_robust_list", "rseq", "prctl(PR_SET_NAME)", "sigaltstack" };

int stub_build_threads(struct forkall *fa)
{
	struct fk_err *err = fa->err;
	struct proc *c = fa->cproc;
	pid_t L = fa->child;

	/* which parent threads get a new thread (all but the leader's original) */
	size_t n = 0;
	size_t *which = calloc(fa->nts + 1, sizeof *which);
	if (!which)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "clone", "out of memory");
	for (size_t i = 0; i < fa->nts; i++) {
		if (i == fa->forker && !fa->zombie_leader)
			fa->ts[i].child_tid = L;
		else
			which[n++] = i;
	}

	size_t code = (code_len() + 63) & ~(size_t)63;
	size_t table_off = code;
	size_t size = table_off + STUB_HEADER_SIZE + n * STUB_ENTRY_SIZE;
	size = (size + 4095) & ~(size_t)4095;
	uint8_t *img = calloc(1, size);
	struct stub_entry *ents = NULL;
	int rc = -1;
	long page = 0;
	if (!img) {
		free(which);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "clone", "out of memory");
	}

	/* 1. the page */
	uint64_t a[6] = { 0, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	if (rsys_one(fa->tr, c, fa->insn, L, SYS_mmap, a, &page, NULL, err) < 0)
		goto out;
	if (page < 0 && page > -4096) {
		fk_fail(err, (int)-page, FK_KIND_FAILED, "clone", "mmap of the thread-building page in child %d",
			(int)L);
		page = 0;
		goto out;
	}
	uint64_t table = (uint64_t)page + table_off;
	memcpy(img, fk_child_stub_start, code_len());
	struct stub_header *h = (struct stub_header *)(img + table_off);
	ents = (struct stub_entry *)(img + table_off + STUB_HEADER_SIZE);
	h->n = n;
	struct tstate *fk = &fa->ts[fa->forker];
	if (!fa->zombie_leader && fk->robust_ok && !fa_skip(fa, "robust")) {
		h->leader_robust_head = fk->robust_head;
		h->leader_robust_len = fk->robust_len;
	}
	for (size_t k = 0; k < n; k++) {
		struct tstate *t = &fa->ts[which[k]];
		struct stub_entry *e = &ents[k];
		uint64_t eaddr = table + STUB_HEADER_SIZE + k * STUB_ENTRY_SIZE;
		e->flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
		uint64_t tls = arch_tp(&t->regs);
		if (tls) {
			e->flags |= CLONE_SETTLS;
			e->tls = tls;
		}
		if (t->glibc && !fa_skip(fa, "tidfix")) {
			e->flags |= CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
			e->ptid = e->ctid = tls + (uint64_t)fa->tid_off;
		}
		e->stack = t->scratch_at; /* unused by the stub; a valid address of its own stack */
		if (t->robust_ok && !fa_skip(fa, "robust")) {
			e->robust_head = t->robust_head;
			e->robust_len = t->robust_len;
		}
		if (t->rseq_ok && t->rseq.rseq_abi_pointer && !fa_skip(fa, "rseq")) {
			e->rseq_ptr = t->rseq.rseq_abi_pointer;
			e->rseq_len = t->rseq.rseq_abi_size;
			e->rseq_sig = t->rseq.signature;
		}
		if (t->name[0] && !fa_skip(fa, "name")) {
			memcpy(e->name, t->name, sizeof e->name - 1);
			e->name_ptr = eaddr + offsetof(struct stub_entry, name);
		}
		if (t->altstack_ok && !(t->altstack.ss_flags & SS_DISABLE) && !fa_skip(fa, "altstack")) {
			stack_t ss = t->altstack;
			ss.ss_flags &= ~SS_ONSTACK; /* the kernel recomputes it from sp */
			memcpy(e->ss, &ss, sizeof ss);
			e->ss_ptr = eaddr + offsetof(struct stub_entry, ss);
		}
	}
	if (mem_write_exact(L, (uint64_t)page, img, size) < 0) {
		fk_fail(err, EFAULT, FK_KIND_FAILED, "clone", "writing the thread-building page into child %d", (int)L);
		goto out;
	}

	/* 2. run it: clones must not stop the leader */
	fk_gregs saved, r;
	if (arch_get_gregs(L, &saved) < 0 ||
	    ptrace(PTRACE_SETOPTIONS, L, 0, ATTACH_OPTIONS & ~PTRACE_O_TRACECLONE) < 0) {
		fk_fail(err, errno, FK_KIND_FAILED, "clone", "preparing the child leader %d", (int)L);
		goto out;
	}
	if (fa_fault_at(fa, "clone") < 0)
		goto restore_opts;
	r = saved;
	arch_stub_regs(&r, (uint64_t)page + (uint64_t)(fk_child_stub_leader - fk_child_stub_start), table);
	struct lwp *ll = proc_lwp(c, L);
	if (arch_set_gregs(L, &r) < 0 || !ll || ptrace(PTRACE_CONT, L, 0, 0) < 0) {
		fk_fail(err, errno, FK_KIND_FAILED, "clone", "starting the thread-building stub in child %d", (int)L);
		goto restore_opts;
	}
	proc_set_running(c, ll);
	uint64_t deadline = tr_now_us() + STUB_TIMEOUT_MS * 1000ull;
	for (;;) {
		int pr = tr_pump_pid(fa->tr, L, 100);
		if (tr_find_proc(fa->tr, fa->child) != c || pr == -ECHILD) {
			fk_fail(err, ESRCH, FK_KIND_EXITED, "clone", "the child %d died while building its threads",
				(int)L);
			goto out;
		}
		ll = proc_lwp(c, L);
		if (ll && ll->state == LWP_STOPPED) {
			if (ll->stop == STOP_SIGNAL && ll->stop_sig == SIGSTOP) {
				ll->pending_sig = 0; /* the stub's own SIGSTOP: discarded */
				break;
			}
			if (ll->stop == STOP_SIGNAL) {
				fk_fail(err, EFAULT, FK_KIND_FAILED, "clone",
					"the child leader %d got signal %d in the stub", (int)L, ll->stop_sig);
				goto restore_opts;
			}
			ptrace(PTRACE_CONT, L, 0, 0); /* a late interrupt: go on */
			proc_set_running(c, ll);
		}
		if (tr_now_us() > deadline) {
			fk_fail(err, ETIMEDOUT, FK_KIND_FAILED, "clone",
				"the child %d did not build its threads in %d ms", (int)L, STUB_TIMEOUT_MS);
			goto restore_opts;
		}
	}

	/* 3. every thread created and parked? */
	for (;;) {
		if (mem_read_exact(L, table, h, STUB_HEADER_SIZE + n * STUB_ENTRY_SIZE) < 0) {
			fk_fail(err, EFAULT, FK_KIND_FAILED, "clone", "reading the thread table of child %d", (int)L);
			goto restore_opts;
		}
		size_t done = 0;
		for (size_t k = 0; k < n; k++) {
			if (ents[k].result < 0) {
				struct tstate *t = &fa->ts[which[k]];
				fk_fail(err, (int)-ents[k].result, FK_KIND_FAILED, "clone",
					"creating the copy of thread %d in child %d failed%s", (int)t->tid, (int)L,
					ents[k].result == -EAGAIN ? " (RLIMIT_NPROC or threads-max reached?)" : "");
				goto restore_opts;
			}
			done += ents[k].done == 1;
		}
		if (done == n)
			break;
		if (tr_now_us() > deadline) {
			fk_fail(err, ETIMEDOUT, FK_KIND_FAILED, "clone",
				"%zu of %zu new threads of child %d did not finish", n - done, n, (int)L);
			goto restore_opts;
		}
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
	if ((int64_t)h->leader_robust_ret < 0)
		fa_warn(fa, "child leader: set_robust_list: %s", strerror((int)-(int64_t)h->leader_robust_ret));

	/* 4. seize them, parked in futex_wait */
	for (size_t k = 0; k < n; k++) {
		pid_t tid = (pid_t)ents[k].result;
		fa->ts[which[k]].child_tid = tid;
		if (ptrace(PTRACE_SEIZE, tid, 0, ATTACH_OPTIONS) < 0 || !proc_add_lwp(c, tid) ||
		    ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
			fk_fail(err, errno, FK_KIND_FAILED, "clone", "seizing new thread %d of child %d", (int)tid,
				(int)L);
			goto restore_opts;
		}
		proc_lwp(c, tid)->interrupt_pending = true;
	}
	if (attach_stop_all(fa->tr, c, STOP_TIMEOUT_MS, err) < 0)
		goto restore_opts;
	for (size_t k = 0; k < n; k++) {
		if (ents[k].setup_err) {
			uint64_t st = ents[k].setup_step < 5 ? ents[k].setup_step : 0;
			fk_fail(err, (int)-ents[k].setup_err, FK_KIND_FAILED, "thread-setup", "%s in child thread %d",
				step_names[st], (int)ents[k].result);
			goto restore_opts;
		}
	}
	rc = 0;

restore_opts:
	ptrace(PTRACE_SETOPTIONS, L, 0, ATTACH_OPTIONS);
out:
	/* 5. the page goes (the threads never return to it: their final
	 * registers are loaded next) */
	if (page > 0 && tr_find_proc(fa->tr, fa->child) == c) {
		long ret;
		struct fk_err e2;
		fk_err_clear(&e2);
		uint64_t m[6] = { (uint64_t)page, size, 0, 0, 0, 0 };
		if (rsys_one(fa->tr, c, fa->insn, L, SYS_munmap, m, &ret, NULL, rc < 0 ? &e2 : err) < 0 || ret < 0) {
			if (rc == 0)
				fk_fail(err, ret < 0 ? (int)-ret : EIO, FK_KIND_FAILED, "clone",
					"unmapping the thread-building page of child %d", (int)L);
			rc = -1;
		}
	}
	free(img);
	free(which);
	return rc;
}
