/* follow.h — processes a traced program creates itself.
 *
 * fork() (and clone() of a new process) in a traced program: the child is
 * a copy of the parent's memory, breakpoint bytes included. Untraced, it
 * dies of SIGTRAP at the first breakpoint it reaches. Every traced process
 * therefore traces forks (PTRACE_O_TRACEFORK): the child is auto-attached,
 * stopped before its first instruction; its copies of our breakpoint bytes
 * are replaced by the original bytes, it is detached and runs on, and an
 * event says so (the adapter prints "[detached child N]").
 *
 * vfork() children (posix_spawn, system) share the parent's memory until
 * they exec: not traced (PTRACE_O_TRACEVFORK is off); they run libc's
 * spawn code only, with the parent's breakpoints in place. */
#ifndef FK_FOLLOW_H
#define FK_FOLLOW_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/proc.h"
#include "core/tracer.h"

/* l (a thread of p) is at PTRACE_EVENT_FORK, or at PTRACE_EVENT_CLONE of
 * `child`, a new process (not a thread of p). Called from the state
 * machine; touches only the child: never re-enters the wait loop. */
void follow_new_process(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child, const char *kind);

#endif
