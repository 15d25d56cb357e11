/* watch.h — hardware watchpoints (data breakpoints) of a traced process.
 *
 * A watchpoint is in the debug registers of every LWP (the arch's slots:
 * x86-64 has 4, each 1, 2, 4 or 8 aligned bytes, writes or reads+writes).
 * A thread created later gets them at its first stop (l->watch_stale). A
 * hit is a SIGTRAP (TRAP_HWBKPT) after the access: watch_check_hit says
 * which, and the SIGTRAP is not the program's. */
#ifndef FK_WATCH_H
#define FK_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "core/proc.h"

/* Every LWP of p must be stopped. Returns the slot, or -1 with err. */
int watch_add(struct proc *p, uint64_t addr, unsigned len, bool rw, struct fk_err *err);
/* Every LWP of p must be stopped. 0, or -1 with err (no such watchpoint). */
int watch_remove(struct proc *p, uint64_t addr, struct fk_err *err);
/* Before a detach: every LWP's debug registers cleared (a watchpoint
 * left behind would SIGTRAP the program when no tracer is there). */
void watch_release(struct proc *p);
/* l just stopped: give it the process's watchpoints if it lacks them. */
void watch_on_stop(struct proc *p, struct lwp *l);
/* l is at a SIGTRAP signal-delivery-stop: one of our watchpoints? Then
 * l->watch_hit is set, its SIGTRAP dropped, and true. */
bool watch_check_hit(struct proc *p, struct lwp *l);

#endif
