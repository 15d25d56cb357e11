#include "ptrace/attach.h"

#include "ptrace/breakpoints.h"
#include "ptrace/watch.h"
#include "core/events.generated.h"
#include "base/log.h"
#include "base/procfs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

int attach_check_pid(pid_t pid, struct fk_err *err)
{
	if (pid <= 0)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "arguments", "invalid pid %d", (int)pid);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (access(path, F_OK) < 0)
		return fk_fail(err, ESRCH, FK_KIND_NOPROC, "lookup", "no such process: pid %d", (int)pid);
	if (pid == getpid())
		return fk_fail(err, EPERM, FK_KIND_PERM, "lookup",
			       "pid %d is this debugger's own process: a process cannot trace itself", (int)pid);
	/* a kernel thread (PF_KTHREAD in the flags, field 9 of stat): no user space */
	char stat[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	unsigned int flags = 0;
	if (proc_read_file(path, stat, sizeof stat) > 0) {
		char *close = strrchr(stat, ')');
		if (close && sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) == 1 && (flags & 0x00200000u)) {
			char comm[32];
			if (proc_task_comm(pid, pid, comm, sizeof comm) < 0)
				snprintf(comm, sizeof comm, "?");
			return fk_fail(err, EPERM, FK_KIND_PERM, "lookup",
				       "pid %d is a kernel thread (%s): nothing to debug", (int)pid, comm);
		}
	}
	long tgid = 0;
	if (proc_status_long(pid, "Tgid", &tgid) == 0 && tgid != pid)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "lookup", "%d is a thread of process %ld, not a process id",
			       (int)pid, tgid);
	/* a zombie: every thread gone (a dead main thread alone is fine) */
	long threads = 1;
	struct proc_task_stat st;
	if (proc_task_stat(pid, pid, &st) == 0 && st.state == 'Z' && proc_status_long(pid, "Threads", &threads) == 0 &&
	    threads <= 1)
		return fk_fail(err, ESRCH, FK_KIND_NOPROC, "lookup",
			       "no such process: pid %d has exited (a zombie its parent has not reaped)", (int)pid);
	return 0;
}

static bool have_cap_sys_ptrace(void)
{
	/* CapEff of ourselves: bit 19 is CAP_SYS_PTRACE. */
	char buf[4096];
	if (proc_read_file("/proc/self/status", buf, sizeof buf) < 0)
		return false;
	char *p = strstr(buf, "CapEff:");
	if (!p)
		return false;
	unsigned long long caps = strtoull(p + 7, NULL, 16);
	return (caps >> 19) & 1;
}

static void comm_of(pid_t pid, char *out, size_t cap)
{
	if (proc_task_comm(pid, pid, out, cap) < 0)
		snprintf(out, cap, "?");
}

int attach_explain(pid_t pid, pid_t tid, int errnum, struct fk_err *err)
{
	if (errnum == ESRCH || !proc_task_exists(pid, tid)) {
		if (access("/proc", F_OK) == 0 && !proc_task_exists(pid, pid))
			return fk_fail(err, ESRCH, FK_KIND_EXITED, "seize", "process %d exited during the operation",
				       (int)pid);
		return fk_fail(err, ESRCH, FK_KIND_NOPROC, "seize", "no such process: pid %d", (int)pid);
	}
	if (errnum != EPERM)
		return fk_fail(err, errnum, FK_KIND_FAILED, "seize", "PTRACE_SEIZE of %d (process %d) failed", (int)tid,
			       (int)pid);

	long tracer = 0;
	char path[96], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (proc_read_file(path, buf, sizeof buf) > 0) {
		char *t = strstr(buf, "TracerPid:");
		if (t)
			tracer = strtol(t + 10, NULL, 10);
	}
	if (tracer > 0) {
		/* TracerPid is the tracing *thread*; name its process. */
		long tgid = tracer;
		proc_status_long((pid_t)tracer, "Tgid", &tgid);
		char comm[32];
		comm_of((pid_t)tgid, comm, sizeof comm);
		err->tracer_pid = (int)tgid;
		return fk_fail(err, EPERM, FK_KIND_TRACED, "seize",
			       "process %d is already traced by PID %ld (%s); only one tracer may attach — "
			       "detach that debugger first",
			       (int)pid, tgid, comm);
	}

	long uid = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (proc_read_file(path, buf, sizeof buf) > 0) {
		char *u = strstr(buf, "Uid:");
		if (u)
			uid = strtol(u + 4, NULL, 10);
	}
	bool cap = have_cap_sys_ptrace();
	if (uid >= 0 && (uid_t)uid != getuid() && !cap)
		return fk_fail(err, EPERM, FK_KIND_PERM, "seize",
			       "not permitted to trace process %d: it belongs to uid %ld and you are uid %u; "
			       "ptrace needs the same user or CAP_SYS_PTRACE (e.g. run as root)",
			       (int)pid, uid, (unsigned)getuid());

	char yama[16] = "";
	if (proc_read_file("/proc/sys/kernel/yama/ptrace_scope", yama, sizeof yama) > 0) {
		int scope = atoi(yama);
		if (scope == 1 && !cap)
			return fk_fail(err, EPERM, FK_KIND_PERM, "seize",
				       "not permitted to trace process %d: kernel.yama.ptrace_scope = 1 allows "
				       "tracing only your own descendants (or processes that called "
				       "prctl(PR_SET_PTRACER)); launch it from forkall, run with CAP_SYS_PTRACE, "
				       "or set the sysctl to 0",
				       (int)pid);
		if (scope == 2 && !cap)
			return fk_fail(err, EPERM, FK_KIND_PERM, "seize",
				       "not permitted to trace process %d: kernel.yama.ptrace_scope = 2 allows "
				       "only CAP_SYS_PTRACE to attach",
				       (int)pid);
		if (scope == 3)
			return fk_fail(err, EPERM, FK_KIND_PERM, "seize",
				       "not permitted to trace process %d: kernel.yama.ptrace_scope = 3 "
				       "forbids all attaching until reboot",
				       (int)pid);
	}
	return fk_fail(err, EPERM, FK_KIND_PERM, "seize",
		       "not permitted to trace process %d (uid %ld): it may be setuid or non-dumpable, or a "
		       "security module denies ptrace (needs the same user or CAP_SYS_PTRACE; "
		       "check kernel.yama.ptrace_scope)",
		       (int)pid, uid);
}

int attach_read_pre_states(pid_t pid, struct pre_state **out, size_t *n)
{
	pid_t *tids = NULL;
	size_t cnt = 0;
	int rc = proc_list_tasks(pid, &tids, &cnt);
	if (rc < 0)
		return rc;
	struct pre_state *v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v) {
		free(tids);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tids[i]);
		if (proc_read_file(path, buf, sizeof buf) <= 0)
			continue;
		char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
		if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
			continue;
		v[k].tid = tids[i];
		v[k].state = close_p[2];
		size_t nl = (size_t)(close_p - open_p - 1);
		if (nl > 16)
			nl = 16;
		memcpy(v[k].name, open_p + 1, nl);
		v[k].name[nl] = '\0';
		k++;
	}
	free(tids);
	*out = v;
	*n = k;
	return 0;
}

static int seize_all(struct fk_tracer *tr, struct proc *p, bool interrupt, const pid_t *known, size_t nknown,
		     struct fk_err *err)
{
	for (int round = 0; round < 1000; round++) {
		pid_t *tids = NULL;
		size_t n = 0;
		int rc = 0;
		if (round == 0 && known && nknown) {
			tids = malloc(nknown * sizeof *tids);
			if (!tids)
				return fk_fail(err, ENOMEM, FK_KIND_FAILED, "seize", "out of memory");
			memcpy(tids, known, nknown * sizeof *tids);
			n = nknown;
		} else {
			rc = proc_list_tasks(p->pid, &tids, &n);
		}
		if (rc < 0) {
			if (rc == -ENOENT || rc == -ESRCH)
				return p->n ? fk_fail(err, ESRCH, FK_KIND_EXITED, "seize",
						      "process %d exited during the operation", (int)p->pid)
					    : fk_fail(err, ESRCH, FK_KIND_NOPROC, "seize", "no such process: pid %d",
						      (int)p->pid);
			return fk_fail(err, -rc, FK_KIND_FAILED, "seize", "listing /proc/%d/task", (int)p->pid);
		}
		size_t added = 0;
		for (size_t i = 0; i < n; i++) {
			pid_t tid = tids[i];
			if (proc_lwp(p, tid))
				continue;
			int se = tr_seize(tr, tid, ATTACH_OPTIONS);
			if (se == 0) {
				struct lwp *l = proc_add_lwp(p, tid);
				if (!l) {
					free(tids);
					return fk_fail(err, ENOMEM, FK_KIND_FAILED, "seize", "LWP table");
				}
				if (interrupt) {
					if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0)
						l->interrupt_pending = true;
				}
				added++;
				continue;
			}
			int e = -se;
			if (e == ESRCH)
				continue; /* exited between the scan and the seize */
			if (e == EPERM) {
				/* Ours already? A clone of a seized thread is
				 * auto-attached before we see its event. */
				char path[96], buf[2048];
				long tracer = 0;
				snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)p->pid, (int)tid);
				if (proc_read_file(path, buf, sizeof buf) > 0) {
					char *t = strstr(buf, "TracerPid:");
					if (t)
						tracer = strtol(t + 10, NULL, 10);
					char *s = strstr(buf, "State:");
					if (s && (strchr(s + 6, 'Z') == s + 6 + strspn(s + 6, " \t"))) {
						if (tid == p->pid)
							p->zombie_leader = true;
						continue; /* a zombie cannot be traced */
					}
				}
				if (tracer == tr_tid(tr)) {
					if (proc_add_lwp(p, tid))
						added++;
					continue;
				}
				if (!proc_task_exists(p->pid, tid))
					continue;
			}
			free(tids);
			return attach_explain(p->pid, tid, e, err);
		}
		free(tids);
		if (p->n == 0 && !p->zombie_leader)
			return fk_fail(err, ESRCH, FK_KIND_NOPROC, "seize", "no such process: pid %d", (int)p->pid);
		if (added == 0)
			return 0;
		/* Every thread that can create threads is now seized (clones
		 * are auto-attached). A thread created before its creator was
		 * seized shows in the count; only then scan again. */
		long nthreads = 0;
		if (proc_status_long(p->pid, "Threads", &nthreads) == 0 &&
		    (size_t)nthreads == p->n + (p->zombie_leader ? 1 : 0))
			return 0;
	}
	return fk_fail(err, EAGAIN, FK_KIND_FAILED, "seize",
		       "process %d keeps creating threads faster than they can be seized", (int)p->pid);
}

int attach_seize_all(struct fk_tracer *tr, struct proc *p, bool interrupt, const pid_t *known, size_t nknown,
		     struct fk_err *err)
{
	tr_seize_round(tr, true);
	int rc = seize_all(tr, p, interrupt, known, nknown, err);
	tr_seize_round(tr, false);
	return rc;
}

void attach_interrupt_all(struct fk_tracer *tr, struct proc *p)
{
	(void)tr;
	p->stop_all_pending = false;
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->state == LWP_RUNNING && !l->interrupt_pending && !l->exiting) {
			if (ptrace(PTRACE_INTERRUPT, l->tid, 0, 0) == 0)
				l->interrupt_pending = true;
		}
	}
}

int attach_stop_all(struct fk_tracer *tr, struct proc *p, int timeout_ms, struct fk_err *err)
{
	pid_t pid = p->pid;
	p->want_running = false;
	if (p->cond_pass) { /* an operation takes charge: the threads to pass stay at their breakpoints */
		p->cond_pass = false;
		p->step_over_pending = false;
	}
	uint64_t deadline = tr_now_us() + (uint64_t)timeout_ms * 1000u;
	size_t interrupted_n = (size_t)-1;
	pid_t *wait_for = NULL;
	for (;;) {
		if (p->n != interrupted_n) {
			/* also the LWPs that appeared meanwhile (their own first
			 * stop comes anyway; an interrupt is harmless) */
			attach_interrupt_all(tr, p);
			interrupted_n = p->n;
		}
		if (proc_count_running(p) == 0) {
			/* Statuses of LWPs we do not know yet (clones whose
			 * creator's event is still queued). Waiting for "any"
			 * walks all tracees, so only once everyone is stopped. */
			int r;
			size_t before = p->n;
			while ((r = tr_pump(tr, 0)) == 1 && tr_find_proc(tr, pid) == p)
				;
			if (tr_find_proc(tr, pid) != p || p->exited)
				break;
			if (proc_count_running(p) == 0 && p->n == before) {
				free(wait_for);
				return 0;
			}
			continue;
		}
		/* wait for each one that has not stopped, by tid */
		free(wait_for);
		size_t k = 0;
		wait_for = malloc(p->n * sizeof *wait_for);
		if (!wait_for)
			return fk_fail(err, ENOMEM, FK_KIND_FAILED, "stop", "out of memory");
		for (size_t i = 0; i < p->n; i++)
			if (p->lwps[i].state != LWP_STOPPED && !p->lwps[i].exiting)
				wait_for[k++] = p->lwps[i].tid;
		for (size_t i = 0; i < k; i++) {
			for (;;) {
				struct lwp *l = proc_lwp(p, wait_for[i]);
				if (!l || l->state == LWP_STOPPED || l->exiting)
					break;
				uint64_t now = tr_now_us();
				if (now >= deadline)
					goto timeout;
				/* In slices: a thread may be unable to stop until
				 * others we hold go on (an execve waits in
				 * uninterruptible sleep for the other threads to
				 * exit, and they wait for us at their exit stops). */
				uint64_t left_ms = (deadline - now + 999) / 1000;
				int r = tr_pump_pid(tr, wait_for[i], left_ms < 20 ? (int)left_ms : 20);
				if (tr_find_proc(tr, pid) != p)
					goto gone;
				if (r == 0) {
					while (tr_pump(tr, 0) == 1 && tr_find_proc(tr, pid) == p)
						;
					if (tr_find_proc(tr, pid) != p)
						goto gone;
				}
				if (r == -ECHILD) {
					/* reaped elsewhere or not ours any more */
					proc_remove_lwp(p, wait_for[i]);
					break;
				}
			}
		}
	}
gone:
	free(wait_for);
	return fk_fail(err, ESRCH, FK_KIND_EXITED, "stop", "process %d exited during the operation", (int)pid);
timeout:
	free(wait_for);
	if (tr_find_proc(tr, pid) != p)
		return fk_fail(err, ESRCH, FK_KIND_EXITED, "stop", "process %d exited during the operation", (int)pid);
	/* name the LWPs that did not stop */
	char list[256] = "";
	size_t len = 0, shown = 0;
	for (size_t i = 0; i < p->n && len < sizeof list - 32; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->state == LWP_STOPPED || l->exiting)
			continue;
		struct proc_task_stat st = { 0 };
		proc_task_stat(pid, l->tid, &st);
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%d (state %c)", shown ? ", " : "",
					(int)l->tid, st.state ? st.state : '?');
		shown++;
	}
	return fk_fail(err, ETIMEDOUT, FK_KIND_FAILED, "stop",
		       "process %d: %zu thread(s) did not stop within %d ms: %s (uninterruptible sleep "
		       "or a vfork in progress?)",
		       (int)pid, proc_count_running(p), timeout_ms, list);
}

static bool mid_syscall_event(const struct lwp *l)
{
	return l->state == LWP_STOPPED && l->stop == STOP_EVENT &&
	       (l->event == PTRACE_EVENT_CLONE || l->event == PTRACE_EVENT_FORK || l->event == PTRACE_EVENT_VFORK ||
		l->event == PTRACE_EVENT_VFORK_DONE);
}

int attach_settle(struct fk_tracer *tr, struct proc *p, int timeout_ms, struct fk_err *err)
{
	pid_t pid = p->pid;
	for (size_t i = 0; i < p->n; i++) {
		/* let go, it would wait in the kernel for the child, unstoppable */
		if (p->lwps[i].vfork_child)
			return fk_fail(err, EBUSY, FK_KIND_FAILED, "stop",
				       "thread %d of %d is in vfork(): its child %d shares the process's memory until "
				       "it calls exec or exits; try again after that",
				       (int)p->lwps[i].tid, (int)pid, (int)p->lwps[i].vfork_child);
	}
	for (int round = 0; round < 64; round++) {
		size_t moved = 0;
		for (size_t i = 0; i < p->n; i++) {
			struct lwp *l = &p->lwps[i];
			if (!mid_syscall_event(l))
				continue;
			/* interrupt first: the trap stays pending through the
			 * resume, so the thread stops on its way out of the
			 * call, before any instruction of its own */
			if (ptrace(PTRACE_INTERRUPT, l->tid, 0, 0) < 0 || ptrace(PTRACE_CONT, l->tid, 0, 0) < 0) {
				if (errno == ESRCH)
					continue; /* killed meanwhile: its exit follows */
				return fk_fail(err, errno, FK_KIND_FAILED, "stop",
					       "letting thread %d of %d finish its clone", (int)l->tid, (int)pid);
			}
			l->interrupt_pending = true;
			l->stop = STOP_NONE;
			l->regs_valid = false;
			proc_set_running(p, l);
			moved++;
		}
		if (moved == 0)
			return 0;
		if (attach_stop_all(tr, p, timeout_ms, err) < 0)
			return -1;
		if (tr_find_proc(tr, pid) != p)
			return fk_fail(err, ESRCH, FK_KIND_EXITED, "stop", "process %d exited during the operation",
				       (int)pid);
	}
	return fk_fail(err, EAGAIN, FK_KIND_FAILED, "stop",
		       "process %d: threads keep stopping inside clone() (64 rounds)", (int)pid);
}

/* An all-stop stop of l: the event out; the others are stopped from the
 * main loop. */
static void report_stop(struct fk_tracer *tr, struct proc *p, struct lwp *l)
{
	fk_gregs r;
	uint64_t pc = 0, addr = l->bp_hit ? l->bp_addr : l->watch_hit ? p->watches[l->watch_hit - 1].addr : 0;
	bool have_pc = arch_get_gregs(l->tid, &r) == 0;
	if (have_pc)
		pc = arch_pc(&r);
	ev_stopped(tr, p->pid, l->tid,
		   l->bp_hit	  ? EV_STOPPED_REASON_BREAKPOINT
		   : l->watch_hit ? EV_STOPPED_REASON_WATCHPOINT
				  : EV_STOPPED_REASON_SIGNAL,
		   l->bp_hit || l->watch_hit ? 0 : l->stop_sig, have_pc ? &pc : NULL,
		   l->bp_hit || l->watch_hit ? &addr : NULL);
	l->hit_reported = true;
	p->want_running = false;
	p->stop_all_pending = true;
	p->cond_pass = false; /* threads at a false condition stay: the next resume passes them */
	p->step_over_pending = false;
}

bool attach_hit_imminent(struct proc *p, struct lwp *l)
{
	if (!p->nbps || l->state != LWP_STOPPED || l->stop != STOP_INTERRUPT || l->exiting || l->slot_unrun)
		return false;
	fk_gregs r;
	if (arch_get_gregs(l->tid, &r) < 0 || !bp_at(p, arch_pc(&r)))
		return false;
	/* the hit it is about to make, as bp_check_hit records one (its
	 * SIGTRAP swallowed, pc on the breakpoint): never reported yet */
	l->stop = STOP_SIGNAL;
	l->stop_sig = SIGTRAP;
	l->bp_hit = true;
	l->bp_late = false;
	l->watch_hit = 0;
	l->hit_reported = false;
	l->bp_addr = arch_pc(&r);
	return true;
}

bool attach_hit_pending(struct proc *p, struct lwp *l)
{
	attach_hit_imminent(p, l);
	if (!p->session || l->state != LWP_STOPPED || !l->bp_hit || l->hit_reported || l->exiting ||
	    l->stop != STOP_SIGNAL || !bp_at(p, l->bp_addr))
		return false;
	if (p->bpcond_test && p->bpcond_test(p, l->tid, l->bp_addr) == 0) {
		l->hit_reported = true; /* false: passed with the others, evaluated once */
		return false;
	}
	return true;
}

/* A thread that hit one of our breakpoints while another's stop was being
 * reported (stopped, its hit never sent): resuming everything would step
 * it over and lose the hit. It is reported instead (gdb's pending event).
 * A frozen one's waits until it is thawed or resumed alone. */
static bool report_pending_hit(struct fk_tracer *tr, struct proc *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (!l->frozen && attach_hit_pending(p, l)) {
			report_stop(tr, p, l);
			return true;
		}
	}
	return false;
}

int attach_resume_lwp(struct proc *p, struct lwp *l)
{
	if (l->state != LWP_STOPPED || l->vfork_child)
		return 0;
	long rc;
	if (l->stop == STOP_GROUP)
		rc = ptrace(PTRACE_LISTEN, l->tid, 0, 0); /* stay in the job-control stop */
	else
		rc = ptrace(PTRACE_CONT, l->tid, 0, (void *)(long)l->pending_sig);
	if (rc < 0 && errno != ESRCH)
		return -errno;
	if (l->stop == STOP_EVENT && l->event == PTRACE_EVENT_EXIT)
		proc_set_exiting(p, l);
	else
		proc_set_running(p, l);
	l->pending_sig = 0;
	l->stop = STOP_NONE;
	l->regs_valid = false;
	l->cond_false = false;
	return 0;
}

void attach_resume_all(struct fk_tracer *tr, struct proc *p)
{
	pid_t pid = p->pid;
	if (report_pending_hit(tr, p))
		return;
	/* threads waiting at a false compiled condition (hooks.c passes them
	 * alone): a resume of everything steps them over like any other */
	p->cond_pass = false;
	/* a thread sitting on one of our breakpoints first executes the
	 * original instruction, alone */
	if (p->nbps) {
		for (size_t i = 0; i < p->n; i++) {
			struct lwp *l = &p->lwps[i];
			if (l->state == LWP_STOPPED && !l->exiting && !l->frozen) {
				pid_t tid = l->tid;
				bp_step_over(tr, p, tid);
				if (tr_find_proc(tr, pid) != p)
					return;
			}
		}
	}
	p->want_running = true;
	p->stop_all_pending = false;
	p->syms_stale = true;
	for (size_t i = 0; i < p->n; i++) {
		if (p->lwps[i].frozen)
			continue; /* frozen: stays where it is */
		int rc = attach_resume_lwp(p, &p->lwps[i]);
		if (rc < 0)
			fk_warn("resuming thread %d of %d: %s", (int)p->lwps[i].tid, (int)p->pid, strerror(-rc));
	}
}

int attach_resume_only(struct fk_tracer *tr, struct proc *p, pid_t tid)
{
	pid_t pid = p->pid;
	struct lwp *l = proc_lwp(p, tid);
	if (!l || l->state != LWP_STOPPED)
		return -ESRCH;
	if (attach_hit_pending(p, l)) {
		report_stop(tr, p, l); /* it would run past its unseen hit */
		return 0;
	}
	if (p->nbps) {
		bp_step_over(tr, p, tid);
		if (tr_find_proc(tr, pid) != p)
			return -ESRCH;
		if ((l = proc_lwp(p, tid)) == NULL)
			return -ESRCH;
	}
	p->want_running = true;
	p->stop_all_pending = false;
	p->syms_stale = true;
	return attach_resume_lwp(p, l);
}

/* Consume every status the kernel still holds for an LWP of p, so that
 * each LWP's table entry is its real state (a SIGTRAP stop reported but
 * not yet waited for is handled: rewound by bp_check_hit). Returns how
 * many were handled. */
static size_t drain_statuses(struct fk_tracer *tr, struct proc *p)
{
	pid_t pid = p->pid;
	size_t handled = 0;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < p->n; i++) {
			pid_t tid = p->lwps[i].tid;
			while (tr_pump_pid(tr, tid, 0) == 1) {
				handled++;
				again = true; /* the table may have changed under i */
				if (tr_find_proc(tr, pid) != p)
					return handled;
			}
		}
	}
	/* and clones whose creator's event we have just seen */
	while (tr_pump(tr, 0) == 1 && tr_find_proc(tr, pid) == p)
		handled++;
	return handled;
}

void attach_release(struct fk_tracer *tr, struct proc *p)
{
	pid_t pid = p->pid;
	struct fk_err err;
	fk_err_clear(&err);
	/* Every LWP stopped and every queued status consumed, then the threads
	 * caught just past an int3 are settled, and only then the bytes go. */
	for (int round = 0; round < 8 && !p->exited; round++) {
		if (proc_count_running(p) > 0 && attach_stop_all(tr, p, 2000, &err) < 0) {
			fk_warn("detaching from %d: %s", (int)pid, err.msg);
			fk_err_clear(&err);
		}
		if ((p = tr_find_proc(tr, pid)) == NULL)
			return;
		if (drain_statuses(tr, p) == 0 || (p = tr_find_proc(tr, pid)) == NULL)
			break;
	}
	if (!p)
		return;
	p->want_running = false;
	if (p->vfork_parent) {
		/* the breakpoint bytes in this memory are the parent's */
		p->nbps = 0;
		attach_vfork_done(tr, p);
	}
	bp_settle_traps(tr, p, 0);
	p = tr_find_proc(tr, pid);
	if (!p)
		return;
	bp_remove_all(p); /* never leave an int3 behind */
	watch_release(p); /* nor a watchpoint */
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->state != LWP_STOPPED)
			continue;
		if (ptrace(PTRACE_DETACH, l->tid, 0, (void *)(long)l->pending_sig) < 0 && errno != ESRCH)
			fk_warn("PTRACE_DETACH of thread %d of %d: %s", (int)l->tid, (int)pid, strerror(errno));
	}
	tr_remove_proc(tr, p);
}

void attach_on_stop(struct fk_tracer *tr, struct proc *p, struct lwp *l)
{
	(void)tr;
	/* A thread about to exit (SIGKILL, exit_group, pthread_exit) is let go
	 * at once, whatever else is going on: holding it would keep a killed
	 * process alive. It does not stop again; its exit status follows. */
	if (l->stop == STOP_EVENT && l->event == PTRACE_EVENT_EXIT) {
		attach_resume_lwp(p, l);
		return;
	}
	if (!p->want_running)
		return; /* an operation is in charge: it looks at the stop */
	if (l->frozen && l->stop != STOP_SIGNAL)
		return; /* frozen: it stays (a signal it got is reported below) */
	switch (l->stop) {
	case STOP_EVENT: /* clone, fork, vfork, exec, ... */
		if (l->event == PTRACE_EVENT_EXEC && p->session) {
			/* a new program: held until the session has set its
			 * breakpoints in it (the exec event) and resumes */
			p->want_running = false;
			break;
		}
		attach_resume_lwp(p, l); /* not while a vfork child shares the memory */
		break;
	case STOP_INTERRUPT: /* a late interrupt or a new thread's first stop */
	case STOP_GROUP: attach_resume_lwp(p, l); break;
	case STOP_SIGNAL:
		if (l->bp_late) {
			/* a removed breakpoint's late trap: pc rewound, SIGTRAP dropped */
			l->bp_late = false;
			attach_resume_lwp(p, l);
			break;
		}
		if (!p->session) {
			/* a process we trace for its own good (a vfork child in its
			 * parent's memory): breakpoints are passed, signals delivered */
			if (l->bp_hit)
				p->step_over_pending = true;
			else
				attach_resume_lwp(p, l);
			break;
		}
		if (l->bp_hit && p->bpcond_test && p->bpcond_test(p, l->tid, l->bp_addr) == 0) {
			/* its compiled condition is false: passed from the main
			 * loop (bp_cond_pass), no event */
			l->cond_false = true;
			l->hit_reported = true; /* decided: a later resume passes it, never reports it */
			p->cond_pass = true;
			p->step_over_pending = true;
			break;
		}
		if (!l->bp_hit && !l->watch_hit && !sig_stops(&p->sigs, l->stop_sig)) {
			/* nostop: on at once, the signal delivered or not */
			if (p->session && sig_prints(&p->sigs, l->stop_sig))
				ev_signal(tr, p->pid, l->tid, l->stop_sig, sig_passes(&p->sigs, l->stop_sig));
			if (!sig_passes(&p->sigs, l->stop_sig))
				l->pending_sig = 0;
			attach_resume_lwp(p, l);
			break;
		}
		/* reported, not delivered on resume */
		if (!l->bp_hit && !l->watch_hit && !sig_passes(&p->sigs, l->stop_sig))
			l->pending_sig = 0;
		/* fall through */
	case STOP_SYSCALL:
	case STOP_NONE: {
		if (!p->session) {
			attach_resume_lwp(p, l);
			break;
		}
		/* All-stop: report it, stop the others from the main loop. */
		report_stop(tr, p, l);
		break;
	}
	}
}

void attach_vfork_done(struct fk_tracer *tr, struct proc *c)
{
	pid_t ppid = c->vfork_parent;
	c->vfork_parent = 0;
	struct proc *p = ppid ? tr_find_proc(tr, ppid) : NULL;
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct lwp *l = &p->lwps[i];
		if (l->vfork_child != c->pid)
			continue;
		l->vfork_child = 0;
		if (p->want_running) {
			int rc = attach_resume_lwp(p, l);
			if (rc < 0)
				fk_warn("resuming thread %d of %d after its vfork: %s", (int)l->tid, (int)p->pid,
					strerror(-rc));
		}
	}
}

void attach_reap(struct fk_tracer *tr, struct proc *p, int timeout_ms)
{
	pid_t pid = p->pid;
	uint64_t deadline = tr_now_us() + (uint64_t)timeout_ms * 1000u;
	while (tr_find_proc(tr, pid) == p && p->n > 0 && tr_now_us() < deadline) {
		/* any tracee: the leader reports last */
		if (tr_pump(tr, 100) == -ECHILD)
			break;
	}
	if (tr_find_proc(tr, pid) == p)
		tr_remove_proc(tr, p);
}
