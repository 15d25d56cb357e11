/* watch.c — hardware watchpoints of a traced process (see watch.h). */
#include "ptrace/watch.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>

#include "arch/arch.h"
#include "base/log.h"

#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif

static unsigned nslots(void)
{
	unsigned n = arch_watch_slots;
	return n < 4 ? n : 4;
}

static int require_stopped(const struct proc *p, const char *what, struct fk_err *err)
{
	if (proc_count_running(p) > 0)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, what, "process %d is running; pause it first", (int)p->pid);
	return 0;
}

int watch_add(struct proc *p, uint64_t addr, unsigned len, bool rw, struct fk_err *err)
{
	if (require_stopped(p, "watch", err) < 0)
		return -1;
	if (!arch_watch_ok(addr, len))
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "watch",
			       "cannot watch %u bytes at 0x%llx: the hardware watches 1, 2, 4 or 8 bytes at an address "
			       "that is a multiple of the size",
			       len, (unsigned long long)addr);
	unsigned slot = nslots();
	for (unsigned i = 0; i < nslots(); i++) {
		if (p->watches[i].len && p->watches[i].addr == addr)
			return fk_fail(err, EEXIST, FK_KIND_BADREQ, "watch", "0x%llx is watched already",
				       (unsigned long long)addr);
		if (!p->watches[i].len && slot == nslots())
			slot = i;
	}
	if (slot == nslots())
		return fk_fail(err, ENOSPC, FK_KIND_BADREQ, "watch",
			       "all %u hardware watchpoints are in use (remove one first)", nslots());
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->exiting)
			continue;
		int rc = arch_watch_set(l->tid, slot, addr, len, rw);
		if (rc < 0 && rc != -ESRCH) {
			for (size_t j = 0; j < i; j++)
				arch_watch_clear(p->lwps[j].tid, slot);
			return fk_fail(err, -rc, FK_KIND_FAILED, "watch", "setting the debug registers of thread %d",
				       (int)l->tid);
		}
	}
	p->watches[slot] = (struct watch){ .addr = addr, .len = len, .rw = rw };
	return (int)slot;
}

int watch_remove(struct proc *p, uint64_t addr, struct fk_err *err)
{
	if (require_stopped(p, "unwatch", err) < 0)
		return -1;
	for (unsigned s = 0; s < nslots(); s++) {
		if (!p->watches[s].len || p->watches[s].addr != addr)
			continue;
		for (size_t i = 0; i < p->n; i++) {
			int rc = p->lwps[i].exiting ? 0 : arch_watch_clear(p->lwps[i].tid, s);
			if (rc < 0 && rc != -ESRCH)
				fk_warn("clearing watchpoint %u of thread %d: %s", s, (int)p->lwps[i].tid,
					strerror(-rc));
		}
		p->watches[s].len = 0;
		return 0;
	}
	return fk_fail(err, ENOENT, FK_KIND_BADREQ, "unwatch", "0x%llx is not watched in process %d",
		       (unsigned long long)addr, (int)p->pid);
}

void watch_release(struct proc *p)
{
	for (unsigned s = 0; s < nslots(); s++) {
		if (!p->watches[s].len)
			continue;
		for (size_t i = 0; i < p->n; i++)
			if (p->lwps[i].state == LWP_STOPPED)
				arch_watch_clear(p->lwps[i].tid, s);
		p->watches[s].len = 0;
	}
}

void watch_on_stop(struct proc *p, struct lwp *l)
{
	if (!l->watch_stale)
		return;
	l->watch_stale = false;
	for (unsigned s = 0; s < nslots(); s++) {
		if (!p->watches[s].len)
			continue;
		int rc = arch_watch_set(l->tid, s, p->watches[s].addr, p->watches[s].len, p->watches[s].rw);
		if (rc < 0 && rc != -ESRCH)
			fk_warn("thread %d of %d: watchpoint at 0x%llx not set: %s", (int)l->tid, (int)p->pid,
				(unsigned long long)p->watches[s].addr, strerror(-rc));
	}
}

bool watch_check_hit(struct proc *p, struct lwp *l)
{
	l->watch_hit = 0;
	bool any = false;
	for (unsigned s = 0; s < nslots(); s++)
		any = any || p->watches[s].len;
	if (!any || l->stop_sig != SIGTRAP)
		return false;
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, l->tid, 0, &si) < 0 || si.si_code != TRAP_HWBKPT)
		return false;
	int slot = arch_watch_hit(l->tid);
	if (slot < 0 || (unsigned)slot >= nslots() || !p->watches[slot].len)
		return false;
	l->watch_hit = (unsigned)slot + 1;
	l->pending_sig = 0;
	return true;
}
