/* threaddb.h — LWP <-> pthread_t through glibc's own libthread_db.
 *
 * libthread_db is dlopen'ed (from the target's libc directory first, so it
 * matches the target's glibc build) and calls back into the proc_service
 * functions this module exports (ps_pdread, ps_get_thread_area, ...): they
 * answer from process_vm_readv and from registers we captured, so
 * libthread_db never issues ptrace itself. Without libthread_db (or on a
 * version mismatch) the fallback is glibc's layout as libc exports it:
 * pthread_t == thread pointer, verified by reading struct pthread.tid at the
 * offset of the `_thread_db_pthread_tid` descriptor. */
#ifndef FK_THREADDB_H
#define FK_THREADDB_H

#include <stdint.h>
#include <sys/types.h>

#include "debuginfo/elfsym.h"

struct tdb;

/* Never fails outright: when neither method is available, tdb_map()
 * returns -1 for every thread and tdb_unavailable() says why. */
struct tdb *tdb_open(pid_t pid, struct elfsyms *syms);
void tdb_close(struct tdb *t);

/* pthread_t of LWP tid whose thread pointer is tp. Returns 0 and sets
 * *pthread and *source ("thread_db" or "fs_base"), or -1 when tid is not a
 * glibc thread (or not yet/no longer one). */
int tdb_map(struct tdb *t, pid_t tid, uint64_t tp, uint64_t *pthread, const char **source);

/* Why libthread_db is not used (NULL when it is). */
const char *tdb_unavailable(const struct tdb *t);

/* Offset of struct pthread.tid from libc's _thread_db_pthread_tid
 * descriptor ({bits, count, offset}); -1 if not found. */
long tdb_pthread_tid_offset(struct tdb *t);
/* The same without a libthread_db session. */
long glibc_pthread_tid_offset(pid_t pid, struct elfsyms *syms);

/* glibc's thread bookkeeping, from libc's _thread_db_* descriptors (no
 * layout assumed): what recreating a thread glibc's fork() gave up needs.
 * Any field not found is -1 / 0. */
struct glibc_threads {
	long tid_off;	     /* struct pthread.tid */
	long list_off;	     /* struct pthread.list (list_t: next, prev) */
	long sizeof_pthread; /* bytes */
	uint64_t nthreads;   /* &__nptl_nthreads (unsigned int) */
	uint64_t stack_used; /* &_rtld_global._dl_stack_used (list head) */
	uint64_t stack_user; /* &_rtld_global._dl_stack_user */
};
void glibc_threads_read(pid_t pid, struct elfsyms *syms, struct glibc_threads *out);

#endif
