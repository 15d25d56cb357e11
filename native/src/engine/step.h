/* step.h — source-line steps of one LWP, on the tracer thread ("step"
 * with line / line+into / out).
 *
 * next: range-stepping (PTRACE_SINGLESTEP of that LWP alone while its pc
 * stays in the current line's addresses, general registers only); a call
 * is run to its return address with every LWP running; a line that keeps
 * the LWP for long (a loop) switches to delve's method: temporary
 * breakpoints on every other is_stmt row of the function and on the
 * frame's return address, checked against the frame's CFA (recursion),
 * one continue. stepIn: the same, but a call into code with line
 * information ends at its first statement after the opening line. stepOut:
 * the return address, CFA-checked, every LWP running.
 *
 * Whatever else happens ends the step and is the result: a breakpoint that
 * was there before the step (any LWP), a signal (it stays pending and is
 * delivered on resume), the LWP's exit, the process's exit, fk_cancel().
 * Every LWP is stopped when it returns; the temporary breakpoints are gone.
 * This layer sits above debuginfo/ (line tables, CFI) and ptrace/. */
#ifndef FK_STEP_H
#define FK_STEP_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "core/proc.h"
#include "core/tracer.h"

enum step_kind {
	STEP_NEXT,
	STEP_IN,
	STEP_OUT
};

struct step_result {
	/* "step" done; "breakpoint" (addr) or "signal" (signal) of stop_tid;
	 * "paused" by fk_cancel; "threadExited": the stepping LWP exited;
	 * "exited": the process did; "noLine": no line information at pc,
	 * nothing was done */
	const char *reason;
	pid_t stop_tid;
	int signal;
	uint64_t addr;
	uint64_t single_steps, continues; /* how the step went (bench, tests) */
};

/* p is a stopped session. Returns 0 (out filled) or -1 with err. */
/* alone: the other LWPs stay stopped throughout, calls included. */
int step_line(struct fk_tracer *tr, struct proc *p, pid_t tid, enum step_kind kind, bool alone, struct step_result *out,
	      struct fk_err *err);

#endif
