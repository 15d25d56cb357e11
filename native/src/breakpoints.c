#include "breakpoints.h"

#include "arch.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

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

bool bp_check_hit(struct proc *p, struct lwp *l)
{
	if (!p->nbps || l->stop_sig != SIGTRAP)
		return false;
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, l->tid, 0, &si) < 0 || si.si_code != SI_KERNEL)
		return false;
	fk_gregs r;
	if (arch_get_gregs(l->tid, &r) < 0)
		return false;
	uint64_t addr = arch_pc(&r) - arch_bp_len;
	if (!bp_at(p, addr))
		return false;
	arch_set_pc(&r, addr);
	if (arch_set_gregs(l->tid, &r) < 0)
		return false;
	l->pending_sig = 0;
	l->bp_hit = true;
	l->bp_addr = addr;
	return true;
}

/* Single-step tid and wait for that step (bounded by requests arriving). */
static int step_wait(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *interrupted)
{
	pid_t pid = p->pid;
	struct lwp *l = proc_lwp(p, tid);
	if (!l)
		return -ESRCH;
	int sig = 0;
	if (ptrace(PTRACE_SINGLESTEP, tid, 0, (void *)(long)sig) < 0)
		return -errno;
	proc_set_running(p, l);
	l->stepping = true;
	uint64_t t0 = tr_now_us();
	for (;;) {
		int r = tr_pump_pid(tr, tid, 50);
		if (tr_find_proc(tr, pid) != p)
			return -ESRCH;
		l = proc_lwp(p, tid);
		if (!l)
			return -ESRCH;
		if (l->state == LWP_STOPPED) {
			l->stepping = false;
			/* the trap of our own step is not a signal for the program */
			if (l->stop == STOP_SIGNAL && l->stop_sig == SIGTRAP)
				l->pending_sig = 0;
			return 0;
		}
		if (r == -ECHILD)
			return -ESRCH;
		if (interrupted && tr_now_us() - t0 > 250000 && tr_requests_pending(tr)) {
			/* a blocking instruction (a syscall) for a while now: let
			 * the caller's next request in. Not sooner: a request that
			 * merely arrived during an ordinary step must not cut it. */
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
			l->interrupt_pending = true;
			*interrupted = true;
			interrupted = NULL;
		}
	}
}

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
	if ((rc = mem_write_exact(p->pid, addr, orig, arch_bp_len)) < 0)
		return rc;
	rc = step_wait(tr, p, tid, NULL);
	if (tr_find_proc(tr, p->pid) == p && bp_at(p, addr))
		mem_write_exact(p->pid, addr, arch_bp_insn, arch_bp_len);
	if (rc == 0 && (l = proc_lwp(p, tid)) != NULL && !l->pending_sig)
		l->pending_sig = pending;
	return rc;
}

int bp_single_step(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *interrupted, struct fk_err *err)
{
	struct lwp *l = proc_lwp(p, tid);
	if (!l || l->state != LWP_STOPPED)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "step", "thread %d of %d is not stopped", (int)tid, (int)p->pid);
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
