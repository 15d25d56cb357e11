/* ops.h — request handlers. Each runs on the tracer thread, writes the
 * members of its result body into `body` (an open JSON object) and returns
 * 0, or fills `err` and returns -1. */
#ifndef FK_OPS_H
#define FK_OPS_H

#include "base/error.h"
#include "base/json.h"
#include "core/tracer.h"

typedef int (*op_fn)(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);

int op_threads(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_regs(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_attach(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_detach(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_stop(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_resume(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_launch(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_kill(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_step(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
/* FK_OP_STEP with FK_STEP_LINE or FK_STEP_OUT (ops_step.c) */
int op_step_line(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_bp_insert(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_bp_remove(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_set_regs(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_stack(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_symbols(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_locals(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);
int op_fork(struct fk_tracer *tr, const struct tr_request *rq, struct jw *body, struct fk_err *err);

#endif
