/* rsys.h — system calls run inside a tracee ("remote syscalls").
 *
 * A stopped LWP is pointed at an existing `syscall` instruction of the
 * target (libc's text, found before any stop) with the call's registers,
 * and resumed with PTRACE_SYSCALL: its entry stop, then its exit stop.
 * Only the syscall instruction itself executes, never the bytes after it,
 * so no code is written into the process and nothing needs removing. Many
 * calls, each in its own thread, run concurrently (one wave), which is
 * what makes per-thread work in a 256-thread child affordable.
 *
 * Contract: every thread ends stopped at its syscall-exit-stop with the
 * injection's registers; the caller restores what it saved (and applies
 * arch_fix_restart if the thread had been inside a system call). Signals
 * that arrive meanwhile are kept as the LWP's pending_sig, not lost. */
#ifndef FK_RSYS_H
#define FK_RSYS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/procfs.h"
#include "core/tracer.h"

/* Find a syscall instruction: libc's text first, then the vDSO, then any
 * executable mapping (read in 64 KiB chunks, stopping at the first hit). */
int rsys_find_insn(pid_t pid, const struct vma_list *maps, uint64_t *addr, struct fk_err *err);

/* status of a call a seccomp filter refused with SECCOMP_RET_TRAP (not an errno) */
#define RSYS_SECCOMP 4096

struct rsys_call {
	pid_t tid;
	long nr;
	uint64_t args[6];
	/* results */
	long ret;		 /* the syscall's return value (-errno on failure) */
	int status;		 /* 0 completed; -ESRCH the thread vanished; -RSYS_SECCOMP a seccomp
			       filter trapped it (SIGSYS, dropped); other -errno: ptrace failed */
	int event;		 /* PTRACE_EVENT_* seen inside the call (fork/clone), 0 if none */
	unsigned long event_msg; /* its PTRACE_GETEVENTMSG (new pid/tid) */
	/* internal */
	int phase;
	int saved_sig;
};

/* Run calls[0..n) concurrently in their threads of p (all stopped). Fails
 * (err set) only on timeout; per-call failures are in status/ret. */
int rsys_run(struct fk_tracer *tr, struct proc *p, uint64_t insn, struct rsys_call *calls, size_t n, int timeout_ms,
	     struct fk_err *err);

/* The same, one stop per call: stub is the address of "syscall;
 * breakpoint" (arch_syscall_trap_code) in a page of ours. */
int rsys_run_trap(struct fk_tracer *tr, struct proc *p, uint64_t stub, struct rsys_call *calls, size_t n,
		  int timeout_ms, struct fk_err *err);

/* One call; returns its ret, or fills err and returns -1 - with the reason
 * (thread gone, ptrace failure, timeout) - when it did not complete. */
int rsys_one(struct fk_tracer *tr, struct proc *p, uint64_t insn, pid_t tid, long nr, const uint64_t args[6], long *ret,
	     struct rsys_call *out, struct fk_err *err);

#endif
