#include "ptrace/breakpoints.h"

/* how long a removed breakpoint's late SIGTRAP is recognised (gdb keeps
 * such "moribund" locations for a few resumptions) */
#define LATE_TRAP_US (2u * 1000u * 1000u)

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "ptrace/bpslot.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

const struct bp *bp_at(const struct proc *p, uint64_t addr)
{
	for (size_t i = 0; i < p->nbps; i++)
		if (p->bps[i].addr == addr)
			return &p->bps[i];
	return NULL;
}

int bp_insert(struct proc *p, uint64_t addr, struct fk_err *err)
{
	if (bp_at(p, addr))
		return 0;
	if (p->nbps == p->capbps) {
		size_t cap = p->capbps ? p->capbps * 2 : 16;
		struct bp *nb = realloc(p->bps, cap * sizeof *nb);
		if (!nb)
			return fk_fail(err, ENOMEM, FK_KIND_FAILED, "breakpoint", "out of memory");
		p->bps = nb;
		p->capbps = cap;
	}
	struct bp *b = &p->bps[p->nbps];
	b->addr = addr;
	bpslot_forget(p, addr); /* the code there may not be what its old slot copied */
	int rc = mem_read_exact(p->pid, addr, b->orig, arch_bp_len);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_BADREQ, "breakpoint", "no code at 0x%llx in process %d",
			       (unsigned long long)addr, (int)p->pid);
	rc = mem_write_exact(p->pid, addr, arch_bp_insn, arch_bp_len);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "breakpoint", "writing a breakpoint at 0x%llx in %d",
			       (unsigned long long)addr, (int)p->pid);
	p->nbps++;
	return 0;
}

int bp_remove(struct proc *p, uint64_t addr, struct fk_err *err)
{
	for (size_t i = 0; i < p->nbps; i++) {
		if (p->bps[i].addr != addr)
			continue;
		int rc = mem_write_exact(p->pid, addr, p->bps[i].orig, arch_bp_len);
		p->bps[i] = p->bps[--p->nbps];
		bpslot_forget(p, addr);
		/* a running thread may have executed it already: know its late trap */
		unsigned k = p->late_next++ % (sizeof p->late_addr / sizeof p->late_addr[0]);
		p->late_addr[k] = addr;
		p->late_until_us[k] = tr_now_us() + LATE_TRAP_US;
		if (rc < 0 && rc != -ESRCH)
			return fk_fail(err, -rc, FK_KIND_FAILED, "breakpoint", "restoring the code at 0x%llx in %d",
				       (unsigned long long)addr, (int)p->pid);
		return 0;
	}
	return fk_fail(err, ENOENT, FK_KIND_BADREQ, "breakpoint", "no breakpoint at 0x%llx in process %d",
		       (unsigned long long)addr, (int)p->pid);
}

void bp_remove_all(struct proc *p)
{
	for (size_t i = 0; i < p->nbps; i++) {
		int rc = mem_write_exact(p->pid, p->bps[i].addr, p->bps[i].orig, arch_bp_len);
		if (rc < 0 && rc != -ESRCH && !p->exited)
			fk_warn("process %d: could not remove the breakpoint at 0x%llx: %s", (int)p->pid,
				(unsigned long long)p->bps[i].addr, strerror(-rc));
	}
	p->nbps = 0;
}

void bp_scrub_copy(const struct proc *p, pid_t copy)
{
	for (size_t i = 0; i < p->nbps; i++)
		mem_write_exact(copy, p->bps[i].addr, p->bps[i].orig, arch_bp_len);
}

/* Was a breakpoint at addr removed a moment ago? */
static bool late_trap(const struct proc *p, uint64_t addr)
{
	uint64_t now = tr_now_us();
	for (size_t k = 0; k < sizeof p->late_addr / sizeof p->late_addr[0]; k++)
		if (p->late_addr[k] == addr && p->late_until_us[k] > now)
			return true;
	return false;
}

static bool any_late(const struct proc *p)
{
	uint64_t now = tr_now_us();
	for (size_t k = 0; k < sizeof p->late_addr / sizeof p->late_addr[0]; k++)
		if (p->late_until_us[k] > now)
			return true;
	return false;
}

bool bp_check_hit(struct proc *p, struct lwp *l)
{
	l->bp_late = false;
	if (l->stop_sig != SIGTRAP || (!p->nbps && !any_late(p)))
		return false;
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, l->tid, 0, &si) < 0 || si.si_code != SI_KERNEL)
		return false;
	fk_gregs r;
	if (arch_get_gregs(l->tid, &r) < 0)
		return false;
	uint64_t addr = arch_pc(&r) - arch_bp_len;
	if (!bp_at(p, addr)) {
		/* the trap of a breakpoint removed while this thread ran into
		 * it: not the program's SIGTRAP. Back to the (now original)
		 * instruction; it runs on as if nothing happened. */
		if (!late_trap(p, addr))
			return false;
		arch_set_pc(&r, addr);
		if (arch_set_gregs(l->tid, &r) < 0)
			return false;
		l->pending_sig = 0;
		l->bp_late = true;
		return false;
	}
	arch_set_pc(&r, addr);
	if (arch_set_gregs(l->tid, &r) < 0)
		return false;
	l->pending_sig = 0;
	l->bp_hit = true;
	l->hit_reported = false;
	l->bp_addr = addr;
	return true;
}

/* Is an int3's SIGTRAP (si_code SI_KERNEL) queued for tid, not dequeued
 * yet? 1 yes, 0 no, -errno. Only the thread's private queue: a trap is
 * forced on the thread that executed the instruction. */
static int int3_trap_queued(pid_t tid)
{
	enum {
		BATCH = 16
	};
	siginfo_t si[BATCH];
	for (uint64_t off = 0; off < 4096;) {
		struct __ptrace_peeksiginfo_args a = { .off = off, .flags = 0, .nr = BATCH };
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, si);
		if (n < 0)
			return -errno;
		for (long i = 0; i < n; i++)
			if (si[i].si_signo == SIGTRAP && si[i].si_code == SI_KERNEL)
				return 1;
		if (n < BATCH)
			return 0;
		off += (uint64_t)n;
	}
	return 0;
}

/* Wait (bounded) until tid stops again; 0 stopped, -ESRCH gone,
 * -ETIMEDOUT. */
static int wait_stopped(struct fk_tracer *tr, struct proc *p, pid_t tid, int timeout_ms)
{
	pid_t pid = p->pid;
	uint64_t deadline = tr_now_us() + (uint64_t)timeout_ms * 1000u;
	for (;;) {
		struct lwp *l = proc_lwp(p, tid);
		if (!l || l->exiting)
			return -ESRCH;
		if (l->state == LWP_STOPPED)
			return 0;
		uint64_t now = tr_now_us();
		if (now >= deadline)
			return -ETIMEDOUT;
		int r = tr_pump_pid(tr, tid, (int)((deadline - now + 999) / 1000));
		if (tr_find_proc(tr, pid) != p)
			return -ESRCH;
		if (r == -ECHILD)
			return -ESRCH;
	}
}

/* One thread (stopped) that may sit just past one of our int3s with its
 * SIGTRAP still queued: let it dequeue that SIGTRAP (bp_check_hit rewinds
 * it to the breakpoint and swallows the signal) without running a single
 * instruction of the program. */
static void settle_one(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t only)
{
	pid_t pid = p->pid;
	for (int round = 0; round < 4; round++) {
		struct lwp *l = proc_lwp(p, tid);
		if (!l || l->state != LWP_STOPPED || l->exiting)
			return;
		fk_gregs r;
		int rc = arch_get_gregs(tid, &r);
		if (rc < 0) {
			if (rc != -ESRCH)
				fk_warn("thread %d of %d: reading registers before detach: %s", (int)tid, (int)pid,
					strerror(-rc));
			return;
		}
		uint64_t addr = arch_pc(&r) - arch_bp_len;
		if (!bp_at(p, addr) || (only && addr != only))
			return;
		rc = int3_trap_queued(tid);
		if (rc < 0 && rc != -ESRCH)
			fk_warn("thread %d of %d: PTRACE_PEEKSIGINFO: %s", (int)tid, (int)pid, strerror(-rc));
		if (rc <= 0)
			return;
		/* A signal this stop already took out of the queue (a
		 * signal-delivery-stop) is kept: resuming with it would run the
		 * program's handler now. It is delivered on resume or detach. */
		int keep = l->pending_sig;
		/* The kernel dequeues synchronous (SI_KERNEL) signals first, and a
		 * stopped thread checks its queue before it returns to user
		 * space: the SIGTRAP stop comes before any instruction runs. */
		if (ptrace(PTRACE_CONT, tid, 0, 0) < 0) {
			if (errno != ESRCH)
				fk_warn("thread %d of %d: PTRACE_CONT to take its pending SIGTRAP: %s", (int)tid,
					(int)pid, strerror(errno));
			return;
		}
		l->pending_sig = 0;
		l->stop = STOP_NONE;
		l->regs_valid = false;
		proc_set_running(p, l);
		rc = wait_stopped(tr, p, tid, 2000);
		if (rc == -ETIMEDOUT) {
			if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0 && (l = proc_lwp(p, tid)) != NULL)
				l->interrupt_pending = true;
			rc = wait_stopped(tr, p, tid, 2000);
		}
		if (tr_find_proc(tr, pid) != p)
			return;
		l = proc_lwp(p, tid);
		if (rc < 0 || !l) {
			if (rc == -ETIMEDOUT)
				fk_warn("thread %d of %d did not stop after taking its pending SIGTRAP", (int)tid,
					(int)pid);
			if (keep && l)
				syscall(SYS_tgkill, pid, tid, keep);
			return;
		}
		if (keep) {
			if (!l->pending_sig) {
				l->pending_sig = keep;
			} else if (syscall(SYS_tgkill, pid, tid, keep) < 0) {
				/* two signals to hold, one slot: queue the older again */
				fk_warn("thread %d of %d: re-queueing signal %d: %s", (int)tid, (int)pid, keep,
					strerror(errno));
			}
		}
		if (l->stop == STOP_SIGNAL && l->bp_hit && l->bp_addr == addr) {
			fk_debug("thread %d of %d: took the SIGTRAP of its int3 at 0x%llx (rewound)", (int)tid,
				 (int)pid, (unsigned long long)addr);
			return; /* rewound, SIGTRAP swallowed */
		}
		/* something else came first (another signal): look again */
	}
}

void bp_settle_traps(struct fk_tracer *tr, struct proc *p, uint64_t only)
{
	if (!p->nbps)
		return;
	pid_t pid = p->pid;
	size_t n = p->n;
	pid_t *tids = malloc((n ? n : 1) * sizeof *tids);
	if (!tids) {
		fk_warn("process %d: out of memory settling breakpoint traps", (int)pid);
		return;
	}
	for (size_t i = 0; i < n; i++)
		tids[i] = p->lwps[i].tid;
	bool want = p->want_running;
	p->want_running = false; /* the stops below are ours, not reports */
	for (size_t i = 0; i < n && tr_find_proc(tr, pid) == p; i++)
		settle_one(tr, p, tids[i], only);
	if (tr_find_proc(tr, pid) == p)
		p->want_running = want;
	free(tids);
}

/* Single-step tid and wait for that step (bounded by requests arriving).
 * A PTRACE_INTERRUPT sent while the thread ran (attach_stop_all's) whose
 * stop was held back by the one it was in (its breakpoint's SIGTRAP)
 * comes first, before the instruction: the step is made again then, or
 * the thread would be back on its breakpoint after "stepping over" it
 * (and report the same hit a second time). */
static int step_wait(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *interrupted)
{
	pid_t pid = p->pid;
	uint64_t t0 = tr_now_us();
	for (int late = 0;; late++) {
		struct lwp *l = proc_lwp(p, tid);
		if (!l)
			return -ESRCH;
		if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) < 0)
			return -errno;
		proc_set_running(p, l);
		l->stepping = true;
		bool ours = false; /* the interrupt below, not a late one */
		for (;;) {
			int r = tr_pump_pid(tr, tid, 50);
			if (tr_find_proc(tr, pid) != p)
				return -ESRCH;
			l = proc_lwp(p, tid);
			if (!l)
				return -ESRCH;
			if (l->state == LWP_STOPPED)
				break;
			if (r == -ECHILD)
				return -ESRCH;
			if (interrupted && tr_now_us() - t0 > 250000 && tr_requests_pending(tr)) {
				/* a blocking instruction (a syscall) for a while now: let
				 * the caller's next request in. Not sooner: a request that
				 * merely arrived during an ordinary step must not cut it. */
				ptrace(PTRACE_INTERRUPT, tid, 0, 0);
				l->interrupt_pending = true;
				ours = true;
				*interrupted = true;
				interrupted = NULL;
			}
		}
		l->stepping = false;
		if (l->stop == STOP_INTERRUPT && !ours && late < 4)
			continue; /* a late interrupt: nothing ran yet */
		/* the trap of our own step is not a signal for the program */
		if (l->stop == STOP_SIGNAL && l->stop_sig == SIGTRAP)
			l->pending_sig = 0;
		return 0;
	}
}

#define SIGBIT(s) (1ull << ((s) - 1))

int bp_step_over(struct fk_tracer *tr, struct proc *p, pid_t tid)
{
	fk_gregs r;
	int rc = arch_get_gregs(tid, &r);
	if (rc < 0)
		return rc;
	const struct bp *b = bp_at(p, arch_pc(&r));
	if (!b)
		return 0;
	uint64_t addr = b->addr;
	uint8_t orig[BP_MAX_LEN];
	memcpy(orig, b->orig, sizeof orig);
	struct lwp *l = proc_lwp(p, tid);
	int pending = l ? l->pending_sig : 0; /* a signal waiting for delivery stays */
	/* Asynchronous signals blocked for the one instruction: one that came
	 * while the process was stopped would otherwise be delivered before
	 * the instruction runs; its handler returns to the breakpoint, which
	 * traps again and reports the same hit twice. Blocked, it waits for
	 * the resume and is reported (or passed) after this stop. The signals
	 * an instruction raises itself (the step's SIGTRAP, a fault's SIGSEGV,
	 * SIGBUS, SIGILL, SIGFPE, SIGSYS) keep the thread's own mask: the
	 * kernel resets the handler of a fault signal that is blocked. */
	uint64_t sync =
		SIGBIT(SIGTRAP) | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGSYS);
	uint64_t mask = 0, quiet;
	bool masked = ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof mask, &mask) == 0;
	quiet = (~0ull & ~sync) | (mask & sync);
	masked = masked && ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof quiet, &quiet) == 0;
	if ((rc = mem_write_exact(p->pid, addr, orig, arch_bp_len)) < 0) {
		if (masked)
			ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof mask, &mask);
		return rc;
	}
	pid_t pid = p->pid, shared = p->vfork_parent;
	rc = step_wait(tr, p, tid, NULL);
	if (masked && rc == 0 && ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof mask, &mask) < 0 && errno != ESRCH)
		fk_warn("thread %d of %d: putting its signal mask back after a step: %s", (int)tid, (int)pid,
			strerror(errno));
	if (tr_find_proc(tr, pid) == p && bp_at(p, addr)) {
		mem_write_exact(pid, addr, arch_bp_insn, arch_bp_len);
	} else if (shared) {
		/* a vfork child that died in the step: the memory (and the
		 * breakpoint) are its parent's, who still wants it */
		struct proc *pp = tr_find_proc(tr, shared);
		if (pp && bp_at(pp, addr))
			mem_write_exact(pp->pid, addr, arch_bp_insn, arch_bp_len);
	}
	if (rc == 0 && (l = proc_lwp(p, tid)) != NULL && !l->pending_sig)
		l->pending_sig = pending;
	return rc;
}

int bp_step_displaced(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t scratch)
{
	fk_gregs r;
	int rc = arch_get_gregs(tid, &r);
	if (rc < 0)
		return rc;
	uint64_t addr = arch_pc(&r);
	const struct bp *b = bp_at(p, addr);
	if (!b)
		return 0; /* removed meanwhile: the original instruction is back in place */
	if (!scratch || (scratch < addr + 16 && addr < scratch + 16))
		return 1;
	uint8_t code[16];
	if (mem_read_exact(p->pid, addr, code, sizeof code) < 0)
		return 1;
	memcpy(code, b->orig, arch_bp_len);
	struct arch_insn in;
	if (arch_insn_decode(code, sizeof code, &in) < 0)
		return 1;
	uint8_t moved[16];
	if (!arch_insn_relocate(code, &in, addr, scratch, moved))
		return 1;
	memcpy(code, moved, in.len);
	pid_t pid = p->pid;
	uint8_t saved[16];
	if (mem_read_exact(pid, scratch, saved, in.len) < 0 || mem_write_exact(pid, scratch, code, in.len) < 0)
		return 1;
	struct lwp *l = proc_lwp(p, tid);
	int pending = l ? l->pending_sig : 0;
	/* asynchronous signals blocked for the one instruction (bp_step_over) */
	uint64_t sync =
		SIGBIT(SIGTRAP) | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGSYS);
	uint64_t mask = 0, quiet;
	bool masked = ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof mask, &mask) == 0;
	quiet = (~0ull & ~sync) | (mask & sync);
	masked = masked && ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof quiet, &quiet) == 0;
	arch_set_pc(&r, scratch);
	if ((rc = arch_set_gregs(tid, &r)) == 0)
		rc = step_wait(tr, p, tid, NULL);
	else if (rc != -ESRCH)
		rc = 1; /* nothing ran: step it in place instead */
	int wr = mem_write_exact(pid, scratch, saved, in.len);
	if (wr < 0 && wr != -ESRCH)
		fk_warn("process %d: putting back the code at 0x%llx after a displaced step: %s", (int)pid,
			(unsigned long long)scratch, strerror(-wr));
	if (masked && rc >= 0 && ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof mask, &mask) < 0 && errno != ESRCH)
		fk_warn("thread %d of %d: putting its signal mask back after a step: %s", (int)tid, (int)pid,
			strerror(errno));
	if (rc != 0)
		return rc;
	if ((rc = arch_get_gregs(tid, &r)) < 0)
		return rc;
	uint64_t pc = arch_pc(&r), next = scratch + in.len;
	if (pc == next)
		pc = addr + in.len;
	else if (pc == scratch)
		pc = addr; /* it faulted: the fault is the original instruction's */
	else if (in.rel_branch)
		pc = pc - scratch + addr; /* taken: the target relative to the original */
	if (in.call) {
		uint64_t ret = 0, sp = arch_sp(&r);
		if (mem_read_exact(pid, sp, &ret, sizeof ret) == 0 && ret == next) {
			ret = addr + in.len;
			if ((rc = mem_write_exact(pid, sp, &ret, sizeof ret)) < 0)
				return rc;
		}
	}
	arch_set_pc(&r, pc);
	if ((rc = arch_set_gregs(tid, &r)) < 0)
		return rc;
	if ((l = proc_lwp(p, tid)) != NULL) {
		l->regs_valid = false;
		if (!l->pending_sig)
			l->pending_sig = pending;
	}
	return 0;
}

int bp_single_step(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *interrupted, struct fk_err *err)
{
	struct lwp *l = proc_lwp(p, tid);
	if (!l || l->state != LWP_STOPPED)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "step", "thread %d of %d is not stopped", (int)tid,
			       (int)p->pid);
	fk_gregs r;
	int rc = arch_get_gregs(tid, &r);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "step", "PTRACE_GETREGS of thread %d", (int)tid);
	const struct bp *b = bp_at(p, arch_pc(&r));
	uint64_t addr = b ? b->addr : 0;
	if (b && (rc = mem_write_exact(p->pid, addr, b->orig, arch_bp_len)) < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "step", "lifting the breakpoint at 0x%llx",
			       (unsigned long long)addr);
	*interrupted = false;
	rc = step_wait(tr, p, tid, interrupted);
	if (addr && tr_find_proc(tr, p->pid) == p && bp_at(p, addr))
		mem_write_exact(p->pid, addr, arch_bp_insn, arch_bp_len);
	if (rc == -ESRCH)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "step", "thread %d of %d exited during the step", (int)tid,
			       (int)p->pid);
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "step", "PTRACE_SINGLESTEP of thread %d", (int)tid);
	return 0;
}
