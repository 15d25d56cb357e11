/* seccomp.c — reading a stopped thread's seccomp filters (see seccomp.h). */
#include "ptrace/seccomp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cbpf.h"
#include "base/procfs.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif

/* Mode from /proc/PID/task/TID/status ("Seccomp:\t2"). */
static int status_mode(pid_t pid, pid_t tid, int *mode)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	ssize_t n = proc_read_file(path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	const char *s = strstr(buf, "\nSeccomp:\t");
	*mode = s ? atoi(s + 10) : SECCOMP_MODE_DISABLED; /* kernels without seccomp: no line */
	return 0;
}

static int read_filters(pid_t tid, struct sc_state *s)
{
	for (unsigned long i = 0;; i++) {
		long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, NULL);
		if (len < 0)
			return errno == ENOENT && i > 0 ? 0 : -errno;
		struct sc_filter *nf = realloc(s->filters, (s->n + 1) * sizeof *nf);
		if (!nf)
			return -ENOMEM;
		s->filters = nf;
		struct sc_filter *f = &s->filters[s->n];
		f->len = (size_t)len;
		f->insns = calloc(f->len ? f->len : 1, sizeof *f->insns);
		if (!f->insns)
			return -ENOMEM;
		s->n++;
		long got = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)i, f->insns);
		if (got < 0)
			return -errno;
		if ((size_t)got != f->len)
			return -EAGAIN; /* cannot change while stopped: a kernel we do not understand */
	}
}

int seccomp_read(pid_t pid, pid_t tid, struct sc_state *out, struct fk_err *err)
{
	memset(out, 0, sizeof *out);
	/* Privileged tracers learn everything from one call per thread: no
	 * filter (EINVAL) only leaves strict mode to tell apart, which
	 * /proc answers. */
	long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)0, NULL);
	int e = len < 0 ? errno : 0;
	if (len >= 0) {
		out->mode = SECCOMP_MODE_FILTER;
		int rc = read_filters(tid, out);
		if (rc == 0) {
			out->readable = true;
			return 0;
		}
		e = -rc;
		if (e == ESRCH)
			goto gone;
		seccomp_state_free(out);
		out->mode = SECCOMP_MODE_FILTER;
		out->read_errno = e;
		return 0;
	}
	if (e == ESRCH)
		goto gone;
	int rc = status_mode(pid, tid, &out->mode);
	if (rc == -ENOENT || rc == -ESRCH)
		goto gone;
	if (rc < 0)
		return fk_fail(err, -rc, FK_KIND_FAILED, "seccomp", "reading /proc/%d/task/%d/status", (int)pid,
			       (int)tid);
	if (out->mode == SECCOMP_MODE_FILTER)
		out->read_errno =
			e; /* EACCES: no CAP_SYS_ADMIN, or we are filtered; EIO: no CONFIG_CHECKPOINT_RESTORE */
	return 0;
gone:
	return fk_fail(err, ESRCH, FK_KIND_EXITED, "seccomp", "thread %d of process %d exited", (int)tid, (int)pid);
}

void seccomp_state_free(struct sc_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->filters[i].insns);
	free(s->filters);
	s->filters = NULL;
	s->n = 0;
}

/* The kernel's order: lower (signed) action wins; KILL_PROCESS is negative. */
static int32_t action(uint32_t v)
{
	return (int32_t)(v & SECCOMP_RET_ACTION_FULL);
}

uint32_t seccomp_verdict(const struct sc_state *s, const struct seccomp_data *d)
{
	if (s->mode == SECCOMP_MODE_DISABLED)
		return SECCOMP_RET_ALLOW;
	if (s->mode == SECCOMP_MODE_STRICT) {
		/* strict mode: read, write, exit, rt_sigreturn; anything else is SIGKILL */
		static const int ok[] = { SYS_read, SYS_write, SYS_exit, SYS_rt_sigreturn };
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
			if (d->nr == ok[i])
				return SECCOMP_RET_ALLOW;
		return SECCOMP_RET_KILL_PROCESS;
	}
	if (!s->readable)
		return CBPF_INVALID;
	uint32_t ret = SECCOMP_RET_ALLOW;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t v = cbpf_run(s->filters[i].insns, s->filters[i].len, d);
		if (v == CBPF_INVALID)
			return CBPF_INVALID;
		if (action(v) < action(ret))
			ret = v;
	}
	return ret;
}

bool seccomp_allows(uint32_t v)
{
	if (v == CBPF_INVALID)
		return false;
	uint32_t a = v & SECCOMP_RET_ACTION_FULL;
	return a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_LOG;
}

void seccomp_verdict_name(uint32_t v, char *buf, size_t cap)
{
	if (v == CBPF_INVALID) {
		snprintf(buf, cap, "an unknown verdict (the filter could not be read or run)");
		return;
	}
	uint32_t a = v & SECCOMP_RET_ACTION_FULL, data = v & SECCOMP_RET_DATA;
	switch (a) {
	case SECCOMP_RET_KILL_PROCESS: snprintf(buf, cap, "SECCOMP_RET_KILL_PROCESS"); break;
	case SECCOMP_RET_KILL_THREAD: snprintf(buf, cap, "SECCOMP_RET_KILL_THREAD"); break;
	case SECCOMP_RET_TRAP: snprintf(buf, cap, "SECCOMP_RET_TRAP (SIGSYS)"); break;
	case SECCOMP_RET_ERRNO: {
		const char *name = data < 4096 ? strerrorname_np((int)data) : NULL;
		snprintf(buf, cap, "SECCOMP_RET_ERRNO (%s)", name ? name : "?");
		break;
	}
	case SECCOMP_RET_USER_NOTIF: snprintf(buf, cap, "SECCOMP_RET_USER_NOTIF (a supervisor decides)"); break;
	case SECCOMP_RET_TRACE: snprintf(buf, cap, "SECCOMP_RET_TRACE (fails with ENOSYS under Forkall)"); break;
	case SECCOMP_RET_LOG: snprintf(buf, cap, "SECCOMP_RET_LOG"); break;
	case SECCOMP_RET_ALLOW: snprintf(buf, cap, "SECCOMP_RET_ALLOW"); break;
	default: snprintf(buf, cap, "verdict 0x%08x", v); break;
	}
}
