/* sigstate.h — what fork() does not copy but a checkpoint restore must
 * bring back (issue 16 item 5): pending signals (each thread's queue and
 * the process's, with their siginfo), the interval timers (ITIMER_REAL,
 * _VIRTUAL, _PROF) and POSIX timers with their ids, clocks, notification
 * and remaining time.
 *
 * Capture reads the queues with PTRACE_PEEKSIGINFO (nothing is dequeued)
 * and the timers with getitimer/timer_gettime run in one stopped thread
 * (registers and scratch bytes put back). Restore runs in the new process's
 * main thread: setitimer, timer_create with the saved ids
 * (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.14+; older kernels: created in id
 * order and checked), timer_settime, rt_tgsigqueueinfo/rt_sigqueueinfo. */
#ifndef FK_ENGINE_SIGSTATE_H
#define FK_ENGINE_SIGSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "core/tracer.h"

struct sigstate;
struct tstate;

/* p: stopped; ts[0..n) its threads (their tids); calls run in thread via.
 * Warnings (what could not be read) go to warn (a JSON array's members). */
int sigstate_capture(struct fk_tracer *tr, struct proc *p, uint64_t insn, pid_t via, const struct tstate *ts, size_t n,
		     struct sigstate **out, struct jw *warn, struct fk_err *err);

/* c: the new process, stopped; ts[i].tid -> ts[i].child_tid. */
int sigstate_restore(struct fk_tracer *tr, struct proc *c, uint64_t insn, const struct sigstate *s,
		     const struct tstate *ts, size_t n, struct jw *warn, struct fk_err *err);

/* For the record: how many signals and timers (JSON object members). */
void sigstate_json(const struct sigstate *s, struct jw *body);

void sigstate_free(struct sigstate *s);

/* Flat bytes of s (for a checkpoint kept in its own memory), and back.
 * read returns NULL when the bytes are not a sigstate of this build. */
size_t sigstate_blob_size(const struct sigstate *s);
void sigstate_blob_write(const struct sigstate *s, uint8_t *out);
struct sigstate *sigstate_blob_read(const uint8_t *in, size_t len);

#endif
