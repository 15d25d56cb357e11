/* fork.h — the engine's entry point: the multithreaded fork of a process
 * (ops/ops_fork.c turns the "fork" request into a call). */
#ifndef FK_ENGINE_FORK_H
#define FK_ENGINE_FORK_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"

struct fk_tracer;

enum fk_fork_flags {
	FK_FORK_STOPPED = 1u << 1,	 /* leave the child group-stopped, detached */
	FK_FORK_COPY_DONTFORK = 1u << 2, /* copy MADV_DONTFORK regions */
	FK_FORK_KEEP_TRACED = 1u << 3,	 /* keep the child attached (debug mode) */
	/* the child gets the parent's pid and every thread its parent
	 * thread's tid, in a new PID namespace (needs CAP_SYS_ADMIN in the
	 * target): mutex owners, cached tids and getpid() stay right */
	FK_FORK_SAME_TIDS = 1u << 5,
};

/* Fork pid with every thread; writes the "fork" result body
 * (native/PROTOCOL.md, ForkBody) into body. Returns 0 or -1 with err. */
int forkall_run(struct fk_tracer *tr, pid_t pid, uint32_t flags, struct jw *body, struct fk_err *err);

#endif
