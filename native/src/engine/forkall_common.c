/* forkall_common.c — helpers every file of the forkall engine uses
 * (forkall_int.h): warnings, injected faults and skipped steps (tests),
 * scratch space, taking over a process the target forked. Nothing here
 * calls the orchestration (forkall.c) nor a phase. */
#include "arch/arch.h"
#include "base/log.h"
#include "engine/forkall_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

void fa_warnings_json(const struct forkall *fa, struct jw *body)
{
	jw_key(body, "warnings");
	jw_arr_begin(body);
	if (fa->warnings.buf)
		jw_raw(body, fa->warnings.buf, fa->warnings.len);
	jw_arr_end(body);
}

/* FORKALL_FAULT=<step>: fail that step as if its system call had failed. */
int fa_fault_at(struct forkall *fa, const char *step)
{
	if (tr_cancelled(fa->tr))
		return fk_fail(fa->err, ECANCELED, FK_KIND_FAILED, step,
			       "forkall of %d cancelled at step \"%s\": everything was put back", (int)fa->pid, step);
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

uint64_t fa_scratch(const struct tstate *t, uint64_t below)
{
	/* inside [scratch_at, scratch_at + SCRATCH_LEN) for below <= 448 */
	return (arch_sp(&t->regs) - SCRATCH_BELOW_SP - below) & ~(uint64_t)15;
}

/* Take over a process our tracee just forked (auto-attached, stopped). */
int fa_attach_new(struct forkall *fa, pid_t pid, struct proc **out, const char *step)
{
	struct fk_err *err = fa->err;
	struct proc *p = tr_add_proc(fa->tr, pid);
	if (!p)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, step, "out of memory");
	*out = p;
	p->own_fork = true; /* its clones (same-tids: the child) are ours */
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
