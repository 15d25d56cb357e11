/* tracer.h — the tracer thread, seen from the modules that run on it.
 *
 * One pthread owns every ptrace request and every waitpid() of this
 * library. Requests come from other threads through a queue; results,
 * events and logs leave through a message queue (JSON text). The wait
 * status of every tracee goes through tr_handle_status(), the single state
 * machine that keeps the LWP tables true. Operations that need tracees to
 * reach a state (all stopped, a syscall done) loop on tr_pump(). */
#ifndef FK_TRACER_H
#define FK_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "core/proc.h"

struct fk_tracer;

/* A request as queued by fk_request(): its JSON text, decoded on the
 * tracer thread (ops/request.c). */
struct tr_request {
	int64_t id;
	char *text;
	size_t len;
	struct tr_request *next;
};

/* What the layers above do at the tracer's turns. The core names no
 * module above it: the library's entry (src/api.c, fk_open) installs these
 * once, every member set. Called on the tracer thread only. */
struct tr_hooks {
	/* A request arrived: decode and run it, writing the result's members
	 * into body (ops: protocol_dispatch). Returns 0, or -1 with err set;
	 * *opname: the operation's name for messages. */
	int (*request)(struct fk_tracer *tr, const char *text, size_t len, struct jw *body, struct fk_err *err,
		       const char **opname);
	/* An LWP of p stopped, before its stop is classified (the LWP table
	 * has it stopped; its other fields are the last stop's). */
	void (*stop_seen)(struct proc *p, struct lwp *l);
	/* A SIGTRAP signal-stop: mark a breakpoint or watchpoint hit in l. */
	void (*trap)(struct proc *p, struct lwp *l);
	/* PTRACE_EVENT_EXEC in p (the LWP table already updated; former: the
	 * tid that called execve). True when p was let go: nothing more is
	 * done with this stop. */
	bool (*exec)(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t former);
	/* l made a new process `child` (kind: "fork", "vfork", or "clone"
	 * without CLONE_THREAD). */
	void (*new_process)(struct fk_tracer *tr, struct proc *p, struct lwp *l, pid_t child, const char *kind);
	/* The stop of l is classified: what to do with it (the last hook of a
	 * stop). */
	void (*stopped)(struct fk_tracer *tr, struct proc *p, struct lwp *l);
	/* The leader of p is gone (p->exited, before its exited event). */
	void (*exited)(struct fk_tracer *tr, struct proc *p);
	/* Between requests and waits: work a stop left for the main loop.
	 * True if something was done (the process list may have changed). */
	bool (*pending)(struct fk_tracer *tr, struct proc *p);
	/* fk_close: let p go; it leaves the process list. */
	void (*release)(struct fk_tracer *tr, struct proc *p);
	/* p is freed: free what the layers above keep in it. */
	void (*forget)(struct proc *p);
};

/* Start the tracer thread (fk_open, src/api.c). NULL with errbuf set on
 * failure. */
struct fk_tracer *tr_open(const struct tr_hooks *hooks, char *errbuf, size_t errlen);

/* Wait up to timeout_ms (0: poll, <0: forever) for one tracee status and
 * handle it. Returns 1 when a status was handled, 0 on timeout or when a
 * request arrived, -ECHILD when this thread has no tracees at all. */
int tr_pump(struct fk_tracer *tr, int timeout_ms);

/* The same for one tracee: O(1) in the kernel, where waiting for "any"
 * walks every tracee (O(n) per status, O(n^2) to stop n threads).
 * Returns 1 when a status of `tid` was handled, 0 on timeout/request,
 * -ECHILD when tid is not (or no longer) our tracee. */
int tr_pump_pid(struct fk_tracer *tr, pid_t tid, int timeout_ms);

/* PTRACE_SEIZE that cannot deadlock with an exec in the target. The
 * kernel's attach waits for the target's cred_guard_mutex, which an
 * execve holds while it waits for the other threads to die; a thread we
 * already seized dies only after we resume its PTRACE_EVENT_EXIT stop. So
 * a seize that blocks is interrupted every 20 ms, the statuses that came
 * in are handled (exit stops are resumed), and it is tried again. Returns
 * 0 or -errno (-ETIMEDOUT after 10 s). A seize that succeeded just as it
 * was interrupted shows as EPERM with us as the tracer on the next try. */
int tr_seize(struct fk_tracer *tr, pid_t tid, unsigned long options);
/* Around many tr_seize calls: one periodic 20 ms watchdog for all of them
 * instead of arming and disarming a timer per thread. */
void tr_seize_round(struct fk_tracer *tr, bool on);

/* fk_cancel() was called during the current request. */
bool tr_cancelled(struct fk_tracer *tr);

/* Statuses of tracees that belong to no known process (the child of an
 * injected fork reports its first stop before anybody asked for it). */
bool tr_take_unclaimed(struct fk_tracer *tr, pid_t pid, int *status);
/* The pid reported by the last PTRACE_EVENT_FORK/VFORK/CLONE in p, or 0. */

/* Processes known to the tracer (sessions and the ones an operation is
 * working on). */
struct proc *tr_find_proc(struct fk_tracer *tr, pid_t pid);
struct proc *tr_add_proc(struct fk_tracer *tr, pid_t pid);
void tr_remove_proc(struct fk_tracer *tr, struct proc *p);
/* The first of them (then p->next), for walks that change nothing. */
struct proc *tr_first_proc(struct fk_tracer *tr);

/* A request is queued (long waits give way to it). */
bool tr_requests_pending(struct fk_tracer *tr);

/* The tracer thread's own tid (TracerPid of our tracees). */
pid_t tr_tid(const struct fk_tracer *tr);

/* Events for session processes (core/outbox.c). */
void tr_emit_event(struct fk_tracer *tr, struct jw *body);

/* Monotonic clock in microseconds. */
uint64_t tr_now_us(void);

#endif
