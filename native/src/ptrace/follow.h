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
 * they exec or exit, and the parent's thread that made them waits (the
 * kernel's rule): its breakpoint bytes cannot be taken out of that memory
 * without the parent's other threads missing them. So they stay, and the
 * child passes them: it is traced until its exec (or exit) with a copy of
 * the parent's breakpoint table, a hit is stepped over silently, and at
 * its exec it is detached. Held for a session of its own (hold mode), it
 * passes them the same way, and its own breakpoints are refused until its
 * exec (they would be the parent's too). The parent's vforking thread is
 * held at its event stop meanwhile (stoppable, unlike a thread waiting in
 * the kernel), so the parent can still be paused. A parent without
 * breakpoints lets its vfork children go at once. */
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

/* l (the only thread of p now) is at PTRACE_EVENT_EXEC; caller is the tid
 * that called execve. A session process: the exec event (it stays held
 * until a resume). A vfork child we traced for its parent's sake: detached
 * and forgotten — returns true, p is gone. */
bool follow_exec(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t caller);

/* p's breakpoint table changed: its vfork children (which share its
 * memory) get the new copy. */
void follow_breakpoints_changed(struct fk_tracer *tr, struct proc *p);

/* p made a child held for a session (p->capture_child): stop p's threads,
 * keep each one's registers and name in the child as the threads it lost
 * (ghosts; all but the forking thread), resume p if it ran, then the
 * childProcess event. Main loop only (it waits for stops). */
void follow_capture(struct fk_tracer *tr, struct proc *p);

#endif
