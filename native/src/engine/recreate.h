/* recreate.h — "Recreate Dead Threads": inside a child the program forked
 * (a followed fork child), bring back every thread its fork() left behind,
 * from the parent's picture of them taken at the fork event (the ghosts,
 * core/proc.h), with the forkall engine's thread builder. */
#ifndef FK_ENGINE_RECREATE_H
#define FK_ENGINE_RECREATE_H

#include "base/error.h"
#include "base/json.h"
#include "core/proc.h"
#include "core/tracer.h"

/* c: a stopped session process with ghosts. Every lost thread is rebuilt
 * on its own stack with its registers, xstate, signal mask, TLS, robust
 * list, rseq, name, affinity, scheduling and credentials; glibc's
 * bookkeeping that the child's fork() reset is put back (the thread's
 * struct pthread and its TSD, the thread lists, __nptl_nthreads); owner
 * fields naming a lost thread (robust lists; the mutexes and rwlocks
 * DWARF shows) name its new tid. The child's own threads are untouched
 * (their state is put back exactly). All or nothing: on any error the
 * child is as it was. Writes the "recreate" body (RecreateBody). */
int forkall_recreate(struct fk_tracer *tr, struct proc *c, struct jw *body, struct fk_err *err);

/* Is c's main thread still inside glibc's fork() (a frame of libc whose
 * function is a fork)? glibc gives the other threads up on its way out. */
bool recreate_in_fork(struct proc *c);

/* Records of recreated threads (n of them from r) as a JSON array of
 * RecreatedThread: the "recreate" answer's threads, forkInfo's recreated. */
void recreate_records_json(struct jw *w, const struct fk_recreated *r, size_t n);

#endif
