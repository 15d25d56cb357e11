/* hooks.h — the ptrace layer's side of the tracer's hooks (struct
 * tr_hooks, core/tracer.h) where no single function of attach, follow,
 * breakpoints or watch is the whole answer. src/api.c installs them. */
#ifndef FK_PTRACE_HOOKS_H
#define FK_PTRACE_HOOKS_H

#include <stdbool.h>

#include "core/proc.h"
#include "core/tracer.h"

/* trap: a breakpoint of ours, else a watchpoint. */
void ptrace_on_trap(struct proc *p, struct lwp *l);
/* stopped: a pc inside a breakpoint's slot moved back to the program's
 * (bpslot_map_back), then the stop handled (attach_on_stop). */
void ptrace_on_stopped(struct fk_tracer *tr, struct proc *p, struct lwp *l);
/* exited: a vfork child that exited without exec lets its parent go. */
void ptrace_on_exited(struct fk_tracer *tr, struct proc *p);
/* pending: stop everything (all-stop), capture a new child, or resume
 * after a step over a breakpoint. */
bool ptrace_pending(struct fk_tracer *tr, struct proc *p);
/* release at fk_close: detached and resumed, but a checkpoint (a copy
 * that must never run) is killed. */
void ptrace_close_release(struct fk_tracer *tr, struct proc *p);

#endif
