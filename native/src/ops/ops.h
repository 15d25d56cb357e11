/* ops.h — request handlers: one op_NAME per operation of
 * native/protocol/schema.json. Their request structs and prototypes are
 * generated (ops/protocol.generated.h); ops/dispatch.c decodes a request
 * and calls its handler on the tracer thread. Each writes the members of
 * its result body into `body` (an open JSON object) and returns 0, or
 * fills `err` and returns -1. */
#ifndef FK_OPS_H
#define FK_OPS_H

#include "base/error.h"
#include "base/json.h"
#include "core/proc.h"
#include "core/tracer.h"
#include "ops/protocol.generated.h"

/* "step" with line/out: a source-line step in the tracer thread (ops_step.c) */
int op_step_line(struct fk_tracer *tr, const struct rq_step *rq, struct jw *body, struct fk_err *err);

/* True (err set) when thread tid of p is held at its vfork event: it cannot
 * run until its child execs or exits (ops_common.c). */
bool vfork_held(struct proc *p, pid_t tid, struct fk_err *err);

/* Drop the compiled condition of the breakpoint at addr (bpInsert, bpRemove: ops_bpcond.c). */
void ops_bpcond_forget(struct proc *p, uint64_t addr);

#endif
