/* checkpoint.h — in-memory checkpoints of a multithreaded process.
 *
 * A checkpoint is a copy-on-write fork of the stopped process that holds
 * only the forking thread, plus the saved state of every thread (the
 * engine's capture: registers, xstate, signal mask, robust list, rseq,
 * alternate stack, name, affinity, scheduling, credentials) kept here. It
 * never runs (a frozen, traced process without breakpoint bytes); saving
 * costs about one plain fork(), whatever the thread count. A restore forks
 * the checkpoint again and rebuilds every thread in the new copy with the
 * engine's builder, so one checkpoint restores any number of times. */
#ifndef FK_ENGINE_CHECKPOINT_H
#define FK_ENGINE_CHECKPOINT_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "core/tracer.h"

/* pid: a stopped session process, or with keep any process we may trace
 * (stopped for the save, then let go). keep: the record goes into the
 * checkpoint's own memory and it is left group-stopped, untraced (the
 * command line's: another process restores it). Writes CheckpointBody. */
int checkpoint_save(struct fk_tracer *tr, pid_t pid, bool keep, struct jw *body, struct fk_err *err);

/* A new process made from checkpoint cpid, every thread rebuilt, stopped,
 * traced as a session process (breakpoints: the caller's). Writes
 * RestoreBody. The checkpoint is unchanged. */
int checkpoint_restore(struct fk_tracer *tr, pid_t cpid, bool run, bool same_tids, struct jw *body, struct fk_err *err);

/* Kill checkpoint cpid. */
int checkpoint_delete(struct fk_tracer *tr, pid_t cpid, struct fk_err *err);

/* Every checkpoint (of process `of`, or all with of 0), as a JSON array
 * value of CheckpointInfo. */
void checkpoint_list(struct fk_tracer *tr, pid_t of, struct jw *body);

#endif
