/* breakpoints.h — software breakpoints (int3 on x86-64).
 *
 * The original bytes are kept per process and written back on remove,
 * detach, fk_close, and in a forked child before it runs: breakpoint bytes
 * never outlive our tracing nor leak into a copy. Writes go through
 * /proc/PID/mem, which writes through the text pages' protection. */
#ifndef FK_BREAKPOINTS_H
#define FK_BREAKPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "core/proc.h"
#include "core/tracer.h"

#define BP_MAX_LEN 4

struct bp {
	uint64_t addr;
	uint8_t orig[BP_MAX_LEN];
};

int bp_insert(struct proc *p, uint64_t addr, struct fk_err *err);
int bp_remove(struct proc *p, uint64_t addr, struct fk_err *err);
/* Put every original byte back and forget the breakpoints. */
void bp_remove_all(struct proc *p);
const struct bp *bp_at(const struct proc *p, uint64_t addr);
/* Write the original bytes of p's breakpoints into another process with
 * the same memory (a forked child). */
void bp_scrub_copy(const struct proc *p, pid_t copy);

/* Called by the state machine for every SIGTRAP signal-delivery-stop: if
 * it is one of our int3s, rewind pc to the breakpoint, swallow the
 * SIGTRAP and return true (l->bp_addr says which). */
bool bp_check_hit(struct proc *p, struct lwp *l);

/* Every LWP of p must be stopped. A thread that executed one of our int3s
 * but was stopped (an interrupt, a group stop) before it dequeued the
 * SIGTRAP sits at pc = breakpoint + len with the SIGTRAP still queued:
 * detached like that, or with the bytes removed, it dies of SIGTRAP (or
 * runs from the middle of an instruction). Each such thread is resumed
 * just long enough to dequeue the SIGTRAP, which bp_check_hit swallows
 * while rewinding its pc; no instruction of the program runs. A signal a
 * thread's stop had already dequeued stays pending for resume/detach.
 * Call before the breakpoint bytes are removed. `only`: just the threads
 * past the breakpoint at that address (0: every breakpoint). p may be gone
 * afterwards (check with tr_find_proc). */
void bp_settle_traps(struct fk_tracer *tr, struct proc *p, uint64_t only);

/* Single-step l over the breakpoint at its pc (original instruction
 * restored for that step only). Other LWPs must be stopped. Returns 0, or
 * -errno; the LWP is stopped again afterwards unless it exited. */
int bp_step_over(struct fk_tracer *tr, struct proc *p, pid_t tid);

/* Displaced stepping (gdb's): l, stopped at one of our breakpoints,
 * executes a copy of the original instruction at `scratch` (the program's
 * entry point, never run again; its bytes put back right after), the
 * int3 staying in place, so the other LWPs may run meanwhile. A
 * RIP-relative operand's displacement is adjusted, a relative branch's
 * target and a call's return address are moved back, pc ends up where the
 * original would have left it. 0 done (stopped again; or nothing to do:
 * no breakpoint at its pc any more), 1 not possible for this instruction
 * here (nothing changed: use bp_step_over), -errno. */
int bp_step_displaced(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t scratch);

/* One instruction of one LWP (stepping over a breakpoint at pc). Waits for
 * the step; if a request arrives meanwhile (the instruction blocks, e.g. a
 * syscall), the LWP is interrupted and *interrupted set. */
int bp_single_step(struct fk_tracer *tr, struct proc *p, pid_t tid, bool *interrupted, struct fk_err *err);

/* The main loop, after threads stopped at breakpoints whose compiled
 * condition is false (lwp.cond_false, p->cond_pass): stop the running
 * threads, step those over their breakpoints, resume exactly the threads
 * that were running; anything unexpected on the way reports the hit
 * instead (bpcondpass.c). p may be gone afterwards. */
void bp_cond_pass(struct fk_tracer *tr, struct proc *p);

#endif
