/* seccomp.h — a stopped thread's seccomp filters, and their verdict on a
 * system call we are about to make it run.
 *
 * Seccomp state is per thread: mode 0 (none), 1 (strict: read, write,
 * _exit and sigreturn only) or 2 (a stack of filters, newest first). The
 * filters are read with PTRACE_SECCOMP_GET_FILTER, which needs
 * CAP_SYS_ADMIN and a tracer with no filter of its own; without it the mode
 * still comes from /proc/PID/task/TID/status, and `readable` is false. */
#ifndef FK_SECCOMP_H
#define FK_SECCOMP_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct sc_filter {
	struct sock_filter *insns;
	size_t len;
};

struct sc_state {
	int mode;		   /* SECCOMP_MODE_DISABLED / _STRICT / _FILTER */
	bool readable;		   /* filters[] holds the programs (mode 2) */
	int read_errno;		   /* why not readable */
	struct sc_filter *filters; /* newest first, as the kernel runs them */
	size_t n;
};

/* Read the seccomp state of tid (ptrace-stopped by us). 0, or -1 with err
 * (the thread vanished: FK_KIND_EXITED). */
int seccomp_read(pid_t pid, pid_t tid, struct sc_state *out, struct fk_err *err);
void seccomp_state_free(struct sc_state *s);

/* The combined verdict of every filter for this call, as the kernel takes
 * it (the most restrictive action wins). For mode 1 the strict rule; for
 * mode 0 SECCOMP_RET_ALLOW. CBPF_INVALID when a filter cannot be read or
 * run. */
uint32_t seccomp_verdict(const struct sc_state *s, const struct seccomp_data *d);

/* Does a verdict let the call run with its real effect? (ALLOW and LOG:
 * TRACE makes it fail with ENOSYS for a tracer that, like us, does not ask
 * for seccomp events.) */
bool seccomp_allows(uint32_t verdict);

/* "SECCOMP_RET_KILL_PROCESS", "SECCOMP_RET_ERRNO (EPERM)", ... */
void seccomp_verdict_name(uint32_t verdict, char *buf, size_t cap);

#endif
