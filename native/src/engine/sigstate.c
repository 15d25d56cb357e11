/* sigstate.c — pending signals and timers across a checkpoint (see sigstate.h). */
#include "engine/sigstate.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "engine/forkall_int.h"
#include "ptrace/rsys.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

#define MAX_QUEUED 4096 /* siginfos read per queue */

struct psig {
	pid_t tid; /* 0: the process's queue */
	siginfo_t info;
};

struct ptimer {
	int id, clock, signo, notify; /* notify: SIGEV_*, SIGEV_THREAD_ID included */
	pid_t tid;		      /* SIGEV_THREAD_ID's thread (saved tid) */
	uint64_t sival;
	struct itimerspec value;
};

struct sigstate {
	struct psig *sigs;
	size_t nsigs;
	struct itimerval it[3];
	bool it_ok;
	struct ptimer *timers;
	size_t ntimers;
};

void sigstate_free(struct sigstate *s)
{
	if (!s)
		return;
	free(s->sigs);
	free(s->timers);
	free(s);
}

static void warnf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct jw *w, const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (w)
		jw_str(w, buf);
	fk_warn("%s", buf);
}

/* ---- calls run in one stopped thread ---- */

struct inj {
	struct fk_tracer *tr;
	struct proc *p;
	pid_t tid;
	uint64_t insn;
	fk_gregs regs;
	uint64_t scratch;
	uint8_t saved[SCRATCH_LEN];
	bool ok;
	struct fk_err *err;
};

static int inj_begin(struct inj *j)
{
	int e = arch_get_gregs(j->tid, &j->regs);
	if (e < 0)
		return fk_fail(j->err, -e, FK_KIND_FAILED, "signals", "PTRACE_GETREGS of thread %d", (int)j->tid);
	j->scratch = (arch_sp(&j->regs) - SCRATCH_BELOW_SP - SCRATCH_LEN) & ~(uint64_t)15;
	if (mem_read_exact(j->p->pid, j->scratch, j->saved, sizeof j->saved) < 0)
		return fk_fail(j->err, EFAULT, FK_KIND_FAILED, "signals", "reading the stack of thread %d below 0x%llx",
			       (int)j->tid, (unsigned long long)arch_sp(&j->regs));
	j->ok = true;
	return 0;
}

/* Registers and scratch bytes as they were: the thread resumes as if
 * nothing ran (its registers were read after any restart was applied). */
static void inj_end(struct inj *j)
{
	if (!j->ok)
		return;
	mem_write_exact(j->p->pid, j->scratch, j->saved, sizeof j->saved);
	arch_set_gregs(j->tid, &j->regs);
	struct lwp *l = proc_lwp(j->p, j->tid);
	if (l)
		l->regs_valid = false;
}

static int inj_call(struct inj *j, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, long *ret)
{
	uint64_t a[6] = { a0, a1, a2, a3, 0, 0 };
	return rsys_one(j->tr, j->p, j->insn, j->tid, nr, a, ret, NULL, j->err);
}

/* ---- capture ---- */

static int add_sig(struct sigstate *s, size_t *cap, pid_t tid, const siginfo_t *si)
{
	if (s->nsigs == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct psig *nv = realloc(s->sigs, c * sizeof *nv);
		if (!nv)
			return -1;
		s->sigs = nv;
		*cap = c;
	}
	s->sigs[s->nsigs].tid = tid;
	s->sigs[s->nsigs].info = *si;
	s->nsigs++;
	return 0;
}

/* A queue, read without dequeuing. */
static int peek_queue(struct sigstate *s, size_t *cap, pid_t tid, bool shared)
{
	siginfo_t buf[32];
	for (uint64_t off = 0; off < MAX_QUEUED;) {
		struct __ptrace_peeksiginfo_args a = { .off = off,
						       .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
						       .nr = 32 };
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf);
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (long i = 0; i < n; i++)
			if (add_sig(s, cap, shared ? 0 : tid, &buf[i]) < 0)
				return -ENOMEM;
		off += (uint64_t)n;
	}
	return 0;
}

/* /proc/PID/timers: every POSIX timer's id, signal, value and notification. */
static int read_timer_list(pid_t pid, struct sigstate *s)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/timers", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t cap = 0;
	struct ptimer *t = NULL;
	while (fgets(line, sizeof line, f)) {
		int v;
		unsigned long long ptr;
		char how[16], who[8];
		int whom;
		if (sscanf(line, "ID: %d", &v) == 1) {
			if (s->ntimers == cap) {
				cap = cap ? cap * 2 : 8;
				struct ptimer *nv = realloc(s->timers, cap * sizeof *nv);
				if (!nv) {
					fclose(f);
					return -ENOMEM;
				}
				s->timers = nv;
			}
			t = &s->timers[s->ntimers++];
			memset(t, 0, sizeof *t);
			t->id = v;
		} else if (t && sscanf(line, "signal: %d/%llx", &v, &ptr) == 2) {
			t->signo = v;
			t->sival = ptr;
		} else if (t && sscanf(line, "notify: %15[a-z]/%7[a-z].%d", how, who, &whom) == 3) {
			t->notify = strcmp(how, "none") == 0	 ? SIGEV_NONE
				    : strcmp(how, "thread") == 0 ? SIGEV_THREAD
								 : SIGEV_SIGNAL;
			if (strcmp(who, "tid") == 0) {
				t->notify |= SIGEV_THREAD_ID;
				t->tid = whom;
			}
		} else if (t && sscanf(line, "ClockID: %d", &v) == 1) {
			t->clock = v;
		}
	}
	fclose(f);
	return 0;
}

int sigstate_capture(struct fk_tracer *tr, struct proc *p, uint64_t insn, pid_t via, const struct tstate *ts, size_t n,
		     struct sigstate **out, struct jw *warn, struct fk_err *err)
{
	struct sigstate *s = calloc(1, sizeof *s);
	if (!s)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "signals", "out of memory");
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int e = peek_queue(s, &cap, ts[i].tid, false);
		if (e == -ENOMEM)
			rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "signals", "out of memory");
		else if (e < 0)
			warnf(warn, "thread %d: its pending signals were not read (PTRACE_PEEKSIGINFO: %s)",
			      (int)ts[i].tid, strerror(-e));
		/* a signal the thread stopped for (to be delivered on resume) */
		struct lwp *l = proc_lwp(p, ts[i].tid);
		siginfo_t si;
		if (rc == 0 && l && l->stop == STOP_SIGNAL && l->pending_sig &&
		    ptrace(PTRACE_GETSIGINFO, ts[i].tid, 0, &si) == 0 && si.si_signo == l->pending_sig &&
		    add_sig(s, &cap, ts[i].tid, &si) < 0)
			rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "signals", "out of memory");
	}
	if (rc == 0 && n) {
		int e = peek_queue(s, &cap, ts[0].tid, true);
		if (e < 0)
			warnf(warn, "the process's pending signals were not read (PTRACE_PEEKSIGINFO: %s)",
			      strerror(-e));
	}
	if (rc == 0) {
		int e = read_timer_list(p->pid, s);
		if (e < 0 && e != -ENOENT)
			warnf(warn, "reading /proc/%d/timers: %s: POSIX timers are not kept", (int)p->pid,
			      strerror(-e));
	}
	/* the timers' times: getitimer and timer_gettime, in thread via */
	struct inj j = { .tr = tr, .p = p, .tid = via, .insn = insn, .err = err };
	if (rc == 0 && (rc = inj_begin(&j)) == 0) {
		long ret = 0;
		s->it_ok = true;
		for (int w = 0; w < 3 && rc == 0; w++) {
			rc = inj_call(&j, SYS_getitimer, (uint64_t)w, j.scratch, 0, 0, &ret);
			if (rc == 0 && ret == 0)
				rc = mem_read_exact(p->pid, j.scratch, &s->it[w], sizeof s->it[w]) < 0
					     ? fk_fail(err, EFAULT, FK_KIND_FAILED, "signals",
						       "reading getitimer's answer")
					     : 0;
			else if (rc == 0)
				s->it_ok = false;
		}
		for (size_t i = 0; i < s->ntimers && rc == 0; i++) {
			rc = inj_call(&j, SYS_timer_gettime, (uint64_t)s->timers[i].id, j.scratch, 0, 0, &ret);
			if (rc == 0 && ret == 0)
				mem_read_exact(p->pid, j.scratch, &s->timers[i].value, sizeof s->timers[i].value);
			else if (rc == 0)
				warnf(warn, "timer %d: timer_gettime: %s", s->timers[i].id, strerror((int)-ret));
		}
		inj_end(&j);
	}
	if (rc < 0) {
		sigstate_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- restore ---- */

static pid_t new_tid(const struct tstate *ts, size_t n, pid_t saved)
{
	for (size_t i = 0; i < n; i++)
		if (ts[i].tid == saved)
			return ts[i].child_tid;
	return 0;
}

int sigstate_restore(struct fk_tracer *tr, struct proc *c, uint64_t insn, const struct sigstate *s,
		     const struct tstate *ts, size_t n, struct jw *warn, struct fk_err *err)
{
	if (!s || (!s->nsigs && !s->ntimers && !s->it_ok))
		return 0;
	struct inj j = { .tr = tr, .p = c, .tid = c->pid, .insn = insn, .err = err };
	if (inj_begin(&j) < 0)
		return -1;
	int rc = 0;
	long ret = 0;
	for (int w = 0; w < 3 && rc == 0 && s->it_ok; w++) {
		const struct itimerval *v = &s->it[w];
		if (!v->it_value.tv_sec && !v->it_value.tv_usec)
			continue;
		if (mem_write_exact(c->pid, j.scratch, v, sizeof *v) < 0)
			rc = fk_fail(err, EFAULT, FK_KIND_FAILED, "signals", "writing an itimerval into process %d",
				     (int)c->pid);
		if (rc == 0 && (rc = inj_call(&j, SYS_setitimer, (uint64_t)w, j.scratch, 0, 0, &ret)) == 0 && ret < 0)
			warnf(warn, "setitimer(%d): %s", w, strerror((int)-ret));
	}
	if (rc == 0 && s->ntimers) {
		/* the saved ids: asked for explicitly where the kernel allows it */
		bool explicit_ids =
			inj_call(&j, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, &ret) == 0 && ret == 0;
		for (size_t i = 0; i < s->ntimers && rc == 0; i++) {
			const struct ptimer *t = &s->timers[i];
			struct sigevent ev;
			memset(&ev, 0, sizeof ev);
			ev.sigev_value.sival_ptr = (void *)(uintptr_t)t->sival;
			ev.sigev_signo = t->signo;
			ev.sigev_notify = t->notify == SIGEV_THREAD ? SIGEV_SIGNAL : t->notify;
			if (t->notify & SIGEV_THREAD_ID) {
				ev._sigev_un._tid = new_tid(ts, n, t->tid);
				if (!ev._sigev_un._tid) {
					warnf(warn, "timer %d: its thread %d was not restored: not re-created", t->id,
					      (int)t->tid);
					continue;
				}
			}
			int32_t id = t->id;
			uint64_t evat = j.scratch, idat = j.scratch + 128, valat = j.scratch + 192;
			if (mem_write_exact(c->pid, evat, &ev, sizeof ev) < 0 ||
			    mem_write_exact(c->pid, idat, &id, sizeof id) < 0 ||
			    mem_write_exact(c->pid, valat, &t->value, sizeof t->value) < 0) {
				rc = fk_fail(err, EFAULT, FK_KIND_FAILED, "signals",
					     "writing a sigevent into process %d", (int)c->pid);
				break;
			}
			if ((rc = inj_call(&j, SYS_timer_create, (uint64_t)t->clock, evat, idat, 0, &ret)) < 0)
				break;
			int32_t got = -1;
			mem_read_exact(c->pid, idat, &got, sizeof got);
			if (ret < 0) {
				warnf(warn, "timer %d: timer_create: %s", t->id, strerror((int)-ret));
				continue;
			}
			if (got != t->id)
				warnf(warn, "timer %d came back as timer %d (this kernel cannot choose timer ids)",
				      t->id, got);
			if (t->value.it_value.tv_sec || t->value.it_value.tv_nsec) {
				if ((rc = inj_call(&j, SYS_timer_settime, (uint64_t)got, 0, valat, 0, &ret)) == 0 &&
				    ret < 0)
					warnf(warn, "timer %d: timer_settime: %s", t->id, strerror((int)-ret));
			}
		}
		if (explicit_ids)
			inj_call(&j, SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, &ret);
	}
	/* the process's queue, from the main thread (its tid is the pid: the
	 * kernel lets a process queue any siginfo to itself) */
	for (size_t i = 0; i < s->nsigs && rc == 0; i++) {
		const struct psig *q = &s->sigs[i];
		if (q->tid)
			continue;
		if (mem_write_exact(c->pid, j.scratch, &q->info, sizeof q->info) < 0) {
			rc = fk_fail(err, EFAULT, FK_KIND_FAILED, "signals", "writing a siginfo into process %d",
				     (int)c->pid);
			break;
		}
		rc = inj_call(&j, SYS_rt_sigqueueinfo, (uint64_t)c->pid, (uint64_t)q->info.si_signo, j.scratch, 0,
			      &ret);
		if (rc == 0 && ret < 0)
			warnf(warn, "signal %d (for the process) not queued again: %s", q->info.si_signo,
			      strerror((int)-ret));
	}
	inj_end(&j);
	/* each thread's queue, from that thread (only a thread itself may
	 * queue a siginfo of its own making to itself) */
	for (size_t i = 0; i < s->nsigs && rc == 0; i++) {
		const struct psig *q = &s->sigs[i];
		if (!q->tid || (i > 0 && s->sigs[i - 1].tid == q->tid))
			continue; /* one pass per thread, over its run of entries */
		pid_t tid = new_tid(ts, n, q->tid);
		if (!tid) {
			warnf(warn, "signals pending for thread %d: the thread was not restored", (int)q->tid);
			continue;
		}
		struct inj t = { .tr = tr, .p = c, .tid = tid, .insn = insn, .err = err };
		if ((rc = inj_begin(&t)) < 0)
			break;
		for (size_t k = i; k < s->nsigs && s->sigs[k].tid == q->tid && rc == 0; k++) {
			const siginfo_t *si = &s->sigs[k].info;
			if (mem_write_exact(c->pid, t.scratch, si, sizeof *si) < 0) {
				rc = fk_fail(err, EFAULT, FK_KIND_FAILED, "signals",
					     "writing a siginfo into process %d", (int)c->pid);
				break;
			}
			rc = inj_call(&t, SYS_rt_tgsigqueueinfo, (uint64_t)c->pid, (uint64_t)tid,
				      (uint64_t)si->si_signo, t.scratch, &ret);
			if (rc == 0 && ret < 0)
				warnf(warn, "signal %d (for thread %d) not queued again: %s", si->si_signo, (int)tid,
				      strerror((int)-ret));
		}
		inj_end(&t);
	}
	return rc;
}

void sigstate_json(const struct sigstate *s, struct jw *body)
{
	size_t its = 0;
	for (int w = 0; s && s->it_ok && w < 3; w++)
		its += s->it[w].it_value.tv_sec || s->it[w].it_value.tv_usec;
	jw_kint(body, "pendingSignals", s ? (int64_t)s->nsigs : 0);
	jw_kint(body, "timers", s ? (int64_t)s->ntimers : 0);
	jw_kint(body, "itimers", (int64_t)its);
}

/* blob: counts, itimers, then the arrays */
struct sig_blob_hdr {
	uint64_t nsigs, ntimers;
	uint32_t it_ok, psig_size, ptimer_size, pad;
	struct itimerval it[3];
};

size_t sigstate_blob_size(const struct sigstate *s)
{
	return sizeof(struct sig_blob_hdr) + (s ? s->nsigs * sizeof *s->sigs + s->ntimers * sizeof *s->timers : 0);
}

void sigstate_blob_write(const struct sigstate *s, uint8_t *out)
{
	struct sig_blob_hdr h;
	memset(&h, 0, sizeof h);
	h.psig_size = sizeof(struct psig);
	h.ptimer_size = sizeof(struct ptimer);
	if (s) {
		h.nsigs = s->nsigs;
		h.ntimers = s->ntimers;
		h.it_ok = s->it_ok;
		memcpy(h.it, s->it, sizeof h.it);
	}
	memcpy(out, &h, sizeof h);
	out += sizeof h;
	if (!s)
		return;
	if (s->nsigs)
		memcpy(out, s->sigs, s->nsigs * sizeof *s->sigs);
	out += s->nsigs * sizeof *s->sigs;
	if (s->ntimers)
		memcpy(out, s->timers, s->ntimers * sizeof *s->timers);
}

struct sigstate *sigstate_blob_read(const uint8_t *in, size_t len)
{
	struct sig_blob_hdr h;
	if (len < sizeof h)
		return NULL;
	memcpy(&h, in, sizeof h);
	if (h.psig_size != sizeof(struct psig) || h.ptimer_size != sizeof(struct ptimer) || h.nsigs > 1u << 20 ||
	    h.ntimers > 1u << 20 || len < sizeof h + h.nsigs * sizeof(struct psig) + h.ntimers * sizeof(struct ptimer))
		return NULL;
	struct sigstate *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->nsigs = h.nsigs;
	s->ntimers = h.ntimers;
	s->it_ok = h.it_ok != 0;
	memcpy(s->it, h.it, sizeof s->it);
	in += sizeof h;
	if (s->nsigs && !(s->sigs = malloc(s->nsigs * sizeof *s->sigs))) {
		sigstate_free(s);
		return NULL;
	}
	if (s->nsigs)
		memcpy(s->sigs, in, s->nsigs * sizeof *s->sigs);
	in += s->nsigs * sizeof *s->sigs;
	if (s->ntimers && !(s->timers = malloc(s->ntimers * sizeof *s->timers))) {
		sigstate_free(s);
		return NULL;
	}
	if (s->ntimers)
		memcpy(s->timers, in, s->ntimers * sizeof *s->timers);
	return s;
}
