/* attach.h — getting hold of every LWP of a process and letting go.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT only, never SIGSTOP: an interrupt stop is
 * not a group-stop, so nothing stays stopped if we go away. */
#ifndef FK_ATTACH_H
#define FK_ATTACH_H

#include <stdbool.h>

#include "base/error.h"
#include "core/proc.h"
#include "core/tracer.h"

/* TRACEEXEC always: an exec must never pass unseen (the LWP table, the
 * breakpoints and any captured state belong to the old program). */
/* TRACEFORK/TRACEVFORK always: a fork child carries our breakpoint bytes, a
 * vfork child runs in memory that has them (follow.h). */
#define ATTACH_OPTIONS                                                                                              \
	(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | \
	 PTRACE_O_TRACESYSGOOD)

/* Seize every tid in /proc/PID/task, rescanning until a scan finds nothing
 * new (threads created meanwhile by seized threads arrive through
 * PTRACE_EVENT_CLONE). With `interrupt`, each is interrupted right after
 * its seize. `known` (may be NULL) is a task list read just before, used
 * for the first round instead of reading /proc again. On EPERM the error
 * explains why. */
int attach_seize_all(struct fk_tracer *tr, struct proc *p, bool interrupt, const pid_t *known, size_t nknown,
		     struct fk_err *err);

/* Before a pause: state letter and name of every LWP, from
 * /proc/PID/task/TID/stat (what each thread was doing, and its name even
 * if it exits before we look again). */
struct pre_state {
	pid_t tid;
	char state;
	char name[17];
};
int attach_read_pre_states(pid_t pid, struct pre_state **out, size_t *n);

/* Interrupt every running LWP and wait until all are stopped. Fails if the
 * process exits or an LWP does not stop within timeout_ms (D state). */
int attach_stop_all(struct fk_tracer *tr, struct proc *p, int timeout_ms, struct fk_err *err);

/* After attach_stop_all: no thread stays stopped in the middle of a system
 * call at a ptrace event. A thread at PTRACE_EVENT_CLONE has created the
 * new thread but not returned: its registers hold -ENOSYS, not the result,
 * and anything written into them (an injected call) or restored from them
 * (a copy) replays or breaks the clone. Each such thread gets an interrupt
 * queued and is resumed: it finishes the call and stops again before its
 * next user instruction, the result in its registers. Threads it created
 * are stopped too. A thread stopped at its exec (PTRACE_EVENT_EXEC) is not
 * touched: the caller sees p->execs. Returns 0, or -1 with err set. */
int attach_settle(struct fk_tracer *tr, struct proc *p, int timeout_ms, struct fk_err *err);

/* Send PTRACE_INTERRUPT to every running LWP without waiting. */
void attach_interrupt_all(struct fk_tracer *tr, struct proc *p);

/* Resume one stopped LWP (delivering its pending signal). A thread held at
 * its vfork event (l->vfork_child) stays stopped: attach_vfork_done lets
 * it go. */
int attach_resume_lwp(struct proc *p, struct lwp *l);
/* Does stopped l hold a breakpoint hit of a session that was never
 * reported (it hit while another thread's stop was being reported, or it
 * is about to: attach_hit_imminent)? Such a hit is reported instead of
 * letting l run, never stepped over (gdb's pending events): by the
 * resumes below, by a step (engine/step.c), by one instruction
 * (ops/ops_exec.c op_step). Its breakpoint gone, or its compiled
 * condition false (then decided once: l->hit_reported), it is no hit to
 * report: l is stepped over it. */
bool attach_hit_pending(struct proc *p, struct lwp *l);
/* Stopped l was stopped by an interrupt (PTRACE_INTERRUPT: a pause, the
 * all-stop after another's stop, a new thread's first stop) exactly on
 * one of our breakpoints: it has not executed it yet. Run, it would hit
 * it; stepped over it (as a thread that did hit it is), the hit would be
 * lost. It is made that hit (l->bp_hit, l->bp_addr, not reported): true.
 * Not a thread moved back from a slot's first byte (l->slot_unrun: its
 * hit was decided, false, and is being passed). attach_hit_pending does
 * this first. */
bool attach_hit_imminent(struct proc *p, struct lwp *l);
/* Resume every stopped LWP; the process then runs (want_running). A
 * pending hit of one that is not frozen is reported instead, and nothing
 * runs. */
void attach_resume_all(struct fk_tracer *tr, struct proc *p);
/* Resume one LWP (stepped over a breakpoint under its pc first); the others
 * stay stopped, the process counts as running (want_running): a stop of
 * that LWP is reported, and stops the others that run. Its pending hit is
 * reported instead (it stays stopped). Returns 0 or -errno. */
int attach_resume_only(struct fk_tracer *tr, struct proc *p, pid_t tid);

/* Detach every LWP (stopping the running ones first, delivering pending
 * signals) and forget the process. Never fails: what cannot be detached
 * is logged; the kernel detaches the rest when the tracer thread exits. */
void attach_release(struct fk_tracer *tr, struct proc *p);

/* After SIGKILL: collect the end of every LWP of p (the exits of
 * non-leaders come first; the leader's only after them), at most timeout_ms.
 * p is gone afterwards (do not use it). */
void attach_reap(struct fk_tracer *tr, struct proc *p, int timeout_ms);

/* The vfork child c stopped sharing its parent's memory (it exec'd, exited,
 * or is let go): the parent's thread held at the vfork event goes on (if
 * the parent runs). */
void attach_vfork_done(struct fk_tracer *tr, struct proc *c);

/* Policy for a stop the state machine just recorded. */
void attach_on_stop(struct fk_tracer *tr, struct proc *p, struct lwp *l);

/* Fill err for a failed PTRACE_SEIZE of pid (ESRCH, EPERM explained:
 * already traced by PID N, another user, Yama ptrace_scope, ...). */
int attach_explain(pid_t pid, pid_t tid, int errnum, struct fk_err *err);

/* err for "pid does not exist / is not a process we may see". */
int attach_check_pid(pid_t pid, struct fk_err *err);

#endif
