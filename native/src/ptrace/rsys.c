#include "ptrace/rsys.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS from SECCOMP_RET_TRAP */
#endif

enum {
	PH_IDLE,
	PH_ENTRY,
	PH_EXIT,
	PH_SIGSYS,
	PH_DONE
};

/* Is a seccomp SIGSYS for call nr queued for tid? A filter's KILL or TRAP
 * verdict rolls the call back (its result register holds its number
 * again), the thread still passes its syscall-exit stop, and the signal
 * comes after: it must be caught at its delivery stop and dropped. */
static bool seccomp_sigsys_queued(pid_t tid, long nr)
{
	struct __ptrace_peeksiginfo_args a = { .off = 0, .flags = 0, .nr = 16 };
	siginfo_t si[16];
	long n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, si);
	for (long i = 0; i < n; i++)
		if (si[i].si_signo == SIGSYS && si[i].si_code == SYS_SECCOMP && si[i].si_syscall == (int)nr)
			return true;
	return false;
}

static bool scan_vma(pid_t pid, const struct vma *m, uint64_t *addr)
{
	enum {
		CHUNK = 64 * 1024
	};
	uint8_t *buf = malloc(CHUNK + 1);
	if (!buf)
		return false;
	bool found = false;
	for (uint64_t a = m->start; a < m->end && !found; a += CHUNK) {
		size_t len = m->end - a < CHUNK ? (size_t)(m->end - a) : CHUNK;
		/* one extra byte so an instruction split across chunks is seen */
		size_t want = len + (a + len < m->end ? 1 : 0);
		ssize_t r = mem_read(pid, a, buf, want);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i + (ssize_t)arch_syscall_insn_len <= r; i++) {
			if (memcmp(buf + i, arch_syscall_insn, arch_syscall_insn_len) == 0) {
				*addr = a + (uint64_t)i;
				found = true;
				break;
			}
		}
	}
	free(buf);
	return found;
}

int rsys_find_insn(pid_t pid, const struct vma_list *maps, uint64_t *addr, struct fk_err *err)
{
	/* pass 0: libc; 1: vdso; 2: anything executable */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < maps->n; i++) {
			const struct vma *m = &maps->v[i];
			if (m->perms[2] != 'x')
				continue;
			const char *base = strrchr(m->path, '/');
			base = base ? base + 1 : m->path;
			bool is_libc = strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0;
			bool is_vdso = strcmp(m->path, "[vdso]") == 0;
			if ((pass == 0 && !is_libc) || (pass == 1 && !is_vdso) || (pass == 2 && (is_libc || is_vdso)))
				continue;
			if (scan_vma(pid, m, addr))
				return 0;
		}
	}
	return fk_fail(err, ENOENT, FK_KIND_FAILED, "prepare",
		       "process %d has no readable syscall instruction to run injected calls with", (int)pid);
}

/* trap mode: insn is "syscall; <breakpoint>" in a page of ours, so one
 * PTRACE_CONT and one SIGTRAP stop per call instead of entry + exit stops */
static int start_call(struct proc *p, uint64_t insn, struct rsys_call *c, bool trap)
{
	struct lwp *l = proc_lwp(p, c->tid);
	if (!l)
		return -ESRCH;
	if (l->state != LWP_STOPPED)
		return -EBUSY;
	fk_gregs r;
	int rc = arch_get_gregs(c->tid, &r);
	if (rc < 0)
		return rc;
	arch_setup_syscall(&r, insn, c->nr, c->args);
	if ((rc = arch_set_gregs(c->tid, &r)) < 0)
		return rc;
	c->saved_sig = l->pending_sig; /* a signal waiting for delivery stays */
	l->pending_sig = 0;
	if (ptrace(trap ? PTRACE_CONT : PTRACE_SYSCALL, c->tid, 0, 0) < 0)
		return -errno;
	proc_set_running(p, l);
	l->regs_valid = false;
	c->phase = trap ? PH_EXIT : PH_ENTRY;
	return 0;
}

/* Advance one call after its thread reported a stop. */
static void advance(struct proc *p, struct rsys_call *c, bool trap)
{
	struct lwp *l = proc_lwp(p, c->tid);
	if (!l) {
		c->status = -ESRCH;
		c->phase = PH_DONE;
		return;
	}
	if (l->exiting) {
		/* killed (SIGKILL, exit_group, an exec): the call is over */
		c->status = -ESRCH;
		c->phase = PH_DONE;
		return;
	}
	if (l->state != LWP_STOPPED)
		return; /* still running */
	switch (l->stop) {
	case STOP_SYSCALL:
		if (c->phase == PH_ENTRY) {
			c->phase = PH_EXIT;
		} else {
			fk_gregs r;
			int rc = arch_get_gregs(c->tid, &r);
			c->status = rc;
			c->ret = rc < 0 ? 0 : arch_syscall_result(&r);
			if (rc == 0 && c->ret == c->nr && seccomp_sigsys_queued(c->tid, c->nr)) {
				c->phase = PH_SIGSYS; /* on to its delivery stop */
				break;
			}
			c->phase = PH_DONE;
			l->pending_sig = c->saved_sig;
			return; /* stays stopped at the exit stop */
		}
		break;
	case STOP_EVENT:
		c->event = l->event;
		ptrace(PTRACE_GETEVENTMSG, c->tid, 0, &c->event_msg);
		break;
	case STOP_SIGNAL:
		if (trap && l->stop_sig == SIGTRAP) {
			fk_gregs r;
			int rc = arch_get_gregs(c->tid, &r);
			c->status = rc;
			c->ret = rc < 0 ? 0 : arch_syscall_result(&r);
			c->phase = PH_DONE;
			l->pending_sig = c->saved_sig;
			return; /* stays stopped at our trap */
		}
		if (l->stop_sig == SIGSYS) {
			/* A seccomp filter answered SECCOMP_RET_TRAP to our call:
			 * the kernel skipped it and rolled the registers back.
			 * The SIGSYS is ours, never the program's: dropped. */
			siginfo_t si;
			if (ptrace(PTRACE_GETSIGINFO, c->tid, 0, &si) == 0 && si.si_code == SYS_SECCOMP &&
			    si.si_syscall == (int)c->nr) {
				c->status = -RSYS_SECCOMP;
				c->ret = -ENOSYS;
				c->phase = PH_DONE;
				l->pending_sig = c->saved_sig;
				return; /* stays stopped at the signal stop */
			}
		}
		/* a real signal: keep it for later delivery and go on without
		 * delivering it now */
		if (!c->saved_sig)
			c->saved_sig = l->pending_sig;
		l->pending_sig = 0;
		break;
	default: /* a late interrupt or job-control stop: just go on */ break;
	}
	int sig = 0;
	if (ptrace(trap ? PTRACE_CONT : PTRACE_SYSCALL, c->tid, 0, (void *)(long)sig) < 0) {
		c->status = -errno;
		c->phase = PH_DONE;
		return;
	}
	proc_set_running(p, l);
}

/* Has c's thread stopped (or gone) since its call was resumed? Its status
 * may have been consumed by a wait for any tracee, which records the stop
 * in the LWP table but does not advance the call. */
static bool reported(struct proc *p, const struct rsys_call *c)
{
	const struct lwp *l = proc_lwp(p, c->tid);
	return !l || l->exiting || l->state == LWP_STOPPED;
}

static int run(struct fk_tracer *tr, struct proc *p, uint64_t insn, struct rsys_call *calls, size_t n, int timeout_ms,
	       struct fk_err *err, bool trap)
{
	pid_t pid = p->pid;
	size_t active = 0;
	for (size_t i = 0; i < n; i++) {
		calls[i].status = 0;
		calls[i].ret = 0;
		calls[i].event = 0;
		calls[i].event_msg = 0;
		int rc = start_call(p, insn, &calls[i], trap);
		if (rc < 0) {
			calls[i].status = rc;
			calls[i].phase = PH_DONE;
		} else {
			active++;
		}
	}
	uint64_t deadline = tr_now_us() + (uint64_t)timeout_ms * 1000u;
	while (active) {
		bool progress = false;
		size_t first = n;
		for (size_t i = 0; i < n; i++) {
			struct rsys_call *c = &calls[i];
			if (c->phase == PH_DONE)
				continue;
			int r = tr_pump_pid(tr, c->tid, 0);
			if (tr_find_proc(tr, pid) != p)
				return fk_fail(err, ESRCH, FK_KIND_EXITED, "inject",
					       "process %d exited during an injected system call", (int)pid);
			int was = c->phase;
			if (r == -ECHILD) {
				c->status = -ESRCH;
				c->phase = PH_DONE;
			} else if (r == 1 || reported(p, c)) {
				/* its stop may have been taken by a wait for
				 * any tracee (below): go by the LWP's state */
				advance(p, c, trap);
			}
			if (c->phase == PH_DONE) {
				active--;
				progress = true;
			} else if (r == 1 || c->phase != was) {
				progress = true;
			} else if (first == n) {
				first = i;
			}
		}
		if (!active || progress)
			continue;
		uint64_t now = tr_now_us();
		if (now >= deadline) {
			struct rsys_call *c = &calls[first];
			return fk_fail(err, ETIMEDOUT, FK_KIND_FAILED, "inject",
				       "thread %d of process %d did not finish injected system call %ld within %d ms",
				       (int)c->tid, (int)pid, c->nr, timeout_ms);
		}
		/* nothing ready: sleep until the first unfinished one reports,
		 * in slices: when the process is killed, the leader reports
		 * only after every other thread is reaped, so take the others'
		 * statuses in between */
		uint64_t left_ms = (deadline - now + 999) / 1000;
		int r = tr_pump_pid(tr, calls[first].tid, left_ms < 20 ? (int)left_ms : 20);
		if (r == 0)
			while (tr_find_proc(tr, pid) == p && tr_pump(tr, 0) == 1)
				;
		if (tr_find_proc(tr, pid) != p)
			return fk_fail(err, ESRCH, FK_KIND_EXITED, "inject",
				       "process %d exited during an injected system call", (int)pid);
		if (proc_lwp(p, calls[first].tid) == NULL || proc_lwp(p, calls[first].tid)->exiting) {
			calls[first].status = -ESRCH;
			calls[first].phase = PH_DONE;
			active--;
			continue;
		}
		if (r == -ECHILD) {
			calls[first].status = -ESRCH;
			calls[first].phase = PH_DONE;
			active--;
		} else if (r == 1 || reported(p, &calls[first])) {
			advance(p, &calls[first], trap);
			if (calls[first].phase == PH_DONE)
				active--;
		}
	}
	return 0;
}

int rsys_run(struct fk_tracer *tr, struct proc *p, uint64_t insn, struct rsys_call *calls, size_t n, int timeout_ms,
	     struct fk_err *err)
{
	return run(tr, p, insn, calls, n, timeout_ms, err, false);
}

int rsys_run_trap(struct fk_tracer *tr, struct proc *p, uint64_t stub, struct rsys_call *calls, size_t n,
		  int timeout_ms, struct fk_err *err)
{
	return run(tr, p, stub, calls, n, timeout_ms, err, true);
}

int rsys_one(struct fk_tracer *tr, struct proc *p, uint64_t insn, pid_t tid, long nr, const uint64_t args[6], long *ret,
	     struct rsys_call *out, struct fk_err *err)
{
	struct rsys_call c;
	memset(&c, 0, sizeof c);
	c.tid = tid;
	c.nr = nr;
	memcpy(c.args, args, sizeof c.args);
	if (rsys_run(tr, p, insn, &c, 1, 5000, err) < 0)
		return -1;
	if (out)
		*out = c;
	if (c.status == -ESRCH)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "inject",
			       "thread %d of process %d exited during an injected system call %ld", (int)tid,
			       (int)p->pid, nr);
	if (c.status == -RSYS_SECCOMP)
		return fk_fail(err, EPERM, FK_KIND_FAILED, "inject",
			       "a seccomp filter of thread %d of process %d refused the injected system call %ld "
			       "(SECCOMP_RET_TRAP; its SIGSYS was not delivered)",
			       (int)tid, (int)p->pid, nr);
	if (c.status < 0)
		return fk_fail(err, -c.status, FK_KIND_FAILED, "inject", "injected system call %ld in thread %d of %d",
			       nr, (int)tid, (int)p->pid);
	*ret = c.ret;
	return 0;
}
